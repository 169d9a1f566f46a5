//! Running one Athena query to its end: start it, poll it with backoff, stop it at the
//! deadline.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::athena::{Athena, QueryRequest, QueryState, QueryStatus};
use crate::config::Config;
use crate::error::{HourError, Phase};
use crate::hour::Hour;
use crate::sdk::ApiError;
use crate::sql::Step;

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

pub fn failure_reason(status: &QueryStatus) -> String {
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

/// Runs the query of `step` for `hour` and waits for it; its record is pushed to `records`
/// whatever happens once it has started. Returns the id of the query, which SUCCEEDED.
pub async fn run_query<A: Athena>(
    athena: &A,
    config: &Config,
    hour: Hour,
    step: Step,
    deadline: Instant,
    backoff: &Backoff,
    records: &mut Vec<QueryRecord>,
) -> Result<String, HourError> {
    if Instant::now() >= deadline {
        return Err(HourError::DeadlineBeforeStart {
            hour,
            next: Phase::Query(step),
        });
    }
    let sql = step.query(config, &hour);
    let output_location = config.staging_output_location();
    let request = QueryRequest {
        sql: &sql,
        work_group: &config.athena_work_group,
        output_location: &output_location,
    };
    let id = athena
        .start_query(request)
        .await
        .map_err(|error| HourError::Start { hour, step, error })?;
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
            records.push(record);
            if status.state != QueryState::Succeeded {
                return Err(HourError::QueryEnded {
                    hour,
                    step,
                    query_execution_id: id,
                    reason: failure_reason(&status),
                    state: status.state,
                });
            }
            Ok(id)
        }
        Err(WaitError::Status { error, polls }) => {
            record.polls = polls;
            record.state = "UNKNOWN".to_owned();
            records.push(record);
            Err(HourError::Status {
                hour,
                step,
                query_execution_id: id,
                error,
            })
        }
        Err(WaitError::Deadline { last_state, polls }) => {
            record.polls = polls;
            record.state = last_state.to_string();
            records.push(record);
            let stop = match athena.stop_query(&id).await {
                Ok(()) => "StopQueryExecution requested".to_owned(),
                Err(e) => format!("StopQueryExecution also failed: {e}"),
            };
            Err(HourError::Deadline {
                hour,
                step,
                query_execution_id: id,
                last_state,
                stop,
            })
        }
    }
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
