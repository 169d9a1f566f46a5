//! Running the three queries of one hour, each waited for before the next.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::athena::{ApiError, Athena, QueryRequest, QueryState, QueryStatus};
use crate::config::Config;
use crate::hour::{EventError, Hour};
use crate::sql::{self, Step};

/// Exponential backoff between GetQueryExecution polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub factor: u32,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(200),
            factor: 2,
            max: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    fn next(&self, delay: Duration) -> Duration {
        delay.saturating_mul(self.factor).min(self.max)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("hour {hour}: deadline reached before starting the {step} query")]
    DeadlineBeforeStart { hour: Hour, step: Step },
    #[error("hour {hour}: could not start the {step} query: {error}")]
    Start {
        hour: Hour,
        step: Step,
        error: ApiError,
    },
    #[error("hour {hour}: could not read the state of the {step} query (query execution id {query_execution_id}): {error}")]
    Status {
        hour: Hour,
        step: Step,
        query_execution_id: String,
        error: ApiError,
    },
    #[error("hour {hour}: the {step} query (query execution id {query_execution_id}) ended {state}: {reason}")]
    QueryEnded {
        hour: Hour,
        step: Step,
        query_execution_id: String,
        state: QueryState,
        reason: String,
    },
    #[error("hour {hour}: the {step} query (query execution id {query_execution_id}) was still {last_state} at the deadline; {stop}")]
    Deadline {
        hour: Hour,
        step: Step,
        query_execution_id: String,
        last_state: QueryState,
        /// What happened to the best-effort StopQueryExecution.
        stop: String,
    },
}

impl JobError {
    /// Short name for the Lambda error type and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Event(_) => "InvalidEvent",
            Self::DeadlineBeforeStart { .. } => "DeadlineBeforeStart",
            Self::Start { .. } => "StartQueryFailed",
            Self::Status { .. } => "GetQueryStateFailed",
            Self::QueryEnded { .. } => "QueryFailed",
            Self::Deadline { .. } => "QueryTimedOut",
        }
    }
}

/// One query the job started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryRecord {
    pub step: Step,
    pub query_execution_id: String,
    /// Last state seen.
    pub state: String,
    /// GetQueryExecution calls made for it.
    pub polls: u32,
}

/// What happened to one hour; logged as one line by [`HourReport::log`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourReport {
    pub hour: Hour,
    pub source: String,
    pub destination: String,
    pub queries: Vec<QueryRecord>,
    pub elapsed: Duration,
    pub outcome: Result<(), JobError>,
}

impl HourReport {
    pub fn query_id(&self, step: Step) -> Option<&str> {
        self.queries
            .iter()
            .find(|q| q.step == step)
            .map(|q| q.query_execution_id.as_str())
    }

    pub fn log(&self) {
        let hour = self.hour.to_string();
        let drop_leftover = self.query_id(Step::DropLeftover);
        let create_parquet = self.query_id(Step::CreateParquet);
        let drop_temp = self.query_id(Step::DropTemp);
        let elapsed_ms = u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX);
        match &self.outcome {
            Ok(()) => tracing::info!(
                hour = %hour,
                outcome = "succeeded",
                source = %self.source,
                destination = %self.destination,
                drop_leftover_query_id = drop_leftover,
                create_parquet_query_id = create_parquet,
                drop_temp_query_id = drop_temp,
                elapsed_ms,
                "hour compacted"
            ),
            Err(error) => tracing::error!(
                hour = %hour,
                outcome = "failed",
                source = %self.source,
                destination = %self.destination,
                drop_leftover_query_id = drop_leftover,
                create_parquet_query_id = create_parquet,
                drop_temp_query_id = drop_temp,
                elapsed_ms,
                error_kind = error.kind(),
                error = %error,
                "hour compaction failed"
            ),
        }
    }
}

/// Why [`wait_for_query`] gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitError {
    Status { error: ApiError, polls: u32 },
    Deadline { last_state: QueryState, polls: u32 },
}

/// Polls GetQueryExecution with exponential backoff until the query reaches
/// SUCCEEDED, FAILED or CANCELLED, or `deadline` passes. Returns the final
/// status and the number of polls.
pub async fn wait_for_query<A: Athena>(
    athena: &A,
    query_execution_id: &str,
    deadline: Instant,
    backoff: &Backoff,
) -> Result<(QueryStatus, u32), WaitError> {
    let mut delay = backoff.initial;
    let mut polls = 0;
    loop {
        let status = athena
            .query_status(query_execution_id)
            .await
            .map_err(|error| WaitError::Status {
                error,
                polls: polls + 1,
            })?;
        polls += 1;
        if status.state.is_terminal() {
            return Ok((status, polls));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(WaitError::Deadline {
                last_state: status.state,
                polls,
            });
        }
        // The last sleep is cut short so the final poll lands on the deadline.
        tokio::time::sleep(delay.min(deadline - now)).await;
        delay = backoff.next(delay);
    }
}

fn failure_reason(status: &QueryStatus) -> String {
    let reason = status
        .state_change_reason
        .as_deref()
        .filter(|s| !s.is_empty());
    let message = status.error_message.as_deref().filter(|s| !s.is_empty());
    match (reason, message) {
        (Some(r), Some(m)) if r == m => r.to_owned(),
        (Some(r), Some(m)) => format!("{r} (AthenaError: {m})"),
        (Some(r), None) => r.to_owned(),
        (None, Some(m)) => format!("AthenaError: {m}"),
        (None, None) => "Athena gave no StateChangeReason".to_owned(),
    }
}

/// Runs DROP leftover → CTAS → DROP temp for `hour`, waiting for each query.
/// Never panics on Athena errors: the outcome is in the report.
pub async fn compact_hour<A: Athena>(
    athena: &A,
    config: &Config,
    hour: Hour,
    deadline: Instant,
    backoff: &Backoff,
) -> HourReport {
    let started = Instant::now();
    let mut queries = Vec::with_capacity(Step::ALL.len());
    let outcome = run_steps(athena, config, hour, deadline, backoff, &mut queries).await;
    HourReport {
        hour,
        source: sql::json_location(config, &hour),
        destination: sql::parquet_location(config, &hour),
        queries,
        elapsed: started.elapsed(),
        outcome,
    }
}

async fn run_steps<A: Athena>(
    athena: &A,
    config: &Config,
    hour: Hour,
    deadline: Instant,
    backoff: &Backoff,
    queries: &mut Vec<QueryRecord>,
) -> Result<(), JobError> {
    let output_location = config.staging_output_location();
    for step in Step::ALL {
        if Instant::now() >= deadline {
            return Err(JobError::DeadlineBeforeStart { hour, step });
        }
        let sql = step.query(config, &hour);
        let request = QueryRequest {
            sql: &sql,
            work_group: &config.athena_work_group,
            output_location: &output_location,
        };
        let id = athena
            .start_query(request)
            .await
            .map_err(|error| JobError::Start { hour, step, error })?;
        tracing::debug!(hour = %hour, step = step.name(), query_execution_id = %id, "query started");
        let mut record = QueryRecord {
            step,
            query_execution_id: id.clone(),
            state: QueryState::Queued.to_string(),
            polls: 0,
        };
        let waited = wait_for_query(athena, &id, deadline, backoff).await;
        match waited {
            Ok((status, polls)) => {
                record.state = status.state.to_string();
                record.polls = polls;
                queries.push(record);
                if status.state != QueryState::Succeeded {
                    return Err(JobError::QueryEnded {
                        hour,
                        step,
                        query_execution_id: id,
                        reason: failure_reason(&status),
                        state: status.state,
                    });
                }
            }
            Err(WaitError::Status { error, polls }) => {
                record.polls = polls;
                record.state = "UNKNOWN".to_owned();
                queries.push(record);
                return Err(JobError::Status {
                    hour,
                    step,
                    query_execution_id: id,
                    error,
                });
            }
            Err(WaitError::Deadline { last_state, polls }) => {
                record.polls = polls;
                record.state = last_state.to_string();
                queries.push(record);
                let stop = match athena.stop_query(&id).await {
                    Ok(()) => "StopQueryExecution requested".to_owned(),
                    Err(e) => format!("StopQueryExecution also failed: {e}"),
                };
                return Err(JobError::Deadline {
                    hour,
                    step,
                    query_execution_id: id,
                    last_state,
                    stop,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let backoff = Backoff::default();
        let mut delay = backoff.initial;
        let mut delays = vec![delay];
        for _ in 0..6 {
            delay = backoff.next(delay);
            delays.push(delay);
        }
        let ms: Vec<u128> = delays.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [200, 400, 800, 1600, 3200, 5000, 5000]);
    }

    #[test]
    fn failure_reason_combines_reason_and_athena_error() {
        let mut status = QueryStatus::new(QueryState::Failed);
        assert_eq!(failure_reason(&status), "Athena gave no StateChangeReason");
        status.error_message = Some("HIVE_BAD_DATA".to_owned());
        assert_eq!(failure_reason(&status), "AthenaError: HIVE_BAD_DATA");
        status.state_change_reason = Some("Query failed".to_owned());
        assert_eq!(
            failure_reason(&status),
            "Query failed (AthenaError: HIVE_BAD_DATA)"
        );
        status.error_message = Some("Query failed".to_owned());
        assert_eq!(failure_reason(&status), "Query failed");
        status.error_message = None;
        assert_eq!(failure_reason(&status), "Query failed");
    }
}
