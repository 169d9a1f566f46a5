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
    /// The config has meters of usage events, and the function has no usage-events table to
    /// read them from (the `EVENTS_*` variables are not set): billing now would bill them at
    /// zero. Nothing was done.
    #[error("the metering config {uri} has {} of usage events ({}), but this billing function was deployed without the usage events' table (the environment variables {} are not set), so it would bill {} at zero: deploy the stack with its `usage_events` section, then bill the month again", if .meters.len() == 1 { "a meter" } else { "meters" }, .meters.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "), crate::settings::EVENTS.join(", "), if .meters.len() == 1 { "it" } else { "them" })]
    EventsNotDeployed { uri: String, meters: Vec<String> },
    /// Hours of the month's window whose Parquet files miss JSON objects, of the access log
    /// (`hours`) or of the usage events (`events_hours`): billing them now would under-bill.
    /// Nothing was written; the hourly compaction repairs recent hours by itself, older ones
    /// need a backfill.
    #[error("{}", incomplete_month(.month, .hours, .events_hours))]
    IncompleteMonth {
        month: Month,
        /// The access log's hours: (`YYYY-MM-DDTHH`, what is wrong with it)
        hours: Vec<(String, String)>,
        /// The usage events' hours, alike (empty when the events are not checked).
        events_hours: Vec<(String, String)>,
    },
    /// An hour's manifest changed while the usage query ran: a compaction rewrote the hour's
    /// Parquet files meanwhile, so the query may have read them half-written.
    #[error("month {month}: {} re-compacted while the usage query ran ({}); nothing was written, bill the month again", plural(.hours.len() + .events_hours.len()), changed(.hours, .events_hours))]
    ChangedWhileBilled {
        month: Month,
        /// The access log's hours (`YYYY-MM-DDTHH`).
        hours: Vec<String>,
        /// The usage events' hours.
        events_hours: Vec<String>,
    },
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

/// How an hour of the usage events is named in messages; the access log's hours are named
/// by their folder hour alone.
const EVENTS_HOUR: &str = "usage events hour";

/// The message of [`BillingError::IncompleteMonth`]: with access-log hours only, as it was
/// before the function billed usage events.
fn incomplete_month(
    month: &Month,
    hours: &[(String, String)],
    events_hours: &[(String, String)],
) -> String {
    let them = |n: usize| if n == 1 { "it" } else { "them" };
    let access_log = format!("the compaction function's event {}", backfill(hours));
    let events = format!(
        "the usage events' compaction function's event {}",
        backfill(events_hours)
    );
    match (hours.is_empty(), events_hours.is_empty()) {
        (_, true) => format!(
            "month {month}: {} of the month's window not complete in the Parquet table, so the \
             month is not billed: {}; compact {} again ({access_log}), then bill the month again",
            plural(hours.len()),
            incomplete(hours, ""),
            them(hours.len()),
        ),
        (true, false) => format!(
            "month {month}: {} of the month's window not complete in the usage events' Parquet \
             table, so the month is not billed: {}; compact {} again ({events}), then bill the \
             month again",
            plural(events_hours.len()),
            incomplete(events_hours, EVENTS_HOUR),
            them(events_hours.len()),
        ),
        (false, false) => format!(
            "month {month}: {} of the month's window not complete in the Parquet table and {} in \
             the usage events' Parquet table, so the month is not billed: {}; {}; compact them \
             again ({access_log}; {events}), then bill the month again",
            plural(hours.len()),
            plural(events_hours.len()),
            incomplete(hours, ""),
            incomplete(events_hours, EVENTS_HOUR),
        ),
    }
}

/// The hours re-compacted, the usage events' named as such.
fn changed(hours: &[String], events_hours: &[String]) -> String {
    hours
        .iter()
        .cloned()
        .chain(events_hours.iter().map(|h| format!("{EVENTS_HOUR} {h}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The hours and what is wrong with them, each after `label` (if any).
fn incomplete(hours: &[(String, String)], label: &str) -> String {
    let label = if label.is_empty() {
        String::new()
    } else {
        format!("{label} ")
    };
    let mut text = hours
        .iter()
        .take(HOURS_SHOWN)
        .map(|(hour, state)| format!("{label}{hour} {state}"))
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
            Self::EventsNotDeployed { .. } => "EventsNotDeployed",
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
            Self::ConfigParse { .. }
            | Self::ConfigInvalid { .. }
            | Self::EventsNotDeployed { .. } => None,
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
    fn incomplete_hours_of_the_usage_events_are_named_as_such() {
        let month: Month = "2026-10".parse().unwrap();
        let hour = |h: &str, why: &str| (h.to_owned(), why.to_owned());
        let access_only = BillingError::IncompleteMonth {
            month,
            hours: vec![hour(
                "2026-10-05T07",
                "not compacted (1 JSON objects, no manifest)",
            )],
            events_hours: vec![],
        };
        assert_eq!(
            access_only.to_string(),
            "month 2026-10: 1 hour of the month's window not complete in the Parquet table, so \
             the month is not billed: 2026-10-05T07 not compacted (1 JSON objects, no \
             manifest); compact it again (the compaction function's event {\"hour\": \
             \"2026-10-05T07\"}), then bill the month again"
        );
        let events_only = BillingError::IncompleteMonth {
            month,
            hours: vec![],
            events_hours: vec![hour(
                "2026-10-03T04",
                "not compacted (2 JSON objects, no manifest)",
            )],
        };
        assert_eq!(
            events_only.to_string(),
            "month 2026-10: 1 hour of the month's window not complete in the usage events' \
             Parquet table, so the month is not billed: usage events hour 2026-10-03T04 not \
             compacted (2 JSON objects, no manifest); compact it again (the usage events' \
             compaction function's event {\"hour\": \"2026-10-03T04\"}), then bill the month \
             again"
        );
        let both = BillingError::IncompleteMonth {
            month,
            hours: vec![hour("2026-10-05T07", "stale")],
            events_hours: vec![
                hour("2026-10-03T04", "stale"),
                hour("2026-10-03T05", "stale"),
            ],
        };
        assert_eq!(
            both.to_string(),
            "month 2026-10: 1 hour of the month's window not complete in the Parquet table and \
             2 hours in the usage events' Parquet table, so the month is not billed: \
             2026-10-05T07 stale; usage events hour 2026-10-03T04 stale, usage events hour \
             2026-10-03T05 stale; compact them again (the compaction function's event \
             {\"hour\": \"2026-10-05T07\"}; the usage events' compaction function's event \
             {\"hours\": [\"2026-10-03T04\", \"2026-10-03T05\"]}), then bill the month again"
        );
        assert_eq!(both.kind(), "IncompleteMonth");

        let changed = BillingError::ChangedWhileBilled {
            month,
            hours: vec!["2026-10-05T03".to_owned()],
            events_hours: vec!["2026-10-03T04".to_owned()],
        };
        assert_eq!(
            changed.to_string(),
            "month 2026-10: 2 hours re-compacted while the usage query ran (2026-10-05T03, usage \
             events hour 2026-10-03T04); nothing was written, bill the month again"
        );
    }

    #[test]
    fn an_events_meter_without_the_events_table_names_the_meters_and_the_section() {
        let error = BillingError::EventsNotDeployed {
            uri: "s3://b/metering.json".to_owned(),
            meters: vec!["tokens".to_owned()],
        };
        assert_eq!(error.kind(), "EventsNotDeployed");
        assert_eq!(error.month(), None);
        assert_eq!(
            error.to_string(),
            "the metering config s3://b/metering.json has a meter of usage events (`tokens`), \
             but this billing function was deployed without the usage events' table (the \
             environment variables EVENTS_DATABASE, EVENTS_TABLE, EVENTS_JSON_LOCATION_PREFIX, \
             EVENTS_MANIFEST_PREFIX are not set), so it would bill it at zero: deploy the stack \
             with its `usage_events` section, then bill the month again"
        );
        let two = BillingError::EventsNotDeployed {
            uri: "s3://b/metering.json".to_owned(),
            meters: vec!["images".to_owned(), "tokens".to_owned()],
        };
        assert!(
            two.to_string()
                .contains("has meters of usage events (`images`, `tokens`)"),
            "{two}"
        );
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
