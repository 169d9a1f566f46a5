//! Waiting for an Athena query to end: poll it with exponential backoff until it is
//! SUCCEEDED, FAILED or CANCELLED, or a deadline passes; and Athena's reason when it did not
//! succeed.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::athena::{QueryState, QueryStatus};
use crate::sdk::ApiError;

/// Exponential backoff between GetQueryExecution polls. Each function has its own default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first poll.
    pub initial: Duration,
    /// How many times longer each wait is than the one before.
    pub factor: u32,
    /// The longest wait.
    pub max: Duration,
}

impl Backoff {
    /// The wait after one of `delay`.
    pub fn next(&self, delay: Duration) -> Duration {
        delay.saturating_mul(self.factor).min(self.max)
    }
}

/// Why [`wait_for_query`] gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitError {
    /// GetQueryExecution failed.
    Status {
        /// Why.
        error: ApiError,
        /// GetQueryExecution calls made, the failed one included.
        polls: u32,
    },
    /// The deadline passed with the query still running.
    Deadline {
        /// The state the last poll saw.
        last_state: QueryState,
        /// GetQueryExecution calls made.
        polls: u32,
    },
}

/// Polls `query_status` (GetQueryExecution of one query) with `backoff` until the query
/// reaches SUCCEEDED, FAILED or CANCELLED, or `deadline` passes. Returns the final status and
/// the number of polls. A query still running at the deadline is not stopped here.
pub async fn wait_for_query<F, Fut>(
    mut query_status: F,
    deadline: Instant,
    backoff: &Backoff,
) -> Result<(QueryStatus, u32), WaitError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<QueryStatus, ApiError>>,
{
    let mut delay = backoff.initial;
    let mut polls = 0;
    loop {
        let status = query_status().await.map_err(|error| WaitError::Status {
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

/// Athena's reason for a query that did not succeed.
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

/// What came of the best-effort StopQueryExecution of a query still running at the
/// deadline, as the functions' deadline errors say it.
pub fn stop_outcome(stopped: Result<(), ApiError>) -> String {
    match stopped {
        Ok(()) => "StopQueryExecution requested".to_owned(),
        Err(e) => format!("StopQueryExecution also failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;

    #[test]
    fn backoff_multiplies_up_to_the_cap() {
        let backoff = Backoff {
            initial: Duration::from_millis(300),
            factor: 3,
            max: Duration::from_secs(4),
        };
        let mut delay = backoff.initial;
        let mut ms = vec![delay.as_millis()];
        for _ in 0..4 {
            delay = backoff.next(delay);
            ms.push(delay.as_millis());
        }
        assert_eq!(ms, [300, 900, 2700, 4000, 4000]);
    }

    #[test]
    fn failure_reason_combines_reason_and_athena_error() {
        // merge-small-files' and billing's cases.
        for athena_error in ["HIVE_BAD_DATA", "TABLE_NOT_FOUND"] {
            let mut status = QueryStatus::new(QueryState::Failed);
            assert_eq!(failure_reason(&status), "Athena gave no StateChangeReason");
            status.error_message = Some(athena_error.to_owned());
            assert_eq!(
                failure_reason(&status),
                format!("AthenaError: {athena_error}")
            );
            status.state_change_reason = Some("Query failed".to_owned());
            assert_eq!(
                failure_reason(&status),
                format!("Query failed (AthenaError: {athena_error})")
            );
            status.error_message = Some("Query failed".to_owned());
            assert_eq!(failure_reason(&status), "Query failed");
            status.error_message = None;
            assert_eq!(failure_reason(&status), "Query failed");
        }
    }

    #[test]
    fn a_stop_at_the_deadline_is_reported_either_way() {
        assert_eq!(stop_outcome(Ok(())), "StopQueryExecution requested");
        assert_eq!(
            stop_outcome(Err(ApiError::new("StopQueryExecution failed: boom"))),
            "StopQueryExecution also failed: StopQueryExecution failed: boom"
        );
    }

    /// GetQueryExecution answering `script` in turn: a state, or an error's message.
    type Script = RefCell<VecDeque<Result<QueryState, &'static str>>>;

    fn script(answers: Vec<Result<QueryState, &'static str>>) -> Script {
        RefCell::new(answers.into())
    }

    fn answer(script: &Script) -> impl Future<Output = Result<QueryStatus, ApiError>> {
        let next = script.borrow_mut().pop_front().expect("an answer left");
        async move { next.map(QueryStatus::new).map_err(ApiError::new) }
    }

    #[tokio::test(start_paused = true)]
    async fn polls_with_backoff_until_the_query_ends() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            factor: 2,
            max: Duration::from_millis(300),
        };
        let start = Instant::now();
        let answers = script(vec![
            Ok(QueryState::Queued),
            Ok(QueryState::Running),
            Ok(QueryState::Running),
            Ok(QueryState::Other("UNKNOWN".to_owned())),
            Ok(QueryState::Failed),
        ]);
        let at = RefCell::new(Vec::new());
        let poll = || {
            at.borrow_mut().push(start.elapsed());
            answer(&answers)
        };
        let deadline = start + Duration::from_secs(60);
        let (status, polls) = wait_for_query(poll, deadline, &backoff).await.unwrap();
        assert_eq!((status.state, polls), (QueryState::Failed, 5));
        let ms: Vec<u128> = at.borrow().iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 100, 300, 600, 900]);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_deadline_or_on_a_failed_poll() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            factor: 2,
            max: Duration::from_secs(1),
        };
        let start = Instant::now();
        let running = || async { Ok(QueryStatus::new(QueryState::Running)) };
        let deadline = start + Duration::from_millis(250);
        let error = wait_for_query(running, deadline, &backoff)
            .await
            .unwrap_err();
        assert_eq!(
            error,
            WaitError::Deadline {
                last_state: QueryState::Running,
                polls: 3
            }
        );
        assert_eq!(start.elapsed(), Duration::from_millis(250));

        let answers = script(vec![Ok(QueryState::Queued), Err("throttled")]);
        let error = wait_for_query(
            || answer(&answers),
            start + Duration::from_secs(60),
            &backoff,
        )
        .await
        .unwrap_err();
        assert_eq!(
            error,
            WaitError::Status {
                error: ApiError::new("throttled"),
                polls: 2
            }
        );
    }
}
