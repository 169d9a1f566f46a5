//! Why an invocation failed.

use lambda_support::lease::{AcquireError, Locked};
use lambda_support::query::QueryFailure;
use lambda_support::s3::DeleteFailure;
use lambda_support::sdk::ApiError;
use metering::{ConfigError, Month};

use crate::event::{EventError, TooEarly};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillingError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    TooEarly(#[from] TooEarly),
    #[error("could not read the metering config {uri}: {error}")]
    ConfigRead { uri: String, error: ApiError },
    #[error("the metering config {uri} is not valid JSON for a metering config: {problem}")]
    ConfigParse { uri: String, problem: String },
    #[error("the metering config {uri} is invalid: {}", list(.errors))]
    ConfigInvalid {
        uri: String,
        errors: Vec<ConfigError>,
    },
    /// Another run holds the month's lease: nothing was done for it.
    #[error("month {month}: locked by another run: {locked}; nothing was done for this month")]
    Locked { month: Month, locked: Locked },
    /// The month's lease could not be taken: nothing was done for it.
    #[error("month {month}: could not take the lease {uri}: {error}")]
    LockFailed {
        month: Month,
        uri: String,
        error: ApiError,
    },
    /// Hours of the month's window whose Parquet files miss JSON objects: billing them now
    /// would under-bill. Nothing was written; the hourly compaction repairs recent hours by
    /// itself, older ones need a backfill.
    #[error("month {month}: {} of the month's window not complete in the Parquet table, so the month is not billed: {}; compact {} again (the compaction function's event {}), then bill the month again", plural(.hours.len()), incomplete(.hours), if .hours.len() == 1 { "it" } else { "them" }, backfill(.hours))]
    IncompleteMonth {
        month: Month,
        /// (`YYYY-MM-DDTHH`, what is wrong with it)
        hours: Vec<(String, String)>,
    },
    /// An hour's manifest changed while the usage query ran: a compaction rewrote the hour's
    /// Parquet files meanwhile, so the query may have read them half-written.
    #[error("month {month}: {} re-compacted while the usage query ran ({}); nothing was written, bill the month again", plural(.hours.len()), .hours.join(", "))]
    ChangedWhileBilled { month: Month, hours: Vec<String> },
    #[error("month {month}: could not tell whether every hour of the month is compacted: could not {action} {uri}: {error}")]
    Completeness {
        month: Month,
        action: &'static str,
        uri: String,
        error: ApiError,
    },
    #[error("month {month}: the Lambda deadline came before the usage query could start")]
    DeadlineBeforeStart { month: Month },
    /// A preview too large for a synchronous response.
    #[error("month {month}: the preview of {tenants} tenant(s) has {bytes} bytes, more than a Lambda response may carry ({max} bytes here); preview one tenant with \"tenant\"", max = crate::MAX_PREVIEW_BYTES)]
    PreviewTooLarge {
        month: Month,
        bytes: usize,
        tenants: usize,
    },
    /// The usage query failed, or its results could not be read.
    #[error("month {month}: {}", .failure.describe("usage"))]
    Query { month: Month, failure: QueryFailure },
    #[error("month {month}: could not price the invoices: {problem}")]
    Price { month: Month, problem: String },
    /// The invoice files do not fit the month's folder: a bug, not bad input.
    #[error("month {month}: the invoice files cannot be written: {problem}")]
    Files { month: Month, problem: String },
    #[error("month {month}: could not write {uri}: {error}")]
    Put {
        month: Month,
        uri: String,
        error: ApiError,
    },
    #[error("month {month}: could not list {uri} for invoices left from an earlier run: {error}")]
    List {
        month: Month,
        uri: String,
        error: ApiError,
    },
    #[error("month {month}: could not delete stale invoices in {uri}: {error}")]
    Delete {
        month: Month,
        uri: String,
        error: ApiError,
    },
    #[error("month {month}: S3 refused to delete stale invoices in {uri}: {}", refused(.failures))]
    DeleteRefused {
        month: Month,
        uri: String,
        failures: Vec<DeleteFailure>,
    },
}

/// Most hours named in an error message.
const HOURS_SHOWN: usize = 24;

fn plural(hours: usize) -> String {
    if hours == 1 {
        "1 hour".to_owned()
    } else {
        format!("{hours} hours")
    }
}

fn incomplete(hours: &[(String, String)]) -> String {
    let mut text = hours
        .iter()
        .take(HOURS_SHOWN)
        .map(|(hour, state)| format!("{hour} {state}"))
        .collect::<Vec<_>>()
        .join(", ");
    if hours.len() > HOURS_SHOWN {
        text.push_str(&format!(" and {} more", hours.len() - HOURS_SHOWN));
    }
    text
}

fn backfill(hours: &[(String, String)]) -> String {
    match hours {
        [(hour, _)] => format!("{{\"hour\": \"{hour}\"}}"),
        _ => format!(
            "{{\"hours\": [{}]}}",
            hours
                .iter()
                .take(HOURS_SHOWN)
                .map(|(hour, _)| format!("\"{hour}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn list(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(|e| format!("at `{}`: {}", e.path, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

fn refused(failures: &[DeleteFailure]) -> String {
    failures
        .iter()
        .map(|f| format!("{} ({}: {})", f.key, f.code, f.message))
        .collect::<Vec<_>>()
        .join(", ")
}

impl BillingError {
    /// The error for a month whose lease could not be taken.
    pub fn lease(month: Month, error: AcquireError) -> Self {
        match error {
            AcquireError::Locked(locked) => Self::Locked { month, locked },
            AcquireError::Failed { uri, error } => Self::LockFailed { month, uri, error },
        }
    }

    /// Short name for the Lambda error type and logs. A call that stayed throttled or timed
    /// out through the SDK's retries is named for that, whichever call it was.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Event(error) => error.kind(),
            Self::TooEarly(_) => "MonthNotComplete",
            Self::ConfigRead { error, .. } => error.kind_name("ConfigReadFailed"),
            Self::ConfigParse { .. } | Self::ConfigInvalid { .. } => "InvalidConfig",
            Self::Locked { .. } => "Locked",
            Self::LockFailed { error, .. } => error.kind_name("LockFailed"),
            Self::IncompleteMonth { .. } => "IncompleteMonth",
            Self::ChangedWhileBilled { .. } => "ChangedWhileBilled",
            Self::Completeness { error, .. } => error.kind_name("CompletenessCheckFailed"),
            Self::DeadlineBeforeStart { .. } => "DeadlineBeforeStart",
            Self::PreviewTooLarge { .. } => "PreviewTooLarge",
            Self::Query { failure, .. } => failure.kind(),
            Self::Price { .. } => "PricingFailed",
            Self::Files { .. } => "InvoiceFilesInvalid",
            Self::Put { error, .. } => error.kind_name("S3PutFailed"),
            Self::List { error, .. } => error.kind_name("S3ListFailed"),
            Self::Delete { error, .. } => error.kind_name("S3DeleteFailed"),
            Self::DeleteRefused { .. } => "S3DeleteRefused",
        }
    }

    /// The month being billed, once known.
    pub fn month(&self) -> Option<Month> {
        match self {
            Self::Event(EventError::Current { month, .. } | EventError::Future { month, .. }) => {
                Some(*month)
            }
            Self::Event(_) | Self::ConfigRead { .. } => None,
            Self::ConfigParse { .. } | Self::ConfigInvalid { .. } => None,
            Self::TooEarly(e) => Some(e.month),
            Self::Locked { month, .. }
            | Self::LockFailed { month, .. }
            | Self::DeadlineBeforeStart { month }
            | Self::PreviewTooLarge { month, .. }
            | Self::IncompleteMonth { month, .. }
            | Self::ChangedWhileBilled { month, .. }
            | Self::Completeness { month, .. }
            | Self::Query { month, .. }
            | Self::Price { month, .. }
            | Self::Files { month, .. }
            | Self::Put { month, .. }
            | Self::List { month, .. }
            | Self::Delete { month, .. }
            | Self::DeleteRefused { month, .. } => Some(*month),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_support::sdk::ApiErrorKind;

    #[test]
    fn config_errors_list_every_path() {
        let error = BillingError::ConfigInvalid {
            uri: "s3://b/metering.json".to_owned(),
            errors: vec![
                ConfigError {
                    path: "late_arrival_hours".to_owned(),
                    message: "must be between 1 and 22, not 0".to_owned(),
                },
                ConfigError {
                    path: "meters.Bad".to_owned(),
                    message: "bad name".to_owned(),
                },
            ],
        };
        assert_eq!(
            error.to_string(),
            "the metering config s3://b/metering.json is invalid: at `late_arrival_hours`: \
             must be between 1 and 22, not 0; at `meters.Bad`: bad name"
        );
        assert_eq!(error.kind(), "InvalidConfig");
    }

    #[test]
    fn throttling_and_timeouts_are_named_whichever_call_it_was() {
        let month: Month = "2026-10".parse().unwrap();
        let put = |kind| BillingError::Put {
            month,
            uri: "s3://b/k".to_owned(),
            error: ApiError {
                message: "PutObject failed".to_owned(),
                kind,
            },
        };
        assert_eq!(put(ApiErrorKind::Throttled).kind(), "Throttled");
        assert_eq!(put(ApiErrorKind::TimedOut).kind(), "ApiTimedOut");
        assert_eq!(put(ApiErrorKind::Other).kind(), "S3PutFailed");
        assert_eq!(put(ApiErrorKind::Other).month(), Some(month));
    }

    #[test]
    fn a_locked_month_is_its_own_kind() {
        use lambda_support::lease::Busy;
        let month: Month = "2026-10".parse().unwrap();
        let error = BillingError::lease(
            month,
            AcquireError::Locked(Locked {
                uri: "s3://results/locks/billing/2026-10".to_owned(),
                busy: Busy::Raced {
                    answer: "409 ConditionalRequestConflict",
                },
            }),
        );
        assert_eq!(error.kind(), "Locked");
        assert_eq!(error.month(), Some(month));
        assert_eq!(
            error.to_string(),
            "month 2026-10: locked by another run: another run wrote \
             s3://results/locks/billing/2026-10 at the same moment \
             (409 ConditionalRequestConflict); try again later; nothing was done for this month"
        );
        let failed = BillingError::lease(
            month,
            AcquireError::Failed {
                uri: "s3://results/locks/billing/2026-10".to_owned(),
                error: ApiError::new("GetObject failed: AccessDenied (HTTP 403)"),
            },
        );
        assert_eq!(failed.kind(), "LockFailed");
    }
}
