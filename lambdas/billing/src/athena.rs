//! The Athena calls the function makes, behind a trait; production uses [`SdkAthena`].

use std::future::Future;

pub use lambda_support::athena::{
    AthenaErrorInfo, QueryState, QueryStatus, SdkAthena, StatusDetail,
};

use crate::query::Rows;
use crate::sdk::ApiError;

/// Most rows one GetQueryResults page holds.
pub const PAGE_SIZE: i32 = 1000;

/// One page of GetQueryResults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultPage {
    /// `ResultSet.Rows[].Data[].VarCharValue`; `None` for SQL NULL. On the first page of a
    /// SELECT the first row holds the column names.
    pub rows: Rows,
    /// Set when more pages follow.
    pub next_token: Option<String>,
}

pub trait Athena: Send + Sync {
    /// StartQueryExecution in `work_group` (whose enforced configuration says where results
    /// go); returns the query execution id.
    fn start_query(
        &self,
        sql: &str,
        work_group: &str,
    ) -> impl Future<Output = Result<String, ApiError>> + Send;

    /// GetQueryExecution, reduced to the status and Athena's classification of a failure
    /// (whether the query may be resubmitted).
    fn query_status(
        &self,
        query_execution_id: &str,
    ) -> impl Future<Output = Result<StatusDetail, ApiError>> + Send;

    /// StopQueryExecution.
    fn stop_query(
        &self,
        query_execution_id: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// One page of GetQueryResults, from `next_token` (`None` for the first).
    fn query_results(
        &self,
        query_execution_id: &str,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<ResultPage, ApiError>> + Send;
}

/// [`Athena`] over the AWS SDK client. The calls hand back the shared client's futures as
/// they are: an `async fn` around each would add a state machine per call to the binary.
impl Athena for SdkAthena {
    fn start_query(
        &self,
        sql: &str,
        work_group: &str,
    ) -> impl Future<Output = Result<String, ApiError>> + Send {
        self.start_query_execution(sql, work_group)
    }

    fn query_status(
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
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<ResultPage, ApiError>> + Send {
        self.get_query_results(query_execution_id, Some(PAGE_SIZE), next_token, |page| {
            ResultPage {
                rows: page.rows(),
                next_token: page.next_token(),
            }
        })
    }
}
