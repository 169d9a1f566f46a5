//! A query's place in Athena's life cycle, the [`Athena`] calls both functions make (their
//! tests fake the trait), and [`SdkAthena`]: those calls over the SDK.

use std::fmt;
use std::future::Future;

use aws_sdk_athena::types::{QueryExecutionState, ResultConfiguration};

use crate::sdk::ApiError;

/// Rows of query results: each row's `VarCharValue`s, `None` for SQL NULL.
pub type Rows = Vec<Vec<Option<String>>>;

/// Where a query is in Athena's life cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryState {
    /// `QUEUED`: waiting to run.
    Queued,
    /// `RUNNING`.
    Running,
    /// `SUCCEEDED`: ended, with results.
    Succeeded,
    /// `FAILED`: ended; [`QueryStatus`] says why.
    Failed,
    /// `CANCELLED`: ended, stopped by StopQueryExecution or by hand.
    Cancelled,
    /// A state this code does not know (or none reported); treated as still running.
    Other(String),
}

impl QueryState {
    /// SUCCEEDED, FAILED or CANCELLED: the query will not change any more.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }

    /// Athena's name of the state, e.g. `RUNNING`.
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
    /// Athena's `Status.State`.
    pub state: QueryState,
    /// Athena's `Status.StateChangeReason`.
    pub state_change_reason: Option<String>,
    /// Athena's `Status.AthenaError.ErrorMessage`.
    pub error_message: Option<String>,
}

impl QueryStatus {
    /// `state` with neither a reason nor an error message.
    pub fn new(state: QueryState) -> Self {
        Self {
            state,
            state_change_reason: None,
            error_message: None,
        }
    }
}

/// What `Status.AthenaError` says beyond its message (which [`QueryStatus`] keeps): the kind
/// of failure and whether resubmitting the query may help.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AthenaErrorInfo {
    /// `ErrorCategory`: 1 system, 2 user, 3 other.
    pub category: Option<i32>,
    /// `ErrorType`, Athena's code for the failure.
    pub error_type: Option<i32>,
    /// `Retryable`: "True if the query might succeed if resubmitted" (Athena API reference,
    /// AthenaError).
    pub retryable: bool,
}

impl AthenaErrorInfo {
    /// The name of [`Self::category`], e.g. `system`.
    pub fn category_name(&self) -> Option<&'static str> {
        match self.category? {
            1 => Some("system"),
            2 => Some("user"),
            3 => Some("other"),
            _ => None,
        }
    }
}

impl fmt::Display for AthenaErrorInfo {
    /// `retryable system error, ErrorType 401` and the like.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.retryable {
            "retryable"
        } else {
            "not retryable"
        })?;
        match (self.category_name(), self.category) {
            (Some(name), _) => write!(f, " {name} error")?,
            (None, Some(code)) => write!(f, " error of category {code}")?,
            (None, None) => f.write_str(" error")?,
        }
        if let Some(error_type) = self.error_type {
            write!(f, ", ErrorType {error_type}")?;
        }
        Ok(())
    }
}

/// What GetQueryExecution said about a query: its [`QueryStatus`] and, when Athena gave one,
/// the classification of its error (whether it may be resubmitted).
///
/// A separate type rather than more fields of [`QueryStatus`], which the functions' tests build
/// field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusDetail {
    /// The state, its reason and Athena's error message.
    pub status: QueryStatus,
    /// `Status.AthenaError` beyond its message, when Athena gave one.
    pub athena_error: Option<AthenaErrorInfo>,
}

impl StatusDetail {
    /// FAILED with `AthenaError.Retryable`: the query may succeed if submitted again.
    pub fn retryable(&self) -> bool {
        self.status.state == QueryState::Failed && self.athena_error.is_some_and(|e| e.retryable)
    }
}

impl From<QueryStatus> for StatusDetail {
    /// A status without Athena's classification: never retryable.
    fn from(status: QueryStatus) -> Self {
        Self {
            status,
            athena_error: None,
        }
    }
}

/// A query to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryRequest<'a> {
    pub sql: &'a str,
    pub work_group: &'a str,
    /// Where its results go; `None`: where the work group's configuration says.
    pub output_location: Option<&'a str>,
}

/// Most rows one GetQueryResults page holds (Athena's default and maximum).
pub const PAGE_SIZE: i32 = 1000;

/// One page of GetQueryResults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultPage {
    /// `ResultSet.ResultSetMetadata.ColumnInfo[].Name`.
    pub columns: Vec<String>,
    /// `ResultSet.Rows[].Data[].VarCharValue`; `None` for SQL NULL. On the first page of a
    /// SELECT the first row holds the column names.
    pub rows: Rows,
    /// `NextToken`: set when more pages follow.
    pub next_token: Option<String>,
}

/// The Athena calls the functions make, behind a trait so that their tests can fake Athena;
/// production uses [`SdkAthena`]. [`crate::query`] runs a query to its end with them.
pub trait Athena: Send + Sync {
    /// StartQueryExecution; returns the query execution id.
    fn start_query(
        &self,
        request: QueryRequest<'_>,
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

/// The Athena calls over the AWS SDK client.
#[derive(Debug, Clone)]
pub struct SdkAthena {
    client: aws_sdk_athena::Client,
}

impl SdkAthena {
    /// The calls over `client`, which [`crate::sdk::clients`] builds.
    pub fn new(client: aws_sdk_athena::Client) -> Self {
        Self { client }
    }

    /// The SDK client, for calls not made here.
    pub fn client(&self) -> &aws_sdk_athena::Client {
        &self.client
    }
}

impl Athena for SdkAthena {
    /// StartQueryExecution of the request's SQL in its work group, with a result
    /// configuration only when it names an output location.
    async fn start_query(&self, request: QueryRequest<'_>) -> Result<String, ApiError> {
        let output = self
            .client
            .start_query_execution()
            .query_string(request.sql)
            .work_group(request.work_group)
            .set_result_configuration(request.output_location.map(|location| {
                ResultConfiguration::builder()
                    .output_location(location)
                    .build()
            }))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("StartQueryExecution", e))?;
        output
            .query_execution_id()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::new("StartQueryExecution returned no QueryExecutionId"))
    }

    async fn query_status(&self, query_execution_id: &str) -> Result<StatusDetail, ApiError> {
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
        let athena_error = status.and_then(|s| s.athena_error());
        Ok(StatusDetail {
            status: QueryStatus {
                state,
                state_change_reason: status
                    .and_then(|s| s.state_change_reason())
                    .map(str::to_owned),
                error_message: athena_error
                    .and_then(|e| e.error_message())
                    .map(str::to_owned),
            },
            athena_error: athena_error.map(|e| AthenaErrorInfo {
                category: e.error_category(),
                error_type: e.error_type(),
                retryable: e.retryable(),
            }),
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

    /// One page of at most [`PAGE_SIZE`] rows.
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
        let set = output.result_set();
        let columns = set
            .and_then(|set| set.result_set_metadata())
            .map(|metadata| {
                metadata
                    .column_info()
                    .iter()
                    .map(|column| column.name().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let rows = set
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
            columns,
            rows,
            next_token: output
                .next_token()
                .filter(|token| !token.is_empty())
                .map(str::to_owned),
        })
    }
}
