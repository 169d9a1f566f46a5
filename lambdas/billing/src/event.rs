//! Which month an invocation bills, and whether it may be billed yet.
//!
//! - an EventBridge scheduled event (`"detail-type": "Scheduled Event"`, `"time"`): the month
//!   before the one `time` falls in (UTC);
//! - `{"month": "YYYY-MM"}`: that month;
//! - `{"month": "YYYY-MM", "preview": true}`, optionally with `"tenant": "<id>"`: a preview of
//!   that month's usage and priced invoices so far, which writes nothing and is allowed for
//!   the current month too (not for a future one).
//!
//! A month may be billed once it is over and its late-arrival window (the first
//! `late_arrival_hours` of the next month, whose folders the usage query also reads) has
//! passed, plus `BILLING_DELAY_MINUTES` for the hourly compaction to have written that
//! window's last hour to Parquet. Both checks use the wall clock, for scheduled events too: a
//! schedule that fires too early fails loudly instead of billing incomplete usage.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use metering::{Month, MonthError};
use serde_json::{Map, Value};

const SHAPES: &str = "expected {\"month\": \"YYYY-MM\"} (with \"preview\": true and an optional \
                      \"tenant\" for a preview) or an EventBridge scheduled event with \"time\"";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event is not a JSON object; {SHAPES}")]
    NotAnObject,
    #[error("event has neither \"month\" nor \"time\"; {SHAPES}")]
    NoMonth,
    #[error("event has both \"month\" and \"time\"; give one: {SHAPES}")]
    Ambiguous,
    #[error("event has unknown field(s) {fields}; {SHAPES}")]
    UnknownFields { fields: String },
    #[error("event of type {detail_type:?} is not supported; {SHAPES}")]
    NotScheduled { detail_type: String },
    #[error("event field \"{field}\" must be a string, got {got}")]
    NotAString { field: &'static str, got: String },
    #[error("event field \"preview\" must be true or false, got {got}")]
    NotABool { got: String },
    #[error("event field \"tenant\" is only allowed with \"preview\": true; {SHAPES}")]
    TenantWithoutPreview,
    #[error("event field \"tenant\" must not be empty")]
    EmptyTenant,
    #[error("event field \"{field}\" needs \"month\", not a scheduled event's \"time\"; {SHAPES}")]
    PreviewWithoutMonth { field: &'static str },
    #[error("event field \"month\": {0}")]
    BadMonth(MonthError),
    #[error(
        "event field \"time\" = {value:?} is not an RFC 3339 timestamp like 2026-11-01T04:10:00Z"
    )]
    BadTime { value: String },
    #[error(
        "month {month} is the current month (now {now}); only a month that is over can be billed"
    )]
    Current { month: Month, now: String },
    #[error("month {month} is in the future (now {now}); only a month that is over can be billed")]
    Future { month: Month, now: String },
}

impl EventError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Current { .. } | Self::Future { .. } => "MonthNotOver",
            _ => "InvalidEvent",
        }
    }
}

/// The month is over but its usage may still be incomplete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "month {month} cannot be billed before {billable_from}: its late-arrival window \
     (late_arrival_hours = {late_arrival_hours}) ends at {window_end} and billing waits \
     BILLING_DELAY_MINUTES = {delay_minutes} more for the last hour's compaction (now {now})"
)]
pub struct TooEarly {
    pub month: Month,
    pub late_arrival_hours: u32,
    pub delay_minutes: u32,
    pub window_end: String,
    pub billable_from: String,
    pub now: String,
}

/// What an invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Bill the month: write its invoices.
    Bill(Month),
    /// Return the month's usage and priced invoices so far, of one tenant or of all; write
    /// nothing.
    Preview {
        month: Month,
        tenant: Option<String>,
    },
}

impl Request {
    pub fn month(&self) -> Month {
        match self {
            Request::Bill(month) | Request::Preview { month, .. } => *month,
        }
    }
}

/// What `event` asks for. A month to bill is refused unless it is over at `now`; a preview
/// is refused for a month that has not begun.
pub fn request_from_event(event: &Value, now: DateTime<Utc>) -> Result<Request, EventError> {
    let object = event.as_object().ok_or(EventError::NotAnObject)?;
    let request = match (object.get("month"), object.get("time")) {
        (Some(_), Some(_)) => return Err(EventError::Ambiguous),
        (Some(month), None) => explicit(object, month)?,
        (None, Some(time)) => Request::Bill(scheduled(object, time)?),
        (None, None) => return Err(EventError::NoMonth),
    };
    let month = request.month();
    let current = current_month(now);
    if month == current && matches!(request, Request::Bill(_)) {
        return Err(EventError::Current {
            month,
            now: timestamp(now),
        });
    }
    if month > current {
        return Err(EventError::Future {
            month,
            now: timestamp(now),
        });
    }
    Ok(request)
}

/// `{"month": …}`, with `"preview"` and `"tenant"` for a preview.
fn explicit(object: &Map<String, Value>, month: &Value) -> Result<Request, EventError> {
    let unknown: Vec<String> = object
        .keys()
        .filter(|key| !matches!(key.as_str(), "month" | "preview" | "tenant"))
        .map(|key| format!("{key:?}"))
        .collect();
    if !unknown.is_empty() {
        return Err(EventError::UnknownFields {
            fields: unknown.join(", "),
        });
    }
    let month: Month = string("month", month)?
        .parse()
        .map_err(EventError::BadMonth)?;
    let preview = match object.get("preview") {
        None => false,
        Some(value) => value.as_bool().ok_or_else(|| EventError::NotABool {
            got: value.to_string(),
        })?,
    };
    let tenant = match object.get("tenant") {
        None => None,
        Some(value) => match string("tenant", value)? {
            "" => return Err(EventError::EmptyTenant),
            tenant => Some(tenant.to_owned()),
        },
    };
    match (preview, tenant) {
        (false, None) => Ok(Request::Bill(month)),
        (false, Some(_)) => Err(EventError::TenantWithoutPreview),
        (true, tenant) => Ok(Request::Preview { month, tenant }),
    }
}

fn scheduled(object: &Map<String, Value>, time: &Value) -> Result<Month, EventError> {
    // A preview asked for with `time` must not bill.
    for field in ["preview", "tenant"] {
        if object.contains_key(field) {
            return Err(EventError::PreviewWithoutMonth { field });
        }
    }
    if let Some(detail_type) = object.get("detail-type") {
        let detail_type = string("detail-type", detail_type)?;
        if detail_type != "Scheduled Event" {
            return Err(EventError::NotScheduled {
                detail_type: detail_type.to_owned(),
            });
        }
    }
    let time = string("time", time)?;
    let bad = || EventError::BadTime {
        value: time.to_owned(),
    };
    let at = DateTime::parse_from_rfc3339(time).map_err(|_| bad())?;
    let month = Month::containing(at.timestamp_millis()).ok_or_else(bad)?;
    // January 1970 has no month before it that Month can hold.
    if month == Month::new(1970, 1).expect("a valid month") {
        return Err(bad());
    }
    Ok(month.previous())
}

fn string<'a>(field: &'static str, value: &'a Value) -> Result<&'a str, EventError> {
    value.as_str().ok_or_else(|| EventError::NotAString {
        field,
        got: value.to_string(),
    })
}

fn current_month(now: DateTime<Utc>) -> Month {
    Month::containing(now.timestamp_millis()).expect("the clock is after 1970")
}

/// When `month`'s late-arrival window ends: `late_arrival_hours` into the next month.
pub fn window_end(month: Month, late_arrival_hours: u32) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(month.end_ms()).expect("a month's end is a valid time")
        + Duration::hours(i64::from(late_arrival_hours))
}

/// The earliest time `month` may be billed: the window's end plus `delay_minutes`.
pub fn billable_from(month: Month, late_arrival_hours: u32, delay_minutes: u32) -> DateTime<Utc> {
    window_end(month, late_arrival_hours) + Duration::minutes(i64::from(delay_minutes))
}

/// Refuses `month` until [`billable_from`].
pub fn check_billable(
    month: Month,
    now: DateTime<Utc>,
    late_arrival_hours: u32,
    delay_minutes: u32,
) -> Result<(), TooEarly> {
    let from = billable_from(month, late_arrival_hours, delay_minutes);
    if now >= from {
        return Ok(());
    }
    Err(TooEarly {
        month,
        late_arrival_hours,
        delay_minutes,
        window_end: timestamp(window_end(month, late_arrival_hours)),
        billable_from: timestamp(from),
        now: timestamp(now),
    })
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_support::testing::scheduled_event;
    use serde_json::json;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn month(text: &str) -> Month {
        text.parse().unwrap()
    }

    fn scheduled_at(time: &str) -> Value {
        scheduled_event("monthly-billing", time)
    }

    /// The month a billing event asks for.
    fn month_from_event(event: &Value, now: DateTime<Utc>) -> Result<Month, EventError> {
        request_from_event(event, now).map(|request| match request {
            Request::Bill(month) => month,
            preview => panic!("{event} asks for {preview:?}, not billing"),
        })
    }

    #[test]
    fn a_scheduled_event_bills_the_month_before_its_own() {
        let now = at("2026-11-01T04:10:03Z");
        let event = scheduled_at("2026-11-01T04:10:00Z");
        assert_eq!(month_from_event(&event, now), Ok(month("2026-10")));
        // Any time of the month, also its last millisecond.
        let event = scheduled_at("2026-11-30T23:59:59.999Z");
        assert_eq!(
            month_from_event(&event, at("2026-12-02T00:00:00Z")),
            Ok(month("2026-10"))
        );
        // Offsets count in UTC: 01:30+02:00 on 1 November is 23:30 UTC on 31 October.
        let event = scheduled_at("2026-11-01T01:30:00+02:00");
        assert_eq!(month_from_event(&event, now), Ok(month("2026-09")));
    }

    #[test]
    fn a_scheduled_event_in_january_bills_december_of_the_year_before() {
        let event = scheduled_at("2027-01-01T04:10:00Z");
        assert_eq!(
            month_from_event(&event, at("2027-01-01T04:10:01Z")),
            Ok(month("2026-12"))
        );
    }

    #[test]
    fn an_explicit_month_is_billed_when_it_is_over() {
        let now = at("2026-11-15T12:00:00Z");
        assert_eq!(
            month_from_event(&json!({"month": "2026-10"}), now),
            Ok(month("2026-10"))
        );
        assert_eq!(
            month_from_event(&json!({"month": "2019-02"}), now),
            Ok(month("2019-02"))
        );
    }

    #[test]
    fn the_current_and_future_months_are_refused() {
        let now = at("2026-11-15T12:00:00Z");
        let err = month_from_event(&json!({"month": "2026-11"}), now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "month 2026-11 is the current month (now 2026-11-15T12:00:00Z); only a month that \
             is over can be billed"
        );
        assert_eq!(err.kind(), "MonthNotOver");
        let err = month_from_event(&json!({"month": "2027-01"}), now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "month 2027-01 is in the future (now 2026-11-15T12:00:00Z); only a month that is \
             over can be billed"
        );
        // A schedule whose time is ahead of the clock names a month that is not over.
        let err = month_from_event(&scheduled_at("2026-12-01T04:10:00Z"), now).unwrap_err();
        assert!(matches!(err, EventError::Current { .. }), "{err:?}");
    }

    #[test]
    fn a_month_is_refused_until_its_late_arrival_window_and_the_delay_have_passed() {
        let october = month("2026-10");
        assert_eq!(
            window_end(october, 3),
            at("2026-11-01T03:00:00Z"),
            "3 hours into November"
        );
        assert_eq!(billable_from(october, 3, 60), at("2026-11-01T04:00:00Z"));
        let err = check_billable(october, at("2026-11-01T02:00:00Z"), 3, 60).unwrap_err();
        assert_eq!(
            err.to_string(),
            "month 2026-10 cannot be billed before 2026-11-01T04:00:00Z: its late-arrival \
             window (late_arrival_hours = 3) ends at 2026-11-01T03:00:00Z and billing waits \
             BILLING_DELAY_MINUTES = 60 more for the last hour's compaction \
             (now 2026-11-01T02:00:00Z)"
        );
        assert!(check_billable(october, at("2026-11-01T03:59:59Z"), 3, 60).is_err());
        assert!(check_billable(october, at("2026-11-01T04:00:00Z"), 3, 60).is_ok());
        assert!(check_billable(october, at("2026-11-01T04:10:00Z"), 3, 60).is_ok());
        // December's window reaches into the next year.
        assert!(check_billable(month("2026-12"), at("2027-01-01T22:59:00Z"), 22, 60).is_err());
        assert!(check_billable(month("2026-12"), at("2027-01-01T23:00:00Z"), 22, 60).is_ok());
    }

    #[test]
    fn garbage_is_refused_with_a_clear_message() {
        let now = at("2026-11-15T12:00:00Z");
        let cases = [
            (json!("2026-10"), "event is not a JSON object; expected {\"month\": \"YYYY-MM\"} (with \"preview\": true and an optional \"tenant\" for a preview) or an EventBridge scheduled event with \"time\""),
            (json!({}), "event has neither \"month\" nor \"time\"; expected {\"month\": \"YYYY-MM\"} (with \"preview\": true and an optional \"tenant\" for a preview) or an EventBridge scheduled event with \"time\""),
            (json!({"month": "2026-13"}), "event field \"month\": `2026-13` is not a month: expected YYYY-MM, e.g. 2026-10"),
            (json!({"month": "October"}), "event field \"month\": `October` is not a month: expected YYYY-MM, e.g. 2026-10"),
            (json!({"month": 202610}), "event field \"month\" must be a string, got 202610"),
            (json!({"month": "2026-10", "region": "eu-west-1"}), "event has unknown field(s) \"region\"; expected {\"month\": \"YYYY-MM\"} (with \"preview\": true and an optional \"tenant\" for a preview) or an EventBridge scheduled event with \"time\""),
            (json!({"month": "2026-10", "time": "2026-11-01T04:10:00Z"}), "event has both \"month\" and \"time\"; give one: expected {\"month\": \"YYYY-MM\"} (with \"preview\": true and an optional \"tenant\" for a preview) or an EventBridge scheduled event with \"time\""),
            (json!({"time": "yesterday"}), "event field \"time\" = \"yesterday\" is not an RFC 3339 timestamp like 2026-11-01T04:10:00Z"),
            (json!({"time": "1970-01-05T00:00:00Z"}), "event field \"time\" = \"1970-01-05T00:00:00Z\" is not an RFC 3339 timestamp like 2026-11-01T04:10:00Z"),
            (json!({"detail-type": "Object Created", "time": "2026-11-01T04:10:00Z"}), "event of type \"Object Created\" is not supported; expected {\"month\": \"YYYY-MM\"} (with \"preview\": true and an optional \"tenant\" for a preview) or an EventBridge scheduled event with \"time\""),
        ];
        for (event, message) in cases {
            let err = month_from_event(&event, now).unwrap_err();
            assert_eq!(err.to_string(), message, "{event}");
            assert_eq!(err.kind(), "InvalidEvent");
        }
    }

    #[test]
    fn a_preview_may_ask_for_the_current_month_and_one_tenant() {
        let now = at("2026-11-15T12:00:00Z");
        let preview = |event: Value| request_from_event(&event, now);
        assert_eq!(
            preview(json!({"month": "2026-11", "preview": true})),
            Ok(Request::Preview {
                month: month("2026-11"),
                tenant: None
            })
        );
        assert_eq!(
            preview(json!({"month": "2026-10", "preview": true, "tenant": "verify-3f9a"})),
            Ok(Request::Preview {
                month: month("2026-10"),
                tenant: Some("verify-3f9a".to_owned())
            })
        );
        // `false` is a billing event like one without the field.
        assert_eq!(
            preview(json!({"month": "2026-10", "preview": false})),
            Ok(Request::Bill(month("2026-10")))
        );
        let refused = [
            (json!({"month": "2026-12", "preview": true}), "month 2026-12 is in the future (now 2026-11-15T12:00:00Z); only a month that is over can be billed"),
            (json!({"month": "2026-11", "preview": false}), "month 2026-11 is the current month (now 2026-11-15T12:00:00Z); only a month that is over can be billed"),
            (json!({"month": "2026-10", "preview": "yes"}), "event field \"preview\" must be true or false, got \"yes\""),
            (json!({"month": "2026-10", "tenant": "acme"}), "event field \"tenant\" is only allowed with \"preview\": true; expected {\"month\": \"YYYY-MM\"} (with \"preview\": true and an optional \"tenant\" for a preview) or an EventBridge scheduled event with \"time\""),
            (json!({"month": "2026-10", "preview": true, "tenant": ""}), "event field \"tenant\" must not be empty"),
            (json!({"month": "2026-10", "preview": true, "tenant": 7}), "event field \"tenant\" must be a string, got 7"),
            (json!({"time": "2026-11-01T04:10:00Z", "preview": true}), "event field \"preview\" needs \"month\", not a scheduled event's \"time\"; expected {\"month\": \"YYYY-MM\"} (with \"preview\": true and an optional \"tenant\" for a preview) or an EventBridge scheduled event with \"time\""),
        ];
        for (event, message) in refused {
            assert_eq!(
                preview(event.clone()).unwrap_err().to_string(),
                message,
                "{event}"
            );
        }
    }
}
