//! Hourly compaction of API access logs: the JSON files Firehose wrote for
//! one hour are rewritten as Parquet by an Athena CTAS query, one row per
//! request id.
//!
//! Both Glue tables use partition projection on `year`/`month`/`day`/`hour`,
//! so no partition has to be added: the CTAS writes straight into the
//! Parquet table's folder for the hour, and the temporary table CTAS needs
//! is dropped again (its files stay). Whatever an earlier run wrote there is
//! deleted first, so an hour can be compacted again at any time.

pub mod athena;
pub mod config;
pub mod counts;
pub mod error;
pub mod event;
pub mod folder;
pub mod hour;
pub mod job;
pub mod query;
pub mod s3;
pub mod sql;

use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDateTime, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

pub use athena::{Athena, SdkAthena};
pub use config::Config;
pub use error::{HourError, JobError};
pub use hour::Hour;
pub use job::{HourReport, HourSummary, Outcome};
pub use lambda_support::{logging, sdk, time_budget};
pub use query::{Backoff, QueryRecord, DEFAULT_BACKOFF};
pub use s3::{SdkS3, S3};

/// Time kept back from the Lambda deadline to stop a query and report: one API call may take
/// up to [`sdk::OPERATION_TIMEOUT`] with its retries.
pub const DEFAULT_SAFETY_MARGIN: Duration = Duration::from_secs(40);

/// The function's response when every hour asked for was compacted or found empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Response {
    pub hours: Vec<HourSummary>,
}

impl From<JobError> for Diagnostic {
    fn from(error: JobError) -> Self {
        Diagnostic {
            error_type: format!("MergeSmallFiles.{}", error.kind()),
            error_message: error.to_string(),
        }
    }
}

pub struct App<A, S> {
    athena: A,
    s3: S,
    config: Config,
    backoff: Backoff,
    safety_margin: Duration,
    clock: fn() -> NaiveDateTime,
}

/// The wall clock in UTC.
pub fn utc_now() -> NaiveDateTime {
    DateTime::<Utc>::from(SystemTime::now()).naive_utc()
}

impl<A: Athena, S: S3> App<A, S> {
    pub fn new(athena: A, s3: S, config: Config) -> Self {
        Self {
            athena,
            s3,
            config,
            backoff: DEFAULT_BACKOFF,
            safety_margin: DEFAULT_SAFETY_MARGIN,
            clock: utc_now,
        }
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
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

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The Lambda handler.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Response, JobError> {
        let budget = time_budget(
            event.context.deadline,
            SystemTime::now(),
            self.safety_margin,
        );
        self.run(&event.payload, Instant::now() + budget).await
    }

    /// Compacts the hours named by `payload`, giving up at `deadline`.
    pub async fn run(&self, payload: &Value, deadline: Instant) -> Result<Response, JobError> {
        let now = (self.clock)();
        let hours = event::hours_from_event(payload, now, self.config.compaction_delay_minutes)
            .inspect_err(|error| {
                tracing::error!(outcome = "invalid_event", error = %error, event = %payload, "event rejected");
            })?;
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
            let report = Box::pin(job::compact_hour(
                &self.athena,
                &self.s3,
                &self.config,
                hour,
                deadline,
                &self.backoff,
            ))
            .await;
            report.log();
            longest = longest.max(report.elapsed);
            let summary = report.summary();
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
        assert_eq!(diagnostic.error_type, "MergeSmallFiles.DeadlineBeforeStart");
        assert_eq!(
            diagnostic.error_message,
            "hour 2026-11-28T00: deadline reached before starting the ctas query"
        );
    }
}
