//! Running one Athena query to its end: start it, poll it with backoff, stop it at the
//! deadline.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use lambda_support::query::stop_outcome;
pub use lambda_support::query::{failure_reason, wait_for_query, Backoff, WaitError};

use crate::athena::{Athena, QueryRequest, QueryState};
use crate::config::Config;
use crate::error::{HourError, Phase};
use crate::hour::Hour;
use crate::sql::Step;

/// The backoff between GetQueryExecution polls unless [`crate::App::with_backoff`] says
/// otherwise: 200 ms, doubling up to 5 s.
pub const DEFAULT_BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(200),
    factor: 2,
    max: Duration::from_secs(5),
};

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
    let waited = wait_for_query(|| athena.query_status(&id), deadline, backoff).await;
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
            let stop = stop_outcome(athena.stop_query(&id).await);
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
        let backoff = DEFAULT_BACKOFF;
        let mut delay = backoff.initial;
        let mut delays = vec![delay];
        for _ in 0..6 {
            delay = backoff.next(delay);
            delays.push(delay);
        }
        let ms: Vec<u128> = delays.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [200, 400, 800, 1600, 3200, 5000, 5000]);
    }
}
