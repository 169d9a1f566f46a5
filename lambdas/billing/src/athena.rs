//! The Athena calls the function makes, behind a trait; production uses [`SdkAthena`].

use std::fmt;
use std::future::Future;

use aws_sdk_athena::types::QueryExecutionState;

use crate::sdk::ApiError;

/// Most rows one GetQueryResults page holds.
pub const PAGE_SIZE: i32 = 1000;

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
    /// `Status.StateChangeReason`.
    pub state_change_reason: Option<String>,
    /// `Status.AthenaError.ErrorMessage`.
    pub error_message: Option<String>,
}

/// One page of GetQueryResults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultPage {
    /// `ResultSet.Rows[].Data[].VarCharValue`; `None` for SQL NULL. On the first page of a
    /// SELECT the first row holds the column names.
    pub rows: Vec<Vec<Option<String>>>,
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

    /// One page of GetQueryResults, from `next_token` (`None` for the first).
    fn query_results(
        &self,
        query_execution_id: &str,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<ResultPage, ApiError>> + Send;
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
}

impl Athena for SdkAthena {
    async fn start_query(&self, sql: &str, work_group: &str) -> Result<String, ApiError> {
        let output = self
            .client
            .start_query_execution()
            .query_string(sql)
            .work_group(work_group)
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

    async fn query_results(
        &self,
        query_execution_id: &str,
        next_token: Option<&str>,
    ) -> Result<ResultPage, ApiError> {
        let output = self
            .client
            .get_query_results()
            .query_execution_id(query_execution_id)
            .max_results(PAGE_SIZE)
            .set_next_token(next_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("GetQueryResults", e))?;
        let rows = output
            .result_set()
            .map(|set| {
                set.rows()
                    .iter()
                    .map(|row| {
                        row.data()
                            .iter()
                            .map(|datum| datum.var_char_value().map(str::to_owned))
                            .collect()
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(ResultPage {
            rows,
            next_token: output
                .next_token()
                .filter(|token| !token.is_empty())
                .map(str::to_owned),
        })
    }
}
