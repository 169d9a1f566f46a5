//! Hourly compaction of API access logs: the JSON files Firehose wrote for
//! one hour are rewritten as Parquet by an Athena CTAS query.
//!
//! Both Glue tables use partition projection on `year`/`month`/`day`/`hour`,
//! so no partition has to be added: the CTAS writes straight into the
//! Parquet table's folder for the hour, and the temporary table CTAS needs
//! is dropped again (its files stay).

pub mod athena;
pub mod config;
pub mod hour;
pub mod job;
pub mod logging;
pub mod sql;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

pub use athena::{Athena, SdkAthena};
pub use config::Config;
pub use hour::Hour;
pub use job::{Backoff, HourReport, JobError, QueryRecord};

/// Time kept back from the Lambda deadline to stop a query and report.
pub const DEFAULT_SAFETY_MARGIN: Duration = Duration::from_secs(15);

/// The function's response for a compacted hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Compacted {
    pub hour: String,
    pub destination: String,
    pub queries: Vec<QueryRecord>,
}

impl From<JobError> for Diagnostic {
    fn from(error: JobError) -> Self {
        Diagnostic {
            error_type: format!("MergeSmallFiles.{}", error.kind()),
            error_message: error.to_string(),
        }
    }
}

/// How long the job may run: from `now` to the invocation deadline
/// (milliseconds since the Unix epoch, as Lambda gives it) less `margin`.
pub fn time_budget(deadline_epoch_ms: u64, now: SystemTime, margin: Duration) -> Duration {
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    Duration::from_millis(deadline_epoch_ms)
        .saturating_sub(now)
        .saturating_sub(margin)
}

pub struct App<A> {
    athena: A,
    config: Config,
    backoff: Backoff,
    safety_margin: Duration,
}

impl<A: Athena> App<A> {
    pub fn new(athena: A, config: Config) -> Self {
        Self {
            athena,
            config,
            backoff: Backoff::default(),
            safety_margin: DEFAULT_SAFETY_MARGIN,
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

    pub fn athena(&self) -> &A {
        &self.athena
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The Lambda handler.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Compacted, JobError> {
        let budget = time_budget(
            event.context.deadline,
            SystemTime::now(),
            self.safety_margin,
        );
        self.run(&event.payload, Instant::now() + budget).await
    }

    /// Compacts the hour named by `payload`, giving up at `deadline`.
    pub async fn run(&self, payload: &Value, deadline: Instant) -> Result<Compacted, JobError> {
        let hour = Hour::from_event(payload).inspect_err(|error| {
            tracing::error!(outcome = "invalid_event", error = %error, event = %payload, "event rejected");
        })?;
        let report =
            job::compact_hour(&self.athena, &self.config, hour, deadline, &self.backoff).await;
        report.log();
        let HourReport {
            hour,
            destination,
            queries,
            outcome,
            ..
        } = report;
        outcome.map(|()| Compacted {
            hour: hour.to_string(),
            destination,
            queries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_budget_keeps_the_safety_margin() {
        let now = UNIX_EPOCH + Duration::from_millis(1_000_000);
        assert_eq!(
            time_budget(1_000_000 + 600_000, now, Duration::from_secs(15)),
            Duration::from_secs(585)
        );
        assert_eq!(
            time_budget(1_000_000 + 10_000, now, Duration::from_secs(15)),
            Duration::ZERO
        );
        assert_eq!(time_budget(0, now, Duration::from_secs(15)), Duration::ZERO);
    }

    #[test]
    fn job_errors_become_lambda_diagnostics() {
        let error = JobError::DeadlineBeforeStart {
            hour: Hour::parse("2026-11-28T00").unwrap(),
            step: sql::Step::CreateParquet,
        };
        let diagnostic = Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "MergeSmallFiles.DeadlineBeforeStart");
        assert_eq!(
            diagnostic.error_message,
            "hour 2026-11-28T00: deadline reached before starting the create_parquet query"
        );
    }
}
