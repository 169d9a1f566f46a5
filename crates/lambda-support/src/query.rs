//! Running an Athena query to its end, the same way for both functions: [`run_query`] starts
//! it, polls it with exponential backoff ([`wait_for_query`]) until it is SUCCEEDED, FAILED or
//! CANCELLED, resubmits it when it FAILED with `AthenaError.Retryable` (a bounded number of
//! times, with backoff, never past the deadline), and stops it (best effort) when it is still
//! running at the deadline or when GetQueryExecution keeps failing.
//!
//! What differs between the functions (the SQL, what a resubmission must clean up first, their
//! error types) is behind [`QueryJob`], which each implements for its queries; each maps
//! [`RunError`] to its own error, keeping a [`QueryFailure`] as it is. [`read_results`] then
//! reads every page of the results.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::athena::{
    Athena, AthenaErrorInfo, QueryRequest, QueryState, QueryStatus, Rows, StatusDetail,
};
use crate::sdk::ApiError;

/// Exponential backoff between GetQueryExecution polls, or between resubmissions. Each
/// function has its own default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait.
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

/// Resubmitting a query that ended FAILED with `AthenaError.Retryable` — "True if the query
/// might succeed if resubmitted" (Athena API reference, AthenaError) — as a new query
/// execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resubmit {
    /// Submissions in all, the first included: 1 never resubmits.
    pub max_attempts: u32,
    /// The wait before each resubmission. A resubmission whose wait would reach the deadline
    /// is not made.
    pub backoff: Backoff,
}

/// Three submissions in all, 5 s and then 10 s apart.
pub const DEFAULT_RESUBMIT: Resubmit = Resubmit {
    max_attempts: 3,
    backoff: Backoff {
        initial: Duration::from_secs(5),
        factor: 2,
        max: Duration::from_secs(30),
    },
};

/// How [`run_query`] waits for a query and resubmits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryPolicy {
    /// Between GetQueryExecution polls of one query execution.
    pub poll: Backoff,
    /// Of a query that failed with a retryable error.
    pub resubmit: Resubmit,
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
/// the number of polls. A query still running at the deadline is not stopped here
/// ([`run_query`] does that).
pub async fn wait_for_query<F, Fut>(
    mut query_status: F,
    deadline: Instant,
    backoff: &Backoff,
) -> Result<(StatusDetail, u32), WaitError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<StatusDetail, ApiError>>,
{
    let mut delay = backoff.initial;
    let mut polls = 0;
    loop {
        let detail = query_status().await.map_err(|error| WaitError::Status {
            error,
            polls: polls + 1,
        })?;
        polls += 1;
        if detail.status.state.is_terminal() {
            return Ok((detail, polls));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(WaitError::Deadline {
                last_state: detail.status.state,
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

/// What came of the best-effort StopQueryExecution of a query given up on (still running at
/// the deadline, or its state unreadable), as the functions' errors say it.
pub fn stop_outcome(stopped: Result<(), ApiError>) -> String {
    match stopped {
        Ok(()) => "StopQueryExecution requested".to_owned(),
        Err(e) => format!("StopQueryExecution also failed: {e}"),
    }
}

/// One submission of a query (one query execution) and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// 1 for the first submission.
    pub number: u32,
    pub query_execution_id: String,
    /// The last state seen; `UNKNOWN` when GetQueryExecution failed.
    pub state: QueryState,
    /// GetQueryExecution calls made for it.
    pub polls: u32,
    /// Athena's reason, for an attempt that ended FAILED or CANCELLED.
    pub reason: Option<String>,
    /// Athena's classification of the error, when it gave one.
    pub athena_error: Option<AthenaErrorInfo>,
}

impl Attempt {
    /// FAILED with `AthenaError.Retryable`.
    pub fn retryable(&self) -> bool {
        self.state == QueryState::Failed && self.athena_error.is_some_and(|e| e.retryable)
    }
}

impl fmt::Display for Attempt {
    /// `q-1 (FAILED, retryable system error, ErrorType 401: reason)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.query_execution_id, self.state)?;
        if let Some(error) = &self.athena_error {
            write!(f, ", {error}")?;
        }
        if let Some(reason) = &self.reason {
            write!(f, ": {reason}")?;
        }
        f.write_str(")")
    }
}

/// The attempts made before the one an error (or a success) is about: queries that ended
/// FAILED with a retryable error and were resubmitted. Displays as nothing when there are
/// none, else as `; resubmitted after q-1 (FAILED, …: reason), q-2 (…)`, so that every query id
/// is in the error message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Earlier(pub Vec<Attempt>);

impl Earlier {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The query execution ids, oldest first.
    pub fn ids(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|a| a.query_execution_id.clone())
            .collect()
    }
}

impl fmt::Display for Earlier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, attempt) in self.0.iter().enumerate() {
            f.write_str(if index == 0 {
                "; resubmitted after "
            } else {
                ", "
            })?;
            write!(f, "{attempt}")?;
        }
        Ok(())
    }
}

/// One query as [`run_query`] runs it: the [`Athena`] it runs in, the request it submits, and
/// what must be undone before a resubmission. Each function implements it for its queries,
/// with its own error type for a preparation that fails.
pub trait QueryJob {
    /// The Athena calls it is run with.
    type Athena: Athena;
    /// Why a submission could not be prepared.
    type StartError;

    /// The Athena it is run with.
    fn athena(&self) -> &Self::Athena;

    /// The query it submits (StartQueryExecution), the same every time.
    fn request(&self) -> QueryRequest<'_>;

    /// Called before each submission. `earlier` holds the attempts that failed with a
    /// retryable error before this one (empty for the first): a resubmission must first undo
    /// whatever they may have left behind (files written, a table created), so that it starts
    /// from the state the first one did. By default nothing is undone.
    fn prepare(
        &mut self,
        earlier: &[Attempt],
    ) -> impl Future<Output = Result<(), Self::StartError>> + Send {
        let _ = earlier;
        async { Ok(()) }
    }

    /// Called once for every attempt when [`run_query`] is done with it, whatever the
    /// outcome: for the function's records.
    fn ended(&mut self, _attempt: &Attempt) {}
}

/// A query that SUCCEEDED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Succeeded {
    pub query_execution_id: String,
    /// GetQueryExecution calls made for it.
    pub polls: u32,
    /// The attempts that failed with a retryable error before it.
    pub earlier: Earlier,
}

/// Why [`run_query`] gave up on a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError<E> {
    /// The deadline had passed before the query was first submitted.
    DeadlineBeforeStart,
    /// A submission could not be prepared ([`QueryJob::prepare`]; the error says which, it was
    /// given the attempts before it).
    Start(E),
    /// The query was submitted and failed.
    Failed(QueryFailure),
}

/// Why a submitted query, or the reading of its results, failed: the same for every function.
/// A function's error holds it beside what the query was for (a month; an hour and its step),
/// says it with [`QueryFailure::describe`] and names it with [`QueryFailure::kind`]. Every
/// variant after [`QueryFailure::Submit`] names the query execution it is about, and the four
/// of [`run_query`] the attempts before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryFailure {
    /// StartQueryExecution failed.
    Submit { error: ApiError, earlier: Earlier },
    /// GetQueryExecution failed (after the SDK's own retries); the query was then stopped,
    /// best effort, so that it does not go on writing.
    Status {
        query_execution_id: String,
        error: ApiError,
        /// What came of StopQueryExecution ([`stop_outcome`]).
        stop: String,
        earlier: Earlier,
    },
    /// The query ended FAILED or CANCELLED and was not resubmitted: CANCELLED, a failure that
    /// is not retryable, or a retryable one with the attempts used up or too little time left
    /// (`reason` then says so).
    Ended {
        query_execution_id: String,
        state: QueryState,
        /// Athena's reason ([`failure_reason`]), and why it was not resubmitted if retryable.
        reason: String,
        earlier: Earlier,
    },
    /// The deadline passed with the query still running; it was then stopped, best effort.
    Deadline {
        query_execution_id: String,
        last_state: QueryState,
        /// What came of StopQueryExecution ([`stop_outcome`]).
        stop: String,
        earlier: Earlier,
    },
    /// GetQueryResults failed ([`read_results`]).
    GetResults {
        query_execution_id: String,
        error: ApiError,
    },
    /// The results cannot be read as the function expects them; says why.
    BadResults {
        query_execution_id: String,
        problem: String,
    },
}

impl QueryFailure {
    /// The failure as a sentence about the query called `query` (`usage`, `count`, …):
    /// `could not start the usage query: …`.
    pub fn describe(&self, query: impl fmt::Display) -> String {
        match self {
            Self::Submit { error, earlier } => {
                format!("could not start the {query} query: {error}{earlier}")
            }
            Self::Status {
                query_execution_id,
                error,
                stop,
                earlier,
            } => format!(
                "could not read the state of the {query} query (query execution id \
                 {query_execution_id}): {error}; {stop}{earlier}"
            ),
            Self::Ended {
                query_execution_id,
                state,
                reason,
                earlier,
            } => format!(
                "the {query} query (query execution id {query_execution_id}) ended {state}: \
                 {reason}{earlier}"
            ),
            Self::Deadline {
                query_execution_id,
                last_state,
                stop,
                earlier,
            } => format!(
                "the {query} query (query execution id {query_execution_id}) was still \
                 {last_state} at the deadline; {stop}{earlier}"
            ),
            Self::GetResults {
                query_execution_id,
                error,
            } => format!(
                "could not read the results of the {query} query (query execution id \
                 {query_execution_id}): {error}"
            ),
            Self::BadResults {
                query_execution_id,
                problem,
            } => format!(
                "unexpected results of the {query} query (query execution id \
                 {query_execution_id}): {problem}"
            ),
        }
    }

    /// Short name for the Lambda error type and logs (`<Function>.<Kind>`). A call that
    /// stayed throttled or timed out through the SDK's retries is named for that.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Submit { error, .. } => error.kind_name("StartQueryFailed"),
            Self::Status { error, .. } => error.kind_name("GetQueryStateFailed"),
            Self::Ended {
                state: QueryState::Cancelled,
                ..
            } => "QueryCancelled",
            Self::Ended { .. } => "QueryFailed",
            Self::Deadline { .. } => "QueryTimedOut",
            Self::GetResults { error, .. } => error.kind_name("GetQueryResultsFailed"),
            Self::BadResults { .. } => "UnexpectedQueryResults",
        }
    }
}

/// Runs `job` to its end: submits it (after [`QueryJob::prepare`]), waits for it with
/// `policy.poll` up to `deadline`, and resubmits it as a new query execution when it ended
/// FAILED with a retryable error, at most `policy.resubmit.max_attempts` submissions in all,
/// waiting `policy.resubmit.backoff` before each and never when that wait would reach the
/// deadline. A query still running at the deadline, or whose state cannot be read, is stopped
/// (best effort) before giving up. [`QueryJob::ended`] hears of every attempt.
pub async fn run_query<Q: QueryJob>(
    job: &mut Q,
    deadline: Instant,
    policy: &QueryPolicy,
) -> Result<Succeeded, RunError<Q::StartError>> {
    if Instant::now() >= deadline {
        return Err(RunError::DeadlineBeforeStart);
    }
    let mut earlier: Vec<Attempt> = Vec::new();
    let mut pause = policy.resubmit.backoff.initial;
    loop {
        job.prepare(&earlier).await.map_err(RunError::Start)?;
        let id = match job.athena().start_query(job.request()).await {
            Ok(id) => id,
            Err(error) => {
                return Err(RunError::Failed(QueryFailure::Submit {
                    error,
                    earlier: Earlier(earlier),
                }))
            }
        };
        let number = u32::try_from(earlier.len()).unwrap_or(u32::MAX - 1) + 1;
        tracing::debug!(query_execution_id = %id, attempt = number, "query started");
        let athena = job.athena();
        let waited = wait_for_query(|| athena.query_status(&id), deadline, &policy.poll).await;
        let mut attempt = Attempt {
            number,
            query_execution_id: id.clone(),
            state: QueryState::Other("UNKNOWN".to_owned()),
            polls: 0,
            reason: None,
            athena_error: None,
        };
        let (detail, polls) = match waited {
            Ok(ended) => ended,
            Err(WaitError::Status { error, polls }) => {
                attempt.polls = polls;
                job.ended(&attempt);
                let stop = stop_outcome(job.athena().stop_query(&id).await);
                return Err(RunError::Failed(QueryFailure::Status {
                    query_execution_id: id,
                    error,
                    stop,
                    earlier: Earlier(earlier),
                }));
            }
            Err(WaitError::Deadline { last_state, polls }) => {
                attempt.polls = polls;
                attempt.state = last_state.clone();
                job.ended(&attempt);
                let stop = stop_outcome(job.athena().stop_query(&id).await);
                return Err(RunError::Failed(QueryFailure::Deadline {
                    query_execution_id: id,
                    last_state,
                    stop,
                    earlier: Earlier(earlier),
                }));
            }
        };
        attempt.polls = polls;
        attempt.state = detail.status.state.clone();
        attempt.athena_error = detail.athena_error;
        if detail.status.state == QueryState::Succeeded {
            job.ended(&attempt);
            return Ok(Succeeded {
                query_execution_id: id,
                polls,
                earlier: Earlier(earlier),
            });
        }
        let reason = failure_reason(&detail.status);
        attempt.reason = Some(reason.clone());
        job.ended(&attempt);
        let not_resubmitted = if !detail.retryable() {
            None
        } else if number >= policy.resubmit.max_attempts {
            Some(format!(
                "retryable, but not resubmitted: {number} attempt{} made",
                if number == 1 { "" } else { "s" }
            ))
        } else if Instant::now() + pause >= deadline {
            Some("retryable, but not resubmitted: too close to the deadline".to_owned())
        } else {
            tracing::warn!(
                query_execution_id = %id,
                attempt = number,
                reason = %reason,
                wait_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                "query failed with a retryable error; resubmitting it"
            );
            earlier.push(attempt);
            tokio::time::sleep(pause).await;
            pause = policy.resubmit.backoff.next(pause);
            continue;
        };
        return Err(RunError::Failed(QueryFailure::Ended {
            query_execution_id: id,
            state: detail.status.state,
            reason: match not_resubmitted {
                Some(note) => format!("{reason}; {note}"),
                None => reason,
            },
            earlier: Earlier(earlier),
        }));
    }
}

/// The results of a query that SUCCEEDED, every page of GetQueryResults read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryResults {
    /// The column names of the first page's `ResultSetMetadata`.
    pub columns: Vec<String>,
    /// The rows of every page, in order: for a SELECT the first row holds the column names.
    pub rows: Rows,
    /// GetQueryResults calls made.
    pub pages: u32,
}

/// Reads every page of GetQueryResults of `query_execution_id`.
pub async fn read_results<A: Athena>(
    athena: &A,
    query_execution_id: &str,
) -> Result<QueryResults, QueryFailure> {
    let mut results = QueryResults::default();
    let mut token: Option<String> = None;
    loop {
        let page = athena
            .query_results(query_execution_id, token.as_deref())
            .await
            .map_err(|error| QueryFailure::GetResults {
                query_execution_id: query_execution_id.to_owned(),
                error,
            })?;
        if results.pages == 0 {
            results.columns = page.columns;
        }
        results.pages += 1;
        results.rows.extend(page.rows);
        match page.next_token {
            Some(next) if Some(&next) == token.as_ref() => {
                return Err(QueryFailure::BadResults {
                    query_execution_id: query_execution_id.to_owned(),
                    problem: format!("GetQueryResults returned the same NextToken twice ({next})"),
                })
            }
            Some(next) => token = Some(next),
            None => return Ok(results),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::athena::ResultPage;
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
        // compaction's and billing's cases.
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

    fn answer(script: &Script) -> impl Future<Output = Result<StatusDetail, ApiError>> {
        let next = script.borrow_mut().pop_front().expect("an answer left");
        async move {
            next.map(|state| QueryStatus::new(state).into())
                .map_err(ApiError::new)
        }
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
        let (detail, polls) = wait_for_query(poll, deadline, &backoff).await.unwrap();
        assert_eq!((detail.status.state, polls), (QueryState::Failed, 5));
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
        let running = || async { Ok(QueryStatus::new(QueryState::Running).into()) };
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

    // ---- run_query ----

    use std::sync::Mutex;

    /// A query whose submissions play `scripts` in turn (one per submission, its last answer
    /// repeating), recording what the runner does, on tokio's clock.
    #[derive(Default)]
    struct FakeJob {
        origin: Option<Instant>,
        scripts: Mutex<VecDeque<Vec<Result<StatusDetail, &'static str>>>>,
        current: Mutex<VecDeque<Result<StatusDetail, &'static str>>>,
        /// (id, attempts before it, ms since origin) of every submission.
        starts: Vec<(String, usize, u128)>,
        /// The submission whose preparation fails (0 for the first), with its message.
        start_fails: Option<(usize, &'static str)>,
        /// StartQueryExecution's error, for every submission.
        submit_fails: Option<&'static str>,
        stops: Mutex<Vec<String>>,
        stop_fails: bool,
        ended: Vec<Attempt>,
    }

    impl FakeJob {
        fn new(scripts: Vec<Vec<Result<StatusDetail, &'static str>>>) -> Self {
            Self {
                origin: Some(Instant::now()),
                scripts: Mutex::new(scripts.into()),
                ..Self::default()
            }
        }

        fn ids(&self) -> Vec<&str> {
            self.starts.iter().map(|(id, _, _)| id.as_str()).collect()
        }
    }

    impl QueryJob for FakeJob {
        type Athena = Self;
        type StartError = String;

        fn athena(&self) -> &Self {
            self
        }

        fn request(&self) -> QueryRequest<'_> {
            QueryRequest {
                sql: "SELECT 1",
                work_group: "primary",
                output_location: None,
            }
        }

        async fn prepare(&mut self, earlier: &[Attempt]) -> Result<(), String> {
            if let Some((index, message)) = self.start_fails {
                if index == self.starts.len() {
                    return Err(format!("{message} after {} attempts", earlier.len()));
                }
            }
            let id = format!("q-{}", self.starts.len() + 1);
            let at = self.origin.unwrap().elapsed().as_millis();
            self.starts.push((id, earlier.len(), at));
            let script = self.scripts.lock().unwrap().pop_front().expect("a script");
            *self.current.lock().unwrap() = script.into();
            Ok(())
        }

        fn ended(&mut self, attempt: &Attempt) {
            self.ended.push(attempt.clone());
        }
    }

    /// Athena as the job scripts it: the submission it prepared last starts.
    impl Athena for FakeJob {
        async fn start_query(&self, _request: QueryRequest<'_>) -> Result<String, ApiError> {
            match self.submit_fails {
                Some(message) => Err(ApiError::new(message)),
                None => Ok(self.starts.last().expect("a prepared submission").0.clone()),
            }
        }

        async fn query_status(&self, _id: &str) -> Result<StatusDetail, ApiError> {
            let mut current = self.current.lock().unwrap();
            let next = if current.len() > 1 {
                current.pop_front().unwrap()
            } else {
                current.front().cloned().expect("an answer")
            };
            next.map_err(ApiError::new)
        }

        async fn stop_query(&self, id: &str) -> Result<(), ApiError> {
            self.stops.lock().unwrap().push(id.to_owned());
            if self.stop_fails {
                Err(ApiError::new("StopQueryExecution failed: AccessDenied"))
            } else {
                Ok(())
            }
        }

        async fn query_results(
            &self,
            _id: &str,
            _next_token: Option<&str>,
        ) -> Result<ResultPage, ApiError> {
            unreachable!("run_query reads no results")
        }
    }

    fn detail(state: QueryState) -> Result<StatusDetail, &'static str> {
        Ok(QueryStatus::new(state).into())
    }

    fn failed(retryable: bool) -> Result<StatusDetail, &'static str> {
        Ok(StatusDetail {
            status: QueryStatus {
                state: QueryState::Failed,
                state_change_reason: Some("HIVE_CANNOT_OPEN_SPLIT: SlowDown".to_owned()),
                error_message: None,
            },
            athena_error: Some(AthenaErrorInfo {
                category: Some(1),
                error_type: Some(401),
                retryable,
            }),
        })
    }

    fn policy(max_attempts: u32) -> QueryPolicy {
        QueryPolicy {
            poll: Backoff {
                initial: Duration::from_millis(100),
                factor: 2,
                max: Duration::from_secs(1),
            },
            resubmit: Resubmit {
                max_attempts,
                backoff: Backoff {
                    initial: Duration::from_secs(5),
                    factor: 2,
                    max: Duration::from_secs(30),
                },
            },
        }
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(600)
    }

    #[tokio::test(start_paused = true)]
    async fn a_retryable_failure_is_resubmitted_with_backoff_until_it_succeeds() {
        let mut job = FakeJob::new(vec![
            vec![detail(QueryState::Running), failed(true)],
            vec![failed(true)],
            vec![detail(QueryState::Queued), detail(QueryState::Succeeded)],
        ]);

        let done = run_query(&mut job, far(), &policy(3)).await.unwrap();

        assert_eq!(done.query_execution_id, "q-3");
        assert_eq!(done.polls, 2);
        assert_eq!(done.earlier.ids(), ["q-1", "q-2"]);
        // Each submission is told of the attempts before it; 5 s, then 10 s between them
        // (q-1 failed at its second poll, 100 ms in).
        assert_eq!(
            job.starts,
            [
                ("q-1".to_owned(), 0, 0),
                ("q-2".to_owned(), 1, 5_100),
                ("q-3".to_owned(), 2, 15_100)
            ]
        );
        let states: Vec<(&str, u32, &str)> = job
            .ended
            .iter()
            .map(|a| (a.query_execution_id.as_str(), a.number, a.state.as_str()))
            .collect();
        assert_eq!(
            states,
            [
                ("q-1", 1, "FAILED"),
                ("q-2", 2, "FAILED"),
                ("q-3", 3, "SUCCEEDED")
            ]
        );
        assert!(job.ended[0].retryable());
        assert!(job.stops.lock().unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn resubmissions_are_bounded_and_every_id_is_in_the_error() {
        let mut job = FakeJob::new(vec![vec![failed(true)]; 3]);

        let error = run_query(&mut job, far(), &policy(3)).await.unwrap_err();

        assert_eq!(job.ids(), ["q-1", "q-2", "q-3"]);
        let RunError::Failed(QueryFailure::Ended {
            query_execution_id,
            state,
            reason,
            earlier,
        }) = &error
        else {
            panic!("{error:?}");
        };
        assert_eq!(
            (query_execution_id.as_str(), state),
            ("q-3", &QueryState::Failed)
        );
        assert_eq!(
            reason,
            "HIVE_CANNOT_OPEN_SPLIT: SlowDown; retryable, but not resubmitted: 3 attempts made"
        );
        assert_eq!(
            earlier.to_string(),
            "; resubmitted after q-1 (FAILED, retryable system error, ErrorType 401: \
             HIVE_CANNOT_OPEN_SPLIT: SlowDown), q-2 (FAILED, retryable system error, ErrorType \
             401: HIVE_CANNOT_OPEN_SPLIT: SlowDown)"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failures_that_are_not_retryable_and_cancellations_are_never_resubmitted() {
        for (answer, state) in [
            (failed(false), QueryState::Failed),
            (detail(QueryState::Cancelled), QueryState::Cancelled),
        ] {
            let mut job = FakeJob::new(vec![vec![answer]]);
            let error = run_query(&mut job, far(), &policy(3)).await.unwrap_err();
            assert_eq!(job.ids(), ["q-1"]);
            let RunError::Failed(QueryFailure::Ended {
                state: got,
                reason,
                earlier,
                ..
            }) = error
            else {
                panic!("{error:?}");
            };
            assert_eq!(got, state);
            assert!(!reason.contains("resubmitted"), "{reason}");
            assert!(earlier.is_empty());
        }
        // One attempt in all: a retryable failure says so.
        let mut job = FakeJob::new(vec![vec![failed(true)]]);
        let error = run_query(&mut job, far(), &policy(1)).await.unwrap_err();
        assert!(
            matches!(&error, RunError::Failed(QueryFailure::Ended { reason, .. })
                if reason.ends_with("; retryable, but not resubmitted: 1 attempt made")),
            "{error:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_resubmission_whose_wait_would_reach_the_deadline() {
        let begin = Instant::now();
        let mut job = FakeJob::new(vec![
            vec![failed(true)],
            vec![detail(QueryState::Succeeded)],
        ]);

        let error = run_query(&mut job, begin + Duration::from_secs(5), &policy(3))
            .await
            .unwrap_err();

        assert_eq!(job.ids(), ["q-1"]);
        assert!(
            matches!(&error, RunError::Failed(QueryFailure::Ended { reason, .. })
                if reason.ends_with("; retryable, but not resubmitted: too close to the deadline")),
            "{error:?}"
        );
        assert_eq!(begin.elapsed(), Duration::ZERO, "no wait for nothing");
    }

    #[tokio::test(start_paused = true)]
    async fn a_query_whose_state_cannot_be_read_is_stopped() {
        let mut job = FakeJob::new(vec![vec![
            detail(QueryState::Running),
            Err("GetQueryExecution failed: ThrottlingException (HTTP 400)"),
        ]]);

        let error = run_query(&mut job, far(), &policy(3)).await.unwrap_err();

        assert_eq!(
            error,
            RunError::Failed(QueryFailure::Status {
                query_execution_id: "q-1".to_owned(),
                error: ApiError::new("GetQueryExecution failed: ThrottlingException (HTTP 400)"),
                stop: "StopQueryExecution requested".to_owned(),
                earlier: Earlier::default(),
            })
        );
        assert_eq!(*job.stops.lock().unwrap(), ["q-1"]);
        assert_eq!(job.ended[0].state.as_str(), "UNKNOWN");
        assert_eq!(job.ended[0].polls, 2);

        // A stop that fails too is said so.
        let mut job = FakeJob::new(vec![vec![Err("GetQueryExecution failed: boom")]]);
        job.stop_fails = true;
        let error = run_query(&mut job, far(), &policy(3)).await.unwrap_err();
        assert!(
            matches!(&error, RunError::Failed(QueryFailure::Status { stop, .. })
                if stop == "StopQueryExecution also failed: StopQueryExecution failed: AccessDenied"),
            "{error:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_resubmission_still_running_at_the_deadline_is_stopped_and_names_the_first() {
        let begin = Instant::now();
        let mut job = FakeJob::new(vec![vec![failed(true)], vec![detail(QueryState::Running)]]);

        let error = run_query(&mut job, begin + Duration::from_secs(20), &policy(3))
            .await
            .unwrap_err();

        assert_eq!(begin.elapsed(), Duration::from_secs(20));
        let RunError::Failed(QueryFailure::Deadline {
            query_execution_id,
            last_state,
            stop,
            earlier,
        }) = &error
        else {
            panic!("{error:?}");
        };
        assert_eq!(query_execution_id, "q-2");
        assert_eq!(*last_state, QueryState::Running);
        assert_eq!(stop, "StopQueryExecution requested");
        assert_eq!(earlier.ids(), ["q-1"]);
        assert_eq!(*job.stops.lock().unwrap(), ["q-2"]);
    }

    #[tokio::test(start_paused = true)]
    async fn start_failures_and_a_passed_deadline() {
        let mut job = FakeJob::new(vec![vec![failed(true)]]);
        job.start_fails = Some((1, "could not clean up"));
        let error = run_query(&mut job, far(), &policy(3)).await.unwrap_err();
        assert_eq!(
            error,
            RunError::Start("could not clean up after 1 attempts".to_owned())
        );

        let mut job = FakeJob::new(vec![]);
        let error = run_query(&mut job, Instant::now(), &policy(3))
            .await
            .unwrap_err();
        assert_eq!(error, RunError::DeadlineBeforeStart);
        assert!(job.starts.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_submission_names_the_attempts_before_it() {
        let mut job = FakeJob::new(vec![vec![failed(true)]]);
        job.submit_fails = Some("StartQueryExecution failed: TooManyRequestsException");
        let error = run_query(&mut job, far(), &policy(3)).await.unwrap_err();
        assert_eq!(
            error,
            RunError::Failed(QueryFailure::Submit {
                error: ApiError::new("StartQueryExecution failed: TooManyRequestsException"),
                earlier: Earlier::default(),
            })
        );
        assert!(job.ended.is_empty(), "no query execution to record");
    }

    // ---- read_results ----

    /// GetQueryResults answering `pages` in turn, recording the tokens it was asked with.
    struct Pages {
        pages: Mutex<VecDeque<Result<ResultPage, &'static str>>>,
        tokens: Mutex<Vec<Option<String>>>,
    }

    impl Pages {
        fn new(pages: Vec<Result<ResultPage, &'static str>>) -> Self {
            Self {
                pages: Mutex::new(pages.into()),
                tokens: Mutex::new(Vec::new()),
            }
        }
    }

    impl Athena for Pages {
        async fn start_query(&self, _request: QueryRequest<'_>) -> Result<String, ApiError> {
            unreachable!("read_results starts nothing")
        }

        async fn query_status(&self, _id: &str) -> Result<StatusDetail, ApiError> {
            unreachable!("read_results polls nothing")
        }

        async fn stop_query(&self, _id: &str) -> Result<(), ApiError> {
            unreachable!("read_results stops nothing")
        }

        async fn query_results(
            &self,
            id: &str,
            next_token: Option<&str>,
        ) -> Result<ResultPage, ApiError> {
            assert_eq!(id, "q-1");
            self.tokens
                .lock()
                .unwrap()
                .push(next_token.map(str::to_owned));
            let page = self.pages.lock().unwrap().pop_front().expect("a page");
            page.map_err(ApiError::new)
        }
    }

    fn page(
        columns: &[&str],
        rows: &[&str],
        next: Option<&str>,
    ) -> Result<ResultPage, &'static str> {
        Ok(ResultPage {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: rows.iter().map(|v| vec![Some((*v).to_owned())]).collect(),
            next_token: next.map(str::to_owned),
        })
    }

    #[tokio::test]
    async fn every_page_of_the_results_is_read() {
        let athena = Pages::new(vec![
            page(&["tenant"], &["tenant", "acme"], Some("t-1")),
            page(&["tenant"], &["zeta"], Some("t-2")),
            page(&[], &[], None),
        ]);
        let results = read_results(&athena, "q-1").await.unwrap();
        assert_eq!(results.columns, ["tenant"]);
        let rows: Vec<&str> = results
            .rows
            .iter()
            .map(|row| row[0].as_deref().unwrap())
            .collect();
        assert_eq!(rows, ["tenant", "acme", "zeta"]);
        assert_eq!(results.pages, 3);
        assert_eq!(
            *athena.tokens.lock().unwrap(),
            [None, Some("t-1".to_owned()), Some("t-2".to_owned())]
        );
    }

    #[tokio::test]
    async fn a_failed_page_and_a_repeated_token_end_the_reading() {
        let athena = Pages::new(vec![
            page(&["tenant"], &["tenant"], Some("t-1")),
            Err("GetQueryResults failed: InternalServerException"),
        ]);
        assert_eq!(
            read_results(&athena, "q-1").await,
            Err(QueryFailure::GetResults {
                query_execution_id: "q-1".to_owned(),
                error: ApiError::new("GetQueryResults failed: InternalServerException"),
            })
        );

        let athena = Pages::new(vec![
            page(&["tenant"], &["tenant"], Some("t-1")),
            page(&["tenant"], &["acme"], Some("t-1")),
        ]);
        assert_eq!(
            read_results(&athena, "q-1").await,
            Err(QueryFailure::BadResults {
                query_execution_id: "q-1".to_owned(),
                problem: "GetQueryResults returned the same NextToken twice (t-1)".to_owned(),
            })
        );
    }
}
