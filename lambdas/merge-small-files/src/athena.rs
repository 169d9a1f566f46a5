//! The Athena calls the job makes, behind a trait so the waiting logic can be
//! tested without a network. Production uses [`SdkAthena`].

use std::future::Future;

pub use lambda_support::athena::{
    AthenaErrorInfo, QueryState, QueryStatus, SdkAthena, StatusDetail,
};
pub use lambda_support::sdk::{ApiError, ApiErrorKind};

/// The first page of a finished query's results, as GetQueryResults gives it: for a SELECT
/// the first row holds the column names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryResults {
    /// `ResultSetMetadata.ColumnInfo[].Name`.
    pub columns: Vec<String>,
    /// `Rows[].Data[].VarCharValue`; `None` for SQL NULL.
    pub rows: Vec<Vec<Option<String>>>,
}

/// A query to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRequest<'a> {
    pub sql: &'a str,
    pub work_group: &'a str,
    pub output_location: &'a str,
}

pub trait Athena: Send + Sync {
    /// StartQueryExecution; returns the query execution id.
    fn start_query(
        &self,
        request: QueryRequest<'_>,
    ) -> impl Future<Output = Result<String, ApiError>> + Send;

    /// GetQueryExecution, reduced to the status.
    fn query_status(
        &self,
        query_execution_id: &str,
    ) -> impl Future<Output = Result<QueryStatus, ApiError>> + Send;

    /// GetQueryExecution with Athena's classification of a failure, which says whether the
    /// query may be resubmitted. By default [`Self::query_status`] without it: a failure is
    /// then never resubmitted. [`SdkAthena`] gives it.
    fn query_status_detail(
        &self,
        query_execution_id: &str,
    ) -> impl Future<Output = Result<StatusDetail, ApiError>> + Send {
        let status = self.query_status(query_execution_id);
        async move { status.await.map(StatusDetail::from) }
    }

    /// StopQueryExecution.
    fn stop_query(
        &self,
        query_execution_id: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// GetQueryResults, first page only: enough for the one-row count query.
    fn query_results(
        &self,
        query_execution_id: &str,
    ) -> impl Future<Output = Result<QueryResults, ApiError>> + Send;
}

/// [`Athena`] over the AWS SDK client. The calls hand back the shared client's futures as
/// they are: an `async fn` around each would add a state machine per call to the binary.
impl Athena for SdkAthena {
    fn start_query(
        &self,
        request: QueryRequest<'_>,
    ) -> impl Future<Output = Result<String, ApiError>> + Send {
        self.start_query_execution_to(request.sql, request.work_group, request.output_location)
    }

    fn query_status(
        &self,
        query_execution_id: &str,
    ) -> impl Future<Output = Result<QueryStatus, ApiError>> + Send {
        let detail = self.get_query_execution(query_execution_id);
        async move { detail.await.map(|detail| detail.status) }
    }

    fn query_status_detail(
        &self,
        query_execution_id: &str,
    ) -> impl Future<Output = Result<StatusDetail, ApiError>> + Send {
        self.get_query_execution(query_execution_id)
    }

    fn stop_query(
        &self,
        query_execution_id: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        self.stop_query_execution(query_execution_id)
    }

    fn query_results(
        &self,
        query_execution_id: &str,
    ) -> impl Future<Output = Result<QueryResults, ApiError>> + Send {
        self.get_query_results(query_execution_id, None, None, |page| QueryResults {
            columns: page.columns(),
            rows: page.rows(),
        })
    }
}
