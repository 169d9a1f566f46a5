//! Hourly compaction of one source's hourly JSON folders into Parquet: the JSON files Firehose
//! wrote for one hour are rewritten as Parquet by an Athena CTAS query. An instance compacts
//! one source ([`settings::Source`], `SOURCE`):
//!
//! - `access_logs` (the default): API access logs, one row per request id, the columns of
//!   `COLUMN_NAMES`;
//! - `usage_events`: the lines the usage-events ingestion wrote, one row per event id (flagged
//!   lines left out and counted as malformed), the value as an exact `DECIMAL(24,9)`, and an
//!   event whose time no bill reads from its folder kept with `problem` set
//!   ([`sql::OUTSIDE_ANY_WINDOW`]), by the windows of `LATE_ARRIVAL_HOURS`.
//!
//! Everything else (leases, manifests, the survey of late objects, idempotence) is the same
//! for both: each instance has its own folders, `MANIFEST_PREFIX` and `LOCK_PREFIX`.
//!
//! Both Glue tables use partition projection on `year`/`month`/`day`/`hour`,
//! so no partition has to be added: the CTAS writes straight into the
//! Parquet table's folder for the hour, and the temporary table CTAS needs
//! is dropped again (its files stay). Whatever an earlier run wrote there is
//! deleted first, so an hour can be compacted again at any time.
//!
//! Two runs never work on the same hour at once: each holds the hour's lease in S3
//! (`LOCK_PREFIX`, see [`lambda_support::lease`]) while it works on it, and a run that finds
//! the hour leased by a live run fails with `Compaction.Locked` (a backfill stops there,
//! naming the hours done and left). This replaces reserved concurrency 1, which an account
//! whose concurrency limit is still 10 cannot grant.
//!
//! A query that fails with a retryable Athena error is resubmitted (3 submissions in all, with
//! backoff, never past the deadline); see [`job`] for what a resubmitted CTAS cleans up first.

pub mod counts;
pub mod error;
pub mod event;
pub mod folder;
pub mod hour;
pub mod job;
pub mod query;
pub mod settings;
pub mod sql;
pub mod survey;

use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDateTime, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent};
use lambda_support::athena::Athena;
use lambda_support::lease::{Holder, LeaseLock, LeaseStore};
use lambda_support::query::{Backoff, QueryPolicy, Resubmit, DEFAULT_RESUBMIT};
use lambda_support::s3::{SdkS3, S3};
use lambda_support::Run;
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

pub use error::{HourError, JobError};
pub use event::Selection;
pub use hour::Hour;
pub use job::{Compactor, HourReport, HourSummary, Outcome};
pub use query::{QueryRecord, DEFAULT_BACKOFF};
pub use settings::{Settings, Source};

/// Time kept back from the Lambda deadline to stop a query, release the hour's lease and
/// report: one API call may take up to [`lambda_support::sdk::OPERATION_TIMEOUT`] with its
/// retries (a lease not released in time expires [`lambda_support::lease::LEASE_MARGIN`] after
/// the deadline anyway).
pub const DEFAULT_SAFETY_MARGIN: Duration = Duration::from_secs(40);

/// The function's response when every hour asked for was compacted or found empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Response {
    pub hours: Vec<HourSummary>,
}

impl From<JobError> for Diagnostic {
    fn from(error: JobError) -> Self {
        Diagnostic {
            error_type: format!("Compaction.{}", error.kind()),
            error_message: error.to_string(),
        }
    }
}

/// The function: its clients, configuration and timing, and the lease lock (see
/// [`App::with_lock`]; `L` is the lock's S3 client).
pub struct App<A, S, L = SdkS3> {
    athena: A,
    s3: S,
    settings: Settings,
    policy: QueryPolicy,
    safety_margin: Duration,
    clock: fn() -> NaiveDateTime,
    lock: Option<LeaseLock<L>>,
}

/// The wall clock in UTC.
pub fn utc_now() -> NaiveDateTime {
    DateTime::<Utc>::from(SystemTime::now()).naive_utc()
}

impl<A: Athena, S: S3> App<A, S> {
    /// The function without a lock: runs of the same hour may overlap. The Lambda adds the
    /// lock of `LOCK_PREFIX` with [`App::with_lock`].
    pub fn new(athena: A, s3: S, settings: Settings) -> Self {
        Self {
            athena,
            s3,
            settings,
            policy: QueryPolicy {
                poll: DEFAULT_BACKOFF,
                resubmit: DEFAULT_RESUBMIT,
            },
            safety_margin: DEFAULT_SAFETY_MARGIN,
            clock: utc_now,
            lock: None,
        }
    }
}

impl<A: Athena, S: S3, L: LeaseStore> App<A, S, L> {
    /// Each hour is compacted holding its lease in `lock` (named `YYYYMMDDHH`).
    pub fn with_lock<M: LeaseStore>(self, lock: LeaseLock<M>) -> App<A, S, M> {
        App {
            athena: self.athena,
            s3: self.s3,
            settings: self.settings,
            policy: self.policy,
            safety_margin: self.safety_margin,
            clock: self.clock,
            lock: Some(lock),
        }
    }

    /// The backoff between GetQueryExecution polls.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.policy.poll = backoff;
        self
    }

    /// How a query that failed with a retryable error is resubmitted.
    pub fn with_resubmit(mut self, resubmit: Resubmit) -> Self {
        self.policy.resubmit = resubmit;
        self
    }

    pub fn with_safety_margin(mut self, margin: Duration) -> Self {
        self.safety_margin = margin;
        self
    }

    /// The clock (UTC) that decides which named hours are complete.
    pub fn with_clock(mut self, clock: fn() -> NaiveDateTime) -> Self {
        self.clock = clock;
        self
    }

    pub fn athena(&self) -> &A {
        &self.athena
    }

    pub fn s3(&self) -> &S {
        &self.s3
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The Lambda handler. The leases it takes are held by the invocation's request id until
    /// its deadline (plus [`lambda_support::lease::LEASE_MARGIN`]).
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Response, JobError> {
        let run = Run::invocation(
            &event.context.request_id,
            event.context.deadline,
            self.safety_margin,
        );
        self.run_as(&event.payload, run.deadline, &run.holder).await
    }

    /// Compacts the hours named by `payload`, giving up at `deadline`. Without a Lambda
    /// context, the leases are held by `local-<epoch ms>` until `deadline` plus the safety
    /// margin (plus [`lambda_support::lease::LEASE_MARGIN`]).
    pub async fn run(&self, payload: &Value, deadline: Instant) -> Result<Response, JobError> {
        let run = Run::local(deadline, self.safety_margin);
        self.run_as(payload, run.deadline, &run.holder).await
    }

    /// Compacts the hours named by `payload` as `holder`, giving up at `deadline`.
    pub async fn run_as(
        &self,
        payload: &Value,
        deadline: Instant,
        holder: &Holder,
    ) -> Result<Response, JobError> {
        let now = (self.clock)();
        let selection = event::selection(payload, now, self.settings.compaction_delay_minutes)
            .inspect_err(|error| {
                tracing::error!(outcome = "invalid_event", error = %error, event = %payload, "event rejected");
            })?;
        let hours = match selection {
            Selection::Named(hours) => hours,
            Selection::Scheduled(latest) => Box::pin(self.hours_to_compact(latest)).await?,
        };
        let compactor = Compactor {
            athena: &self.athena,
            s3: &self.s3,
            settings: &self.settings,
            policy: &self.policy,
            lock: self.lock.as_ref().map(|lock| (lock, holder)),
        };
        let mut summaries = Vec::with_capacity(hours.len());
        let mut longest = Duration::ZERO;
        for (index, &hour) in hours.iter().enumerate() {
            let done = || hours[..index].to_vec();
            let left = || hours[index..].to_vec();
            // An hour cut off by the deadline would stay without Parquet files until it is
            // run again, so the next one starts only if the slowest so far would still fit.
            if index > 0 && Instant::now() + longest >= deadline {
                let error = JobError::OutOfTime {
                    done: done(),
                    left: left(),
                };
                tracing::error!(outcome = "out_of_time", error = %error, "backfill stopped");
                return Err(error);
            }
            // Boxed: the SDK futures nest so deep that the handler's future type otherwise
            // exceeds the compiler's recursion limit.
            let report = Box::pin(compactor.compact_hour(hour, deadline)).await;
            report.log();
            longest = longest.max(report.elapsed);
            let summary = report.summary();
            // A failed hour, a locked one included, stops the invocation there: the error
            // names the hours done and those left to invoke again.
            if let Err(error) = report.outcome {
                return Err(JobError::Hour {
                    error,
                    done: done(),
                    left: left(),
                });
            }
            summaries.push(summary);
        }
        Ok(Response { hours: summaries })
    }
}

impl<A: Athena, S: S3, L> App<A, S, L> {
    /// The hours before `latest` whose Parquet files miss JSON objects, then `latest` itself
    /// (compacted whatever its state, as before there was a survey); logged as one line.
    async fn hours_to_compact(&self, latest: Hour) -> Result<Vec<Hour>, JobError> {
        let mut recent = survey::recent_hours(latest);
        recent.pop();
        let (mut hours, found) = survey::hours_to_compact(&self.s3, &self.settings, &recent)
            .await
            .inspect_err(|error| {
                tracing::error!(outcome = "survey_failed", error = %error, "could not tell which hours to compact");
            })?;
        let fields_json = serde_json::to_string(&serde_json::json!({
            "latest_hour": latest.to_string(),
            "earlier_hours_checked": recent.len(),
            "to_compact_again": found,
        }))
        .expect("survey fields serialize");
        let fields_json = fields_json.as_str();
        if !hours.is_empty() {
            tracing::warn!(
                fields_json,
                "earlier hours miss JSON objects in Parquet: compacting them again"
            );
        }
        hours.push(latest);
        Ok(hours)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_errors_become_lambda_diagnostics() {
        let hour = Hour::parse("2026-11-28T00").unwrap();
        let error = JobError::Hour {
            error: HourError::DeadlineBeforeStart {
                hour,
                next: error::Phase::Query(sql::Step::Ctas),
            },
            done: vec![],
            left: vec![hour],
        };
        let diagnostic = Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "Compaction.DeadlineBeforeStart");
        assert_eq!(
            diagnostic.error_message,
            "hour 2026-11-28T00: deadline reached before starting the ctas query"
        );
    }
}
