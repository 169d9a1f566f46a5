//! The hour's Athena queries as [`QueryJob`]s of the shared runner
//! ([`lambda_support::query::run_query`]: start, poll with backoff, resubmit a retryable
//! failure, stop at the deadline or when the state cannot be read), and their outcome as an
//! [`HourError`].

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

pub use lambda_support::query::{
    failure_reason, wait_for_query, Attempt, Backoff, Earlier, QueryPolicy, Resubmit, RunError,
    WaitError, DEFAULT_RESUBMIT,
};
use lambda_support::query::{run_query, QueryJob};

use crate::athena::{ApiError, Athena, QueryRequest, StatusDetail};
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

/// One query execution the job started: every attempt of every step, resubmissions included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryRecord {
    pub step: Step,
    pub query_execution_id: String,
    /// Last state seen.
    pub state: String,
    /// GetQueryExecution calls made for it.
    pub polls: u32,
    /// 1 for the first submission of the step's query, 2 for its resubmission, …
    pub attempt: u32,
}

impl QueryRecord {
    pub fn new(step: Step, attempt: &Attempt) -> Self {
        Self {
            step,
            query_execution_id: attempt.query_execution_id.clone(),
            state: attempt.state.to_string(),
            polls: attempt.polls,
            attempt: attempt.number,
        }
    }
}

/// StartQueryExecution of `step` for `hour`, the attempts `earlier` named if it fails.
pub async fn start_step<A: Athena>(
    athena: &A,
    config: &Config,
    hour: Hour,
    step: Step,
    earlier: &[Attempt],
) -> Result<String, HourError> {
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
        .map_err(|error| HourError::Start {
            hour,
            step,
            error,
            earlier: Earlier(earlier.to_vec()),
        })?;
    tracing::debug!(
        hour = %hour,
        step = step.name(),
        query_execution_id = %id,
        attempt = earlier.len() + 1,
        "query started"
    );
    Ok(id)
}

/// A query of the hour that leaves nothing a resubmission would have to undo: the count (a
/// SELECT) and the DROP TABLE IF EXISTS statements.
pub struct StepQuery<'a, A> {
    pub athena: &'a A,
    pub config: &'a Config,
    pub hour: Hour,
    pub step: Step,
    /// Where its attempts are recorded.
    pub records: &'a mut Vec<QueryRecord>,
}

impl<A: Athena> QueryJob for StepQuery<'_, A> {
    type StartError = HourError;

    fn start(
        &mut self,
        earlier: &[Attempt],
    ) -> impl Future<Output = Result<String, HourError>> + Send {
        start_step(self.athena, self.config, self.hour, self.step, earlier)
    }

    fn status(
        &self,
        query_execution_id: &str,
    ) -> impl Future<Output = Result<StatusDetail, ApiError>> + Send {
        self.athena.query_status_detail(query_execution_id)
    }

    fn stop(&self, query_execution_id: &str) -> impl Future<Output = Result<(), ApiError>> + Send {
        self.athena.stop_query(query_execution_id)
    }

    fn ended(&mut self, attempt: &Attempt) {
        self.records.push(QueryRecord::new(self.step, attempt));
    }
}

/// Runs `job`, the query of `step` for `hour`, to its end; the job records its attempts.
/// Returns the id of the query execution that SUCCEEDED.
pub async fn run_step<Q>(
    job: &mut Q,
    hour: Hour,
    step: Step,
    deadline: Instant,
    policy: &QueryPolicy,
) -> Result<String, HourError>
where
    Q: QueryJob<StartError = HourError>,
{
    match run_query(job, deadline, policy).await {
        Ok(done) => Ok(done.query_execution_id),
        Err(error) => Err(hour_error(hour, step, error)),
    }
}

/// Runs the query of `step` for `hour` ([`StepQuery`]) to its end, recording its attempts in
/// `records`. Returns the id of the query execution that SUCCEEDED.
pub async fn run_simple_step<A: Athena>(
    athena: &A,
    config: &Config,
    hour: Hour,
    step: Step,
    deadline: Instant,
    policy: &QueryPolicy,
    records: &mut Vec<QueryRecord>,
) -> Result<String, HourError> {
    let mut job = StepQuery {
        athena,
        config,
        hour,
        step,
        records,
    };
    run_step(&mut job, hour, step, deadline, policy).await
}

/// The runner's verdict on the query of `step` as an [`HourError`].
fn hour_error(hour: Hour, step: Step, error: RunError<HourError>) -> HourError {
    match error {
        RunError::DeadlineBeforeStart => HourError::DeadlineBeforeStart {
            hour,
            next: Phase::Query(step),
        },
        RunError::Start(error) => error,
        RunError::Ended {
            query_execution_id,
            state,
            reason,
            earlier,
        } => HourError::QueryEnded {
            hour,
            step,
            query_execution_id,
            state,
            reason,
            earlier,
        },
        RunError::Status {
            query_execution_id,
            error,
            stop,
            earlier,
        } => HourError::Status {
            hour,
            step,
            query_execution_id,
            error,
            stop,
            earlier,
        },
        RunError::Deadline {
            query_execution_id,
            last_state,
            stop,
            earlier,
        } => HourError::Deadline {
            hour,
            step,
            query_execution_id,
            last_state,
            stop,
            earlier,
        },
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
