//! The Athena calls the job makes, behind a trait so the waiting logic can be
//! tested without a network. Production uses [`SdkAthena`].

use std::fmt;
use std::future::Future;

use aws_sdk_athena::types::{QueryExecutionState, ResultConfiguration};

pub use crate::sdk::{ApiError, ApiErrorKind};

/// Where a query is in Athena's life cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// A state this code does not know (or none reported); treated as still running.
    Other(String),
}

impl QueryState {
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Queued => "QUEUED",
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for QueryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What GetQueryExecution said about a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryStatus {
    pub state: QueryState,
    /// Athena's `Status.StateChangeReason`.
    pub state_change_reason: Option<String>,
    /// Athena's `Status.AthenaError.ErrorMessage`.
    pub error_message: Option<String>,
}

impl QueryStatus {
    pub fn new(state: QueryState) -> Self {
        Self {
            state,
            state_change_reason: None,
            error_message: None,
        }
    }
}

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

/// [`Athena`] over the AWS SDK client.
#[derive(Debug, Clone)]
pub struct SdkAthena {
    client: aws_sdk_athena::Client,
}

impl SdkAthena {
    pub fn new(client: aws_sdk_athena::Client) -> Self {
        Self { client }
    }

    pub fn client(&self) -> &aws_sdk_athena::Client {
        &self.client
    }
}

impl Athena for SdkAthena {
    async fn start_query(&self, request: QueryRequest<'_>) -> Result<String, ApiError> {
        let output = self
            .client
            .start_query_execution()
            .query_string(request.sql)
            .work_group(request.work_group)
            .result_configuration(
                ResultConfiguration::builder()
                    .output_location(request.output_location)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("StartQueryExecution", e))?;
        output
            .query_execution_id()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::new("StartQueryExecution returned no QueryExecutionId"))
    }

    async fn query_status(&self, query_execution_id: &str) -> Result<QueryStatus, ApiError> {
        let output = self
            .client
            .get_query_execution()
            .query_execution_id(query_execution_id)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("GetQueryExecution", e))?;
        let status = output.query_execution().and_then(|q| q.status());
        let state = match status.and_then(|s| s.state()) {
            Some(QueryExecutionState::Queued) => QueryState::Queued,
            Some(QueryExecutionState::Running) => QueryState::Running,
            Some(QueryExecutionState::Succeeded) => QueryState::Succeeded,
            Some(QueryExecutionState::Failed) => QueryState::Failed,
            Some(QueryExecutionState::Cancelled) => QueryState::Cancelled,
            Some(other) => QueryState::Other(other.as_str().to_owned()),
            None => QueryState::Other("UNKNOWN".to_owned()),
        };
        Ok(QueryStatus {
            state,
            state_change_reason: status
                .and_then(|s| s.state_change_reason())
                .map(str::to_owned),
            error_message: status
                .and_then(|s| s.athena_error())
                .and_then(|e| e.error_message())
                .map(str::to_owned),
        })
    }

    async fn stop_query(&self, query_execution_id: &str) -> Result<(), ApiError> {
        self.client
            .stop_query_execution()
            .query_execution_id(query_execution_id)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("StopQueryExecution", e))?;
        Ok(())
    }

    async fn query_results(&self, query_execution_id: &str) -> Result<QueryResults, ApiError> {
        let output = self
            .client
            .get_query_results()
            .query_execution_id(query_execution_id)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("GetQueryResults", e))?;
        let Some(result_set) = output.result_set() else {
            return Ok(QueryResults::default());
        };
        let columns = result_set
            .result_set_metadata()
            .map(|metadata| {
                metadata
                    .column_info()
                    .iter()
                    .map(|column| column.name().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let rows = result_set
            .rows()
            .iter()
            .map(|row| {
                row.data()
                    .iter()
                    .map(|datum| datum.var_char_value().map(str::to_owned))
                    .collect()
            })
            .collect();
        Ok(QueryResults { columns, rows })
    }
}
