//! The hour's Athena queries as [`QueryJob`]s of the shared runner
//! ([`lambda_support::query::run_query`]: start, poll with backoff, resubmit a retryable
//! failure, stop at the deadline or when the state cannot be read), and the runner's outcome
//! as an [`HourError`].

use std::time::Duration;

use lambda_support::athena::{Athena, QueryRequest};
use lambda_support::query::{
    read_results, run_query, Attempt, Backoff, QueryJob, QueryPolicy, QueryResults, RunError,
};
use serde::Serialize;
use tokio::time::Instant;

use crate::error::{HourError, Phase};
use crate::hour::Hour;
use crate::settings::Settings;
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

/// The query of `step` for `hour` as StartQueryExecution submits it: in the configured work
/// group, its results in the staging location.
pub struct StepRequest<'a> {
    sql: String,
    work_group: &'a str,
    output_location: String,
}

impl<'a> StepRequest<'a> {
    pub fn new(settings: &'a Settings, hour: Hour, step: Step) -> Self {
        Self {
            sql: step.query(settings, &hour),
            work_group: &settings.athena_work_group,
            output_location: settings.staging_output_location(),
        }
    }

    pub fn request(&self) -> QueryRequest<'_> {
        QueryRequest {
            sql: &self.sql,
            work_group: self.work_group,
            output_location: Some(&self.output_location),
        }
    }
}

/// A query of the hour that leaves nothing a resubmission would have to undo: the count (a
/// SELECT) and the DROP TABLE IF EXISTS statements.
pub struct StepQuery<'a, A> {
    athena: &'a A,
    step: Step,
    request: StepRequest<'a>,
    /// Where its attempts are recorded.
    records: &'a mut Vec<QueryRecord>,
}

impl<'a, A: Athena> StepQuery<'a, A> {
    pub fn new(
        athena: &'a A,
        settings: &'a Settings,
        hour: Hour,
        step: Step,
        records: &'a mut Vec<QueryRecord>,
    ) -> Self {
        Self {
            athena,
            step,
            request: StepRequest::new(settings, hour, step),
            records,
        }
    }
}

impl<A: Athena> QueryJob for StepQuery<'_, A> {
    type Athena = A;
    type StartError = HourError;

    fn athena(&self) -> &A {
        self.athena
    }

    fn request(&self) -> QueryRequest<'_> {
        self.request.request()
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
    settings: &Settings,
    hour: Hour,
    step: Step,
    deadline: Instant,
    policy: &QueryPolicy,
    records: &mut Vec<QueryRecord>,
) -> Result<String, HourError> {
    let mut job = StepQuery::new(athena, settings, hour, step, records);
    run_step(&mut job, hour, step, deadline, policy).await
}

/// Every page of the results of `step`'s query execution `query_execution_id`.
pub async fn step_results<A: Athena>(
    athena: &A,
    hour: Hour,
    step: Step,
    query_execution_id: &str,
) -> Result<QueryResults, HourError> {
    read_results(athena, query_execution_id)
        .await
        .map_err(|failure| HourError::Query {
            hour,
            step,
            failure,
        })
}

/// The runner's verdict on the query of `step` as an [`HourError`].
fn hour_error(hour: Hour, step: Step, error: RunError<HourError>) -> HourError {
    match error {
        RunError::DeadlineBeforeStart => HourError::DeadlineBeforeStart {
            hour,
            next: Phase::Query(step),
        },
        RunError::Start(error) => error,
        RunError::Failed(failure) => HourError::Query {
            hour,
            step,
            failure,
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
