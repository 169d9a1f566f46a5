//! Which hour an invocation compacts.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use serde_json::Value;

/// One UTC hour, the unit of compaction (one Firehose folder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hour(NaiveDateTime);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event is not a JSON object: expected an EventBridge scheduled event with \"time\" or {{\"hour\": \"YYYY-MM-DDTHH\"}}")]
    NotAnObject,
    #[error("event has neither \"hour\" nor \"time\": expected an EventBridge scheduled event with \"time\" or {{\"hour\": \"YYYY-MM-DDTHH\"}}")]
    NoHourOrTime,
    #[error("event field \"{field}\" must be a string, got {got}")]
    NotAString { field: &'static str, got: String },
    #[error(
        "event field \"time\" = {value:?} is not an RFC 3339 timestamp like 2026-11-28T01:10:07Z"
    )]
    BadTime { value: String },
    #[error("event field \"hour\" = {value:?} is not an hour like 2026-11-28T00")]
    BadHour { value: String },
}

impl Hour {
    /// The hour that contains `at` (minutes and seconds dropped).
    pub fn containing(at: NaiveDateTime) -> Self {
        let date = at.date();
        Self(
            date.and_hms_opt(at.hour(), 0, 0)
                .expect("an hour taken from a valid time is valid"),
        )
    }

    /// Parses `YYYY-MM-DDTHH`.
    pub fn parse(value: &str) -> Result<Self, EventError> {
        let bad = || EventError::BadHour {
            value: value.to_owned(),
        };
        let (date, hour) = value.split_once('T').ok_or_else(bad)?;
        if date.len() != 10 || hour.len() != 2 || !hour.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?;
        let hour: u32 = hour.parse().map_err(|_| bad())?;
        date.and_hms_opt(hour, 0, 0).map(Self).ok_or_else(bad)
    }

    /// The hour before the one that contains the scheduled `time`: a run at
    /// 01:10 compacts 00:00–00:59, whose Firehose folder is complete by then.
    pub fn previous_to(time: &str) -> Result<Self, EventError> {
        let at = DateTime::parse_from_rfc3339(time).map_err(|_| EventError::BadTime {
            value: time.to_owned(),
        })?;
        let utc = at.naive_utc() - Duration::hours(1);
        Ok(Self::containing(utc))
    }

    /// Reads the hour from an invocation payload: `{"hour": "YYYY-MM-DDTHH"}`
    /// for a manual run (it wins if both are present), otherwise the
    /// `time` of an EventBridge scheduled event.
    pub fn from_event(event: &Value) -> Result<Self, EventError> {
        let object = event.as_object().ok_or(EventError::NotAnObject)?;
        let string = |field: &'static str, value: &Value| -> Result<String, EventError> {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| EventError::NotAString {
                    field,
                    got: value.to_string(),
                })
        };
        if let Some(hour) = object.get("hour") {
            return Self::parse(&string("hour", hour)?);
        }
        if let Some(time) = object.get("time") {
            return Self::previous_to(&string("time", time)?);
        }
        Err(EventError::NoHourOrTime)
    }

    pub fn year(&self) -> i32 {
        self.0.year()
    }

    pub fn month(&self) -> u32 {
        self.0.month()
    }

    pub fn day(&self) -> u32 {
        self.0.day()
    }

    pub fn hour(&self) -> u32 {
        self.0.hour()
    }

    /// `YYYYMMDDHH`, used in temporary table names.
    pub fn compact(&self) -> String {
        self.0.format("%Y%m%d%H").to_string()
    }

    /// `year=YYYY/month=MM/day=DD/hour=HH`, the Hive-style folder of the hour.
    pub fn partition_path(&self) -> String {
        self.0.format("year=%Y/month=%m/day=%d/hour=%H").to_string()
    }
}

impl fmt::Display for Hour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scheduled(time: &str) -> Value {
        json!({
            "version": "0",
            "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": time,
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/hourly"],
            "detail": {}
        })
    }

    fn hour_of(event: Value) -> String {
        Hour::from_event(&event).unwrap().to_string()
    }

    #[test]
    fn scheduled_event_compacts_the_previous_hour() {
        assert_eq!(hour_of(scheduled("2026-11-28T01:10:07Z")), "2026-11-28T00");
        assert_eq!(hour_of(scheduled("2026-11-28T13:00:00Z")), "2026-11-28T12");
        assert_eq!(hour_of(scheduled("2026-11-28T13:59:59Z")), "2026-11-28T12");
    }

    #[test]
    fn previous_hour_rolls_over_midnight_month_and_year() {
        assert_eq!(hour_of(scheduled("2026-11-28T00:10:00Z")), "2026-11-27T23");
        assert_eq!(hour_of(scheduled("2026-12-01T00:05:00Z")), "2026-11-30T23");
        assert_eq!(hour_of(scheduled("2027-01-01T00:10:00Z")), "2026-12-31T23");
        assert_eq!(hour_of(scheduled("2028-03-01T00:00:01Z")), "2028-02-29T23");
    }

    #[test]
    fn offsets_in_the_event_time_are_converted_to_utc() {
        assert_eq!(
            hour_of(scheduled("2026-11-28T02:10:07+01:00")),
            "2026-11-28T00"
        );
        assert_eq!(
            hour_of(scheduled("2026-11-28T01:10:07.123Z")),
            "2026-11-28T00"
        );
    }

    #[test]
    fn hour_fields_and_formats() {
        let hour = Hour::from_event(&scheduled("2027-01-01T00:10:00Z")).unwrap();
        assert_eq!(
            (hour.year(), hour.month(), hour.day(), hour.hour()),
            (2026, 12, 31, 23)
        );
        assert_eq!(hour.compact(), "2026123123");
        assert_eq!(hour.partition_path(), "year=2026/month=12/day=31/hour=23");

        let hour = Hour::parse("2026-03-05T07").unwrap();
        assert_eq!(hour.compact(), "2026030507");
        assert_eq!(hour.partition_path(), "year=2026/month=03/day=05/hour=07");
        assert_eq!(hour.to_string(), "2026-03-05T07");
    }

    #[test]
    fn manual_hour_event() {
        assert_eq!(hour_of(json!({"hour": "2026-11-28T00"})), "2026-11-28T00");
        assert_eq!(hour_of(json!({"hour": "2026-02-28T23"})), "2026-02-28T23");
        assert_eq!(
            hour_of(json!({"hour": "2026-11-28T05", "time": "2026-11-28T01:10:07Z"})),
            "2026-11-28T05"
        );
    }

    #[test]
    fn bad_manual_hours_are_rejected() {
        for value in [
            "2026-11-28",
            "2026-11-28T24",
            "2026-11-28T5",
            "2026-11-28T00:00",
            "2026-02-30T00",
            "2026-13-01T00",
            "26-11-28T00",
            "2026-11-28 00",
            "",
        ] {
            let err = Hour::from_event(&json!({ "hour": value })).unwrap_err();
            assert_eq!(
                err,
                EventError::BadHour {
                    value: value.to_owned()
                }
            );
            assert!(err.to_string().contains("like 2026-11-28T00"), "{err}");
        }
    }

    #[test]
    fn bad_events_are_rejected_with_a_clear_message() {
        let err = Hour::from_event(&json!("2026-11-28T00")).unwrap_err();
        assert_eq!(err, EventError::NotAnObject);

        let err = Hour::from_event(&json!({"detail-type": "Scheduled Event"})).unwrap_err();
        assert_eq!(err, EventError::NoHourOrTime);
        assert!(err.to_string().contains("neither \"hour\" nor \"time\""));

        let err = Hour::from_event(&json!({"hour": 2026112800})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "event field \"hour\" must be a string, got 2026112800"
        );

        let err = Hour::from_event(&scheduled("yesterday")).unwrap_err();
        assert_eq!(
            err,
            EventError::BadTime {
                value: "yesterday".to_owned()
            }
        );
        assert!(Hour::from_event(&scheduled("2026-11-28T01:10:07")).is_err());
        assert!(Hour::from_event(&Value::Null).is_err());
    }
}
