//! Which hours an invocation compacts.
//!
//! - an EventBridge scheduled event (`"time"`): the latest complete hour at that time, and
//!   every recent hour that needs compacting again ([`crate::survey`]);
//! - `{"hour": "2026-11-01T05"}`: that hour;
//! - `{"hours": ["2026-11-01T05", …]}`: those hours, de-duplicated and in order;
//! - `{"from": "2026-11-01T05", "to": "2026-11-01T09"}`: every hour of the range, both ends
//!   included.
//!
//! Named hours must be complete (see [`Hour::latest_complete`]) and at most
//! [`MAX_BACKFILL_HOURS`] of them go in one invocation. With `"early": true` (and `"hour"`),
//! the hour may still be open, down to the current one: it is compacted from the objects
//! there now, and the scheduled run compacts it again once it is complete (it always compacts
//! the hour that has just ended), so nothing that arrives later is lost. `metering-gen
//! verify` uses it to see its own requests in Parquet without waiting for the hour to end.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDateTime};
use serde_json::{Map, Value};

use crate::hour::{BadHour, Hour};

/// Most hours one invocation compacts: each takes tens of seconds to a minute or two of
/// Athena time and the function has 15 minutes, so a longer backfill is split by the caller
/// anyway (a backfill running out of time stops between hours and names the rest).
pub const MAX_BACKFILL_HOURS: usize = 48;

const SHAPES: &str =
    "expected {\"hour\": \"YYYY-MM-DDTHH\"}, {\"hours\": [\"YYYY-MM-DDTHH\", …]}, \
     {\"from\": \"YYYY-MM-DDTHH\", \"to\": \"YYYY-MM-DDTHH\"} or an EventBridge scheduled event \
     with \"time\"";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event is not a JSON object; {SHAPES}")]
    NotAnObject,
    #[error("event has none of \"hour\", \"hours\", \"from\"/\"to\" or \"time\"; {SHAPES}")]
    NoHours,
    #[error("event has both \"{first}\" and \"{second}\"; give only one of \"hour\", \"hours\" or \"from\"/\"to\"")]
    Ambiguous {
        first: &'static str,
        second: &'static str,
    },
    #[error("event field \"{field}\" must be a string, got {got}")]
    NotAString { field: String, got: String },
    #[error("event field \"hours\" must be a non-empty array of hours like [\"2026-11-28T00\"], got {got}")]
    BadList { got: String },
    #[error("event field \"{field}\": {error}")]
    BadHour { field: String, error: BadHour },
    #[error(
        "event field \"time\" = {value:?} is not an RFC 3339 timestamp like 2026-11-28T01:10:07Z"
    )]
    BadTime { value: String },
    #[error("event has \"{present}\" but no \"{missing}\": a range needs both, like {{\"from\": \"2026-11-01T05\", \"to\": \"2026-11-01T09\"}}")]
    HalfRange {
        present: &'static str,
        missing: &'static str,
    },
    #[error("event range is backwards: \"from\" {from} is after \"to\" {to}")]
    Backwards { from: Hour, to: Hour },
    #[error("the range {from} to {to} spans {count} hours; at most {MAX_BACKFILL_HOURS} per invocation: split the range")]
    RangeTooLong { from: Hour, to: Hour, count: i64 },
    #[error("\"hours\" lists {count} hours; at most {MAX_BACKFILL_HOURS} per invocation: split the list")]
    ListTooLong { count: usize },
    #[error("hour {hour} is not complete yet: the latest hour that may be compacted now is {latest} (COMPACTION_DELAY_MINUTES = {delay_minutes}); {{\"hour\": \"{hour}\", \"early\": true}} compacts it as it is now")]
    NotComplete {
        hour: Hour,
        latest: Hour,
        delay_minutes: u32,
    },
    #[error("hour {hour} has not begun (now {now}); an early compaction takes the current hour at the latest")]
    NotBegun { hour: Hour, now: Hour },
    #[error("event field \"early\" must be true or false, got {got}")]
    NotABool { got: String },
    #[error("event field \"early\" goes with \"hour\" only: compact one open hour at a time")]
    EarlyNotAlone,
}

/// What an event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// A scheduled run: the hour that has just ended, and every recent hour that needs
    /// compacting again ([`crate::survey`]).
    Scheduled(Hour),
    /// These hours, compacted whatever their state (a backfill).
    Named(Vec<Hour>),
}

/// The hours `event` asks for, oldest first; for a scheduled event, the hour that has just
/// ended. `now` (UTC) and `delay_minutes` decide which hours are complete.
pub fn hours_from_event(
    event: &Value,
    now: NaiveDateTime,
    delay_minutes: u32,
) -> Result<Vec<Hour>, EventError> {
    Ok(match selection(event, now, delay_minutes)? {
        Selection::Scheduled(hour) => vec![hour],
        Selection::Named(hours) => hours,
    })
}

/// What `event` asks for. `now` (UTC) and `delay_minutes` decide which hours are complete.
pub fn selection(
    event: &Value,
    now: NaiveDateTime,
    delay_minutes: u32,
) -> Result<Selection, EventError> {
    let object = event.as_object().ok_or(EventError::NotAnObject)?;
    let early = match object.get("early") {
        None => false,
        Some(value) => value.as_bool().ok_or_else(|| EventError::NotABool {
            got: value.to_string(),
        })?,
    };
    if early && selector(object)? != Some(Selector::Hour) {
        return Err(EventError::EarlyNotAlone);
    }
    let hours = match selector(object)? {
        Some(Selector::Hour) => vec![hour_field(object, "hour")?],
        Some(Selector::Hours) => hour_list(&object["hours"])?,
        Some(Selector::Range) => hour_range(object)?,
        None => {
            // The schedule's own hour is complete by construction; its time is not compared
            // with the clock, which may lag EventBridge's by a little.
            let time = object.get("time").ok_or(EventError::NoHours)?;
            let time = string("time", time)?;
            let at = DateTime::parse_from_rfc3339(time).map_err(|_| EventError::BadTime {
                value: time.to_owned(),
            })?;
            return Ok(Selection::Scheduled(Hour::latest_complete(
                at.naive_utc(),
                delay_minutes,
            )));
        }
    };
    if early {
        let current = Hour::containing(now);
        if let Some(&hour) = hours.iter().find(|h| **h > current) {
            return Err(EventError::NotBegun { hour, now: current });
        }
        return Ok(Selection::Named(hours));
    }
    let latest = Hour::latest_complete(now, delay_minutes);
    if let Some(&hour) = hours.iter().find(|h| **h > latest) {
        return Err(EventError::NotComplete {
            hour,
            latest,
            delay_minutes,
        });
    }
    Ok(Selection::Named(hours))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selector {
    Hour,
    Hours,
    Range,
}

/// Which of the explicit shapes the event uses, if any; mixing two is refused.
fn selector(object: &Map<String, Value>) -> Result<Option<Selector>, EventError> {
    let keys = [
        ("hour", Selector::Hour),
        ("hours", Selector::Hours),
        ("from", Selector::Range),
        ("to", Selector::Range),
    ];
    let mut found: Option<(&'static str, Selector)> = None;
    for (key, selector) in keys {
        if !object.contains_key(key) {
            continue;
        }
        match found {
            None => found = Some((key, selector)),
            Some((first, chosen)) if chosen != selector => {
                return Err(EventError::Ambiguous { first, second: key })
            }
            Some(_) => {}
        }
    }
    Ok(found.map(|(_, selector)| selector))
}

fn string<'a>(field: &str, value: &'a Value) -> Result<&'a str, EventError> {
    value.as_str().ok_or_else(|| EventError::NotAString {
        field: field.to_owned(),
        got: value.to_string(),
    })
}

fn parse_hour(field: &str, value: &Value) -> Result<Hour, EventError> {
    Hour::parse(string(field, value)?).map_err(|error| EventError::BadHour {
        field: field.to_owned(),
        error,
    })
}

fn hour_field(object: &Map<String, Value>, field: &'static str) -> Result<Hour, EventError> {
    parse_hour(field, &object[field])
}

fn hour_list(value: &Value) -> Result<Vec<Hour>, EventError> {
    let items = value
        .as_array()
        .filter(|items| !items.is_empty())
        .ok_or_else(|| EventError::BadList {
            got: value.to_string(),
        })?;
    let mut hours = BTreeSet::new();
    for (index, item) in items.iter().enumerate() {
        hours.insert(parse_hour(&format!("hours[{index}]"), item)?);
    }
    if hours.len() > MAX_BACKFILL_HOURS {
        return Err(EventError::ListTooLong { count: hours.len() });
    }
    Ok(hours.into_iter().collect())
}

fn hour_range(object: &Map<String, Value>) -> Result<Vec<Hour>, EventError> {
    let (from, to) = match (object.contains_key("from"), object.contains_key("to")) {
        (true, true) => (hour_field(object, "from")?, hour_field(object, "to")?),
        (true, false) => {
            return Err(EventError::HalfRange {
                present: "from",
                missing: "to",
            })
        }
        _ => {
            return Err(EventError::HalfRange {
                present: "to",
                missing: "from",
            })
        }
    };
    let count = to.hours_since(&from);
    if count < 1 {
        return Err(EventError::Backwards { from, to });
    }
    if count > MAX_BACKFILL_HOURS as i64 {
        return Err(EventError::RangeTooLong { from, to, count });
    }
    Ok(std::iter::successors(Some(from), |hour| Some(hour.next()))
        .take(count as usize)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_support::testing::scheduled_event;
    use serde_json::json;

    /// 2026-11-28T06:05:00Z: with the default 10-minute delay the latest complete hour is
    /// 2026-11-28T04.
    fn now() -> NaiveDateTime {
        NaiveDateTime::parse_from_str("2026-11-28T06:05:00", "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    fn hours(event: Value) -> Result<Vec<String>, EventError> {
        hours_from_event(&event, now(), 10).map(|hours| hours.iter().map(Hour::to_string).collect())
    }

    fn err(event: Value) -> String {
        hours(event).unwrap_err().to_string()
    }

    fn scheduled(time: &str) -> Value {
        scheduled_event("hourly", time)
    }

    #[test]
    fn scheduled_event_compacts_the_latest_complete_hour_at_its_time() {
        let cases = [
            ("2026-11-28T01:10:07Z", 10, "2026-11-28T00"),
            ("2026-11-28T01:10:00Z", 10, "2026-11-28T00"),
            ("2026-11-28T13:59:59Z", 10, "2026-11-28T12"),
            ("2026-11-28T01:09:59Z", 10, "2026-11-27T23"),
            ("2026-11-28T01:30:00Z", 30, "2026-11-28T00"),
            ("2026-11-28T01:29:00Z", 30, "2026-11-27T23"),
            ("2026-11-28T01:00:00Z", 0, "2026-11-28T00"),
            ("2027-01-01T00:10:00Z", 10, "2026-12-31T23"),
            ("2028-03-01T00:15:00Z", 10, "2028-02-29T23"),
            // Offsets are converted to UTC.
            ("2026-11-28T02:10:07+01:00", 10, "2026-11-28T00"),
            ("2026-11-28T01:10:07.123Z", 10, "2026-11-28T00"),
        ];
        for (time, delay, expected) in cases {
            let got = hours_from_event(&scheduled(time), now(), delay).unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].to_string(), expected, "{time} with delay {delay}");
        }
    }

    #[test]
    fn scheduled_time_is_not_compared_with_the_clock() {
        // EventBridge's time may be a little ahead of the function's clock.
        let got = hours_from_event(&scheduled("2026-11-28T07:10:00Z"), now(), 10).unwrap();
        assert_eq!(got[0].to_string(), "2026-11-28T06");
    }

    #[test]
    fn single_hour() {
        assert_eq!(
            hours(json!({"hour": "2026-11-28T00"})).unwrap(),
            ["2026-11-28T00"]
        );
        // An explicit hour wins over the time of the event that carries it.
        assert_eq!(
            hours(json!({"hour": "2026-11-28T03", "time": "2026-11-28T01:10:07Z"})).unwrap(),
            ["2026-11-28T03"]
        );
    }

    #[test]
    fn hour_list_is_deduplicated_and_sorted() {
        assert_eq!(
            hours(json!({"hours": ["2026-11-28T03", "2026-11-27T23", "2026-11-28T03", "2026-11-28T00"]}))
                .unwrap(),
            ["2026-11-27T23", "2026-11-28T00", "2026-11-28T03"]
        );
    }

    #[test]
    fn range_includes_both_ends_and_crosses_days() {
        assert_eq!(
            hours(json!({"from": "2026-11-27T22", "to": "2026-11-28T01"})).unwrap(),
            [
                "2026-11-27T22",
                "2026-11-27T23",
                "2026-11-28T00",
                "2026-11-28T01"
            ]
        );
        assert_eq!(
            hours(json!({"from": "2026-11-28T04", "to": "2026-11-28T04"})).unwrap(),
            ["2026-11-28T04"]
        );
    }

    #[test]
    fn at_most_48_hours() {
        let range = hours(json!({"from": "2026-11-26T05", "to": "2026-11-28T04"})).unwrap();
        assert_eq!(range.len(), MAX_BACKFILL_HOURS);
        assert_eq!(
            err(json!({"from": "2026-11-25T04", "to": "2026-11-28T04"})),
            "the range 2026-11-25T04 to 2026-11-28T04 spans 73 hours; at most 48 per \
             invocation: split the range"
        );
        // A huge range is refused without building it.
        assert_eq!(
            err(json!({"from": "0001-01-01T00", "to": "2026-11-28T04"})),
            "the range 0001-01-01T00 to 2026-11-28T04 spans 17758733 hours; at most 48 per \
             invocation: split the range"
        );
        let list: Vec<String> = (0..49)
            .map(|i| format!("2026-11-{:02}T{:02}", 25 + i / 24, i % 24))
            .collect();
        assert_eq!(
            err(json!({ "hours": list })),
            "\"hours\" lists 49 hours; at most 48 per invocation: split the list"
        );
        // Duplicates do not count.
        let mut repeated = list[..48].to_vec();
        repeated.extend(list[..10].iter().cloned());
        assert_eq!(hours(json!({ "hours": repeated })).unwrap().len(), 48);
    }

    #[test]
    fn an_early_compaction_takes_an_open_hour_up_to_the_current_one() {
        // now() is 06:05 on the 28th: 05 has ended but is within the delay, 06 is open.
        assert_eq!(
            hours(json!({"hour": "2026-11-28T06", "early": true})),
            Ok(vec!["2026-11-28T06".to_owned()])
        );
        assert_eq!(
            hours(json!({"hour": "2026-11-28T05", "early": true})),
            Ok(vec!["2026-11-28T05".to_owned()])
        );
        assert_eq!(
            hours(json!({"hour": "2026-11-20T05", "early": true})),
            Ok(vec!["2026-11-20T05".to_owned()]),
            "a complete hour too"
        );
        assert_eq!(
            hours(json!({"hour": "2026-11-28T06", "early": false})),
            Err(EventError::NotComplete {
                hour: Hour::parse("2026-11-28T06").unwrap(),
                latest: Hour::parse("2026-11-28T04").unwrap(),
                delay_minutes: 10
            })
        );
        assert_eq!(
            err(json!({"hour": "2026-11-28T07", "early": true})),
            "hour 2026-11-28T07 has not begun (now 2026-11-28T06); an early compaction takes \
             the current hour at the latest"
        );
        assert_eq!(
            err(json!({"hours": ["2026-11-28T06"], "early": true})),
            "event field \"early\" goes with \"hour\" only: compact one open hour at a time"
        );
        assert_eq!(
            err(json!({"time": "2026-11-28T06:10:00Z", "early": true})),
            "event field \"early\" goes with \"hour\" only: compact one open hour at a time"
        );
        assert_eq!(
            err(json!({"hour": "2026-11-28T06", "early": "yes"})),
            "event field \"early\" must be true or false, got \"yes\""
        );
    }

    #[test]
    fn hours_not_complete_yet_are_refused() {
        assert_eq!(
            err(json!({"hour": "2026-11-28T05"})),
            "hour 2026-11-28T05 is not complete yet: the latest hour that may be compacted now \
             is 2026-11-28T04 (COMPACTION_DELAY_MINUTES = 10); {\"hour\": \"2026-11-28T05\", \
             \"early\": true} compacts it as it is now"
        );
        assert!(err(json!({"from": "2026-11-28T03", "to": "2026-11-28T06"}))
            .starts_with("hour 2026-11-28T05 is not complete yet"));
        assert!(err(json!({"hours": ["2026-11-28T01", "2027-01-01T00"]}))
            .starts_with("hour 2027-01-01T00 is not complete yet"));
        // With a 0-minute delay, 05 is complete at 06:05.
        let got = hours_from_event(&json!({"hour": "2026-11-28T05"}), now(), 0).unwrap();
        assert_eq!(got[0].to_string(), "2026-11-28T05");
    }

    #[test]
    fn bad_shapes_are_refused_with_a_clear_message() {
        let cases = [
            (json!("2026-11-28T00"), "event is not a JSON object; expected {\"hour\""),
            (json!(null), "event is not a JSON object"),
            (json!([]), "event is not a JSON object"),
            (
                json!({"detail-type": "Scheduled Event"}),
                "event has none of \"hour\", \"hours\", \"from\"/\"to\" or \"time\"",
            ),
            (
                json!({"hour": "2026-11-28T00", "hours": ["2026-11-28T00"]}),
                "event has both \"hour\" and \"hours\"; give only one of",
            ),
            (
                json!({"hours": ["2026-11-28T00"], "to": "2026-11-28T01"}),
                "event has both \"hours\" and \"to\"",
            ),
            (
                json!({"hour": "2026-11-28T00", "from": "2026-11-28T00"}),
                "event has both \"hour\" and \"from\"",
            ),
            (
                json!({"from": "2026-11-28T00"}),
                "event has \"from\" but no \"to\": a range needs both",
            ),
            (
                json!({"to": "2026-11-28T00"}),
                "event has \"to\" but no \"from\"",
            ),
            (
                json!({"from": "2026-11-28T03", "to": "2026-11-28T01"}),
                "event range is backwards: \"from\" 2026-11-28T03 is after \"to\" 2026-11-28T01",
            ),
            (
                json!({"hours": []}),
                "event field \"hours\" must be a non-empty array of hours like [\"2026-11-28T00\"], got []",
            ),
            (
                json!({"hours": "2026-11-28T00"}),
                "event field \"hours\" must be a non-empty array",
            ),
            (
                json!({"hours": ["2026-11-28T00", 7]}),
                "event field \"hours[1]\" must be a string, got 7",
            ),
            (
                json!({"hours": ["2026-11-28T00", "2026-11-28T0"]}),
                "event field \"hours[1]\": \"2026-11-28T0\" is not an hour like 2026-11-28T00",
            ),
            (
                json!({"hour": 2026112800}),
                "event field \"hour\" must be a string, got 2026112800",
            ),
            (
                json!({"hour": "2026-02-30T00"}),
                "event field \"hour\": \"2026-02-30T00\" is not an hour like 2026-11-28T00",
            ),
            (
                json!({"from": "2026-11-28T00", "to": "tomorrow"}),
                "event field \"to\": \"tomorrow\" is not an hour",
            ),
            (
                scheduled("yesterday"),
                "event field \"time\" = \"yesterday\" is not an RFC 3339 timestamp",
            ),
            (
                scheduled("2026-11-28T01:10:07"),
                "event field \"time\" = \"2026-11-28T01:10:07\" is not an RFC 3339 timestamp",
            ),
            (
                json!({"time": 1764292207}),
                "event field \"time\" must be a string, got 1764292207",
            ),
        ];
        for (event, expected) in cases {
            let message = err(event.clone());
            assert!(
                message.starts_with(expected),
                "{event}: got {message:?}, expected it to start with {expected:?}"
            );
        }
    }
}
