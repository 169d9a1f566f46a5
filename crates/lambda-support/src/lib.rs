//! What the Lambda functions of this workspace (`compaction`, `billing`) have in
//! common, kept here once so the two cannot drift apart:
//!
//! - [`sdk`]: the Athena and S3 clients (credentials from the environment only,
//!   `AWS_ENDPOINT_URL` with path-style S3, retries, timeouts, the 429/5xx classifier) and
//!   [`sdk::ApiError`], a failed API call with its [`sdk::ApiErrorKind`];
//! - [`logging`]: one JSON object per log line, for CloudWatch;
//! - [`athena`]: a query's state (and whether a failure is retryable), the
//!   [`athena::Athena`] calls both functions make (their tests fake it), and
//!   [`athena::SdkAthena`], those calls over the SDK;
//! - [`query`]: running a query to its end, [`query::run_query`] over a function's
//!   [`query::QueryJob`]: start, poll with [`query::Backoff`] up to a deadline, resubmit a
//!   retryable failure, stop it at the deadline or when its state cannot be read; and
//!   [`query::read_results`], every page of its results;
//! - [`lease`]: a lease lock in S3 (conditional writes), so that two runs never work on the
//!   same hour or month at once;
//! - [`manifest`]: which JSON objects an hour's Parquet files were made from, and whether an
//!   hour is complete, stale or not compacted;
//! - [`s3`]: the [`s3::S3`] calls both functions make (their tests fake them), [`s3::list_keys`]
//!   over every page, and [`s3::SdkS3`], those calls and the lease's conditional ones over the
//!   SDK;
//! - [`env`](mod@env): reading environment variables, naming the one at fault, and the checks
//!   of the values both functions take (Glue identifiers, work groups, minutes);
//! - [`sdk::Production`]: what a function's `main` runs on;
//! - [`time_budget`]: how long an invocation may run, and [`Run`]: when its work stops and who
//!   holds its leases.
//!
//! What differs stays in each function's crate: its settings, its queries, and its errors and
//! their kinds (`Compaction.<Kind>`, `Billing.<Kind>`), which hold a failed query as the
//! runner's [`query::QueryFailure`] beside what the query was for.
//!
//! Test code is behind features, so it is never built into a Lambda binary: `moto` (the
//! [`moto`] server harness of the wire tests) and `test-util` ([`testing`]).

pub mod athena;
pub mod env;
pub mod lease;
pub mod location;
pub mod logging;
pub mod manifest;
pub mod query;
pub mod s3;
pub mod sdk;

#[cfg(feature = "moto")]
pub mod moto;
#[cfg(feature = "test-util")]
pub mod testing;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::lease::{now_epoch_ms, Holder};

/// How long an invocation may run: from `now` to its deadline (milliseconds since the Unix
/// epoch, as Lambda gives it) less `margin`, the time kept back to stop and report.
pub fn time_budget(deadline_epoch_ms: u64, now: SystemTime, margin: Duration) -> Duration {
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    Duration::from_millis(deadline_epoch_ms)
        .saturating_sub(now)
        .saturating_sub(margin)
}

/// One run of a function: when its work must stop, and who holds the leases it takes.
#[derive(Debug, Clone)]
pub struct Run {
    pub deadline: Instant,
    pub holder: Holder,
}

impl Run {
    /// A Lambda invocation: its work stops `margin` before the invocation's deadline
    /// (milliseconds since the Unix epoch), and its request id holds the leases until that
    /// deadline (plus [`lease::LEASE_MARGIN`]).
    pub fn invocation(request_id: &str, deadline_epoch_ms: u64, margin: Duration) -> Self {
        let budget = time_budget(deadline_epoch_ms, SystemTime::now(), margin);
        Self {
            deadline: Instant::now() + budget,
            holder: Holder::invocation(request_id, deadline_epoch_ms),
        }
    }

    /// A run without a Lambda context (a test, a local run) whose work stops at `deadline`:
    /// `local-<epoch ms>` holds the leases until `deadline` plus `margin` (plus
    /// [`lease::LEASE_MARGIN`]).
    pub fn local(deadline: Instant, margin: Duration) -> Self {
        let now = now_epoch_ms();
        let left = deadline.saturating_duration_since(Instant::now()) + margin;
        Self {
            deadline,
            holder: Holder::invocation(
                &format!("local-{now}"),
                now.saturating_add(u64::try_from(left.as_millis()).unwrap_or(u64::MAX)),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_budget_keeps_the_safety_margin() {
        let now = UNIX_EPOCH + Duration::from_millis(1_000_000);
        // The cases compaction and billing checked, each with its own margin.
        assert_eq!(
            time_budget(1_000_000 + 600_000, now, Duration::from_secs(15)),
            Duration::from_secs(585)
        );
        assert_eq!(
            time_budget(1_000_000 + 900_000, now, Duration::from_secs(120)),
            Duration::from_secs(780)
        );
        assert_eq!(
            time_budget(1_000_000 + 10_000, now, Duration::from_secs(15)),
            Duration::ZERO
        );
        assert_eq!(
            time_budget(1_000_000 + 10_000, now, Duration::from_secs(120)),
            Duration::ZERO
        );
        assert_eq!(time_budget(0, now, Duration::from_secs(15)), Duration::ZERO);
    }
}
