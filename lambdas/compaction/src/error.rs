//! What can go wrong: for one hour ([`HourError`]) and for an invocation ([`JobError`]).

use std::fmt;

use lambda_support::lease::{AcquireError, Locked};
use lambda_support::query::QueryFailure;
use lambda_support::sdk::ApiError;

use crate::event::EventError;
use crate::folder::FolderError;
use crate::hour::Hour;
use crate::sql::Step;
use crate::survey::SurveyError;

/// The part of an hour's work that did not start because the deadline had come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    ListJson,
    ClearParquet,
    Query(Step),
    WriteManifest,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::ListJson => f.write_str("listing the JSON folder"),
            Phase::ClearParquet => f.write_str("emptying the Parquet folder"),
            Phase::Query(step) => write!(f, "starting the {step} query"),
            Phase::WriteManifest => f.write_str("writing the hour's manifest"),
        }
    }
}

/// What was done to an hour's manifest when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestAction {
    Delete,
    Write,
}

impl fmt::Display for ManifestAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ManifestAction::Delete => "delete",
            ManifestAction::Write => "write",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HourError {
    #[error("hour {hour}: deadline reached before {next}")]
    DeadlineBeforeStart { hour: Hour, next: Phase },
    #[error("hour {hour}: could not list the JSON folder {folder}: {error}")]
    ListJson {
        hour: Hour,
        folder: String,
        error: ApiError,
    },
    #[error("hour {hour}: could not empty the Parquet folder {folder}: {error}")]
    ClearParquet {
        hour: Hour,
        folder: String,
        error: FolderError,
    },
    /// The manifest of the hour could not be deleted before its Parquet files were rewritten
    /// (`Delete`) or written after (`Write`): the hour stays without one, so the next
    /// scheduled run compacts it again and billing refuses the month until then.
    #[error("hour {hour}: could not {action} the manifest {uri}: {error}")]
    Manifest {
        hour: Hour,
        action: ManifestAction,
        uri: String,
        error: ApiError,
    },
    /// Another run holds the hour's lease: nothing was done for it.
    #[error("hour {hour}: locked by another run: {locked}; nothing was done for this hour")]
    Locked { hour: Hour, locked: Locked },
    /// The hour's lease could not be taken: nothing was done for it.
    #[error("hour {hour}: could not take the lease {uri}: {error}")]
    LockFailed {
        hour: Hour,
        uri: String,
        error: ApiError,
    },
    /// The query of `step` failed, or its results could not be read.
    #[error("hour {hour}: {}", .failure.describe(.step))]
    Query {
        hour: Hour,
        step: Step,
        failure: QueryFailure,
    },
}

impl HourError {
    /// The error for an hour whose lease could not be taken.
    pub fn lease(hour: Hour, error: AcquireError) -> Self {
        match error {
            AcquireError::Locked(locked) => Self::Locked { hour, locked },
            AcquireError::Failed { uri, error } => Self::LockFailed { hour, uri, error },
        }
    }

    /// Short name for the Lambda error type and logs. A call that stayed throttled or timed
    /// out through the SDK's retries is named for that, whichever call it was.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::DeadlineBeforeStart { .. } => "DeadlineBeforeStart",
            Self::Locked { .. } => "Locked",
            Self::LockFailed { error, .. } => error.kind_name("LockFailed"),
            Self::ListJson { error, .. } => error.kind_name("S3ListFailed"),
            Self::Manifest {
                action: ManifestAction::Delete,
                error,
                ..
            } => error.kind_name("S3DeleteFailed"),
            Self::Manifest {
                action: ManifestAction::Write,
                error,
                ..
            } => error.kind_name("S3PutFailed"),
            Self::ClearParquet { error, .. } => match error {
                FolderError::List(error) => error.kind_name("S3ListFailed"),
                FolderError::Delete(error) => error.kind_name("S3DeleteFailed"),
                FolderError::Refused(_) => "S3DeleteRefused",
            },
            Self::Query { failure, .. } => failure.kind(),
        }
    }
}

/// Why an invocation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Event(#[from] EventError),
    /// The scheduled run could not tell which hours need compacting; none was compacted.
    #[error("{0}; no hour was compacted")]
    Survey(#[from] SurveyError),
    /// An hour failed; the hours after it were not started.
    #[error("{error}{}", progress(.done, .left))]
    Hour {
        error: HourError,
        /// Hours finished before it.
        done: Vec<Hour>,
        /// The failed hour and the ones after it.
        left: Vec<Hour>,
    },
    /// Too little time was left to start the next hour.
    #[error("stopped before hour {}: too little time left before the Lambda deadline{}", .left[0], progress(.done, .left))]
    OutOfTime { done: Vec<Hour>, left: Vec<Hour> },
}

impl JobError {
    /// Short name for the Lambda error type and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Event(_) => "InvalidEvent",
            Self::Survey(error) => error.error.kind_name("SurveyFailed"),
            Self::Hour { error, .. } => error.kind(),
            Self::OutOfTime { .. } => "OutOfTime",
        }
    }
}

/// Where a multi-hour invocation got to, and the event that finishes it.
fn progress(done: &[Hour], left: &[Hour]) -> String {
    if done.is_empty() && left.len() <= 1 {
        return String::new();
    }
    let list = |hours: &[Hour]| {
        if hours.is_empty() {
            "none".to_owned()
        } else {
            hours
                .iter()
                .map(Hour::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let rest = serde_json::json!({
        "hours": left.iter().map(Hour::to_string).collect::<Vec<_>>()
    });
    format!(
        "; hours done: {}; hours left: {} (invoke again with {rest})",
        list(done),
        list(left)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_support::athena::QueryState;
    use lambda_support::query::Earlier;
    use lambda_support::sdk::ApiErrorKind;

    fn hours(values: &[&str]) -> Vec<Hour> {
        values.iter().map(|v| Hour::parse(v).unwrap()).collect()
    }

    #[test]
    fn single_hour_errors_read_as_before() {
        let error = HourError::DeadlineBeforeStart {
            hour: hours(&["2026-11-28T00"])[0],
            next: Phase::Query(Step::Ctas),
        };
        let job = JobError::Hour {
            error,
            done: vec![],
            left: hours(&["2026-11-28T00"]),
        };
        assert_eq!(
            job.to_string(),
            "hour 2026-11-28T00: deadline reached before starting the ctas query"
        );
        assert_eq!(job.kind(), "DeadlineBeforeStart");
    }

    #[test]
    fn backfill_errors_list_hours_done_and_left() {
        let left = hours(&["2026-11-01T07", "2026-11-01T08"]);
        let job = JobError::Hour {
            error: HourError::Query {
                hour: left[0],
                step: Step::Ctas,
                failure: QueryFailure::Ended {
                    query_execution_id: "q-7".to_owned(),
                    state: QueryState::Cancelled,
                    reason: "cancelled by user".to_owned(),
                    earlier: Earlier::default(),
                },
            },
            done: hours(&["2026-11-01T05", "2026-11-01T06"]),
            left: left.clone(),
        };
        assert_eq!(
            job.to_string(),
            "hour 2026-11-01T07: the ctas query (query execution id q-7) ended CANCELLED: \
             cancelled by user; hours done: 2026-11-01T05, 2026-11-01T06; \
             hours left: 2026-11-01T07, 2026-11-01T08 \
             (invoke again with {\"hours\":[\"2026-11-01T07\",\"2026-11-01T08\"]})"
        );
        assert_eq!(job.kind(), "QueryCancelled");

        let job = JobError::OutOfTime {
            done: vec![],
            left: left.clone(),
        };
        assert_eq!(
            job.to_string(),
            "stopped before hour 2026-11-01T07: too little time left before the Lambda \
             deadline; hours done: none; hours left: 2026-11-01T07, 2026-11-01T08 \
             (invoke again with {\"hours\":[\"2026-11-01T07\",\"2026-11-01T08\"]})"
        );
        assert_eq!(job.kind(), "OutOfTime");
    }

    #[test]
    fn api_error_kinds_name_throttling_and_timeouts() {
        let hour = hours(&["2026-11-28T00"])[0];
        let start = |kind| HourError::Query {
            hour,
            step: Step::Count,
            failure: QueryFailure::Submit {
                error: ApiError {
                    message: "StartQueryExecution failed".to_owned(),
                    kind,
                },
                earlier: Earlier::default(),
            },
        };
        assert_eq!(start(ApiErrorKind::Throttled).kind(), "Throttled");
        assert_eq!(start(ApiErrorKind::TimedOut).kind(), "ApiTimedOut");
        assert_eq!(start(ApiErrorKind::Other).kind(), "StartQueryFailed");
        let clear = |error| HourError::ClearParquet {
            hour,
            folder: "s3://b/p/".to_owned(),
            error,
        };
        assert_eq!(
            clear(FolderError::Delete(ApiError::new("x"))).kind(),
            "S3DeleteFailed"
        );
        assert_eq!(
            clear(FolderError::List(ApiError::new("x"))).kind(),
            "S3ListFailed"
        );
        assert_eq!(
            clear(FolderError::Refused(vec![])).kind(),
            "S3DeleteRefused"
        );
    }

    #[test]
    fn lease_errors_name_the_hour_and_the_holder() {
        use lambda_support::lease::{Busy, LeaseRecord};
        let hour = hours(&["2026-11-01T05"])[0];
        let locked = HourError::lease(
            hour,
            AcquireError::Locked(Locked {
                uri: "s3://results/locks/compaction/2026110105".to_owned(),
                busy: Busy::Held(LeaseRecord {
                    holder: "req-0".to_owned(),
                    token: "t-0".to_owned(),
                    acquired_at_ms: 1_800_000_000_000,
                    expires_at_ms: 1_800_000_930_000,
                }),
            }),
        );
        assert_eq!(locked.kind(), "Locked");
        assert_eq!(
            locked.to_string(),
            "hour 2026-11-01T05: locked by another run: s3://results/locks/compaction/2026110105 \
             is held by req-0 until 2027-01-15T08:15:30.000Z (acquired 2027-01-15T08:00:00.000Z); \
             nothing was done for this hour"
        );
        let failed = |kind| {
            HourError::lease(
                hour,
                AcquireError::Failed {
                    uri: "s3://results/locks/compaction/2026110105".to_owned(),
                    error: ApiError {
                        message: "PutObject failed: SlowDown (HTTP 503)".to_owned(),
                        kind,
                    },
                },
            )
        };
        assert_eq!(failed(ApiErrorKind::Other).kind(), "LockFailed");
        assert_eq!(failed(ApiErrorKind::Throttled).kind(), "Throttled");
        assert_eq!(
            failed(ApiErrorKind::Other).to_string(),
            "hour 2026-11-01T05: could not take the lease \
             s3://results/locks/compaction/2026110105: PutObject failed: SlowDown (HTTP 503)"
        );
    }
}
