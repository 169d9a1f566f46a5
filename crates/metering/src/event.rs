//! One usage event, as a SaaS backend reports it: one JSON object per record.
//!
//! ```json
//! {"id": "evt-8f3a", "tenant": "acme", "type": "tokens.generated",
//!  "time": "2026-10-07T12:00:00.250Z", "value": "1532", "properties": {"model": "large"}}
//! ```
//!
//! - `id` (required): unique per event; copies of an id count once, so a retried
//!   `PutRecordBatch` never bills twice.
//! - `tenant` (required): who is billed.
//! - `type` (required): what happened, e.g. `tokens.generated`; meters select events by it.
//! - `time` (required): when it happened, epoch milliseconds (a JSON integer) or an RFC 3339
//!   date-time (a string, any offset, converted to UTC; digits below the millisecond are cut).
//! - `value` (optional): a decimal number, as a JSON number or a string: digits, at most
//!   [`MAX_VALUE_INTEGER_DIGITS`] before the point and [`VALUE_SCALE`] after it, no sign and no
//!   exponent. Usage is never negative. `sum` and `max` meters skip an event without one.
//! - `properties` (optional): a flat map of strings, for filters and `unique_count` meters.
//!
//! Other keys are ignored, so a CloudEvents event with its `specversion` and `source` reads as
//! long as it carries the fields above. Keys are matched exactly (JSON is case-sensitive).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Digits a value may have before its decimal point.
pub const MAX_VALUE_INTEGER_DIGITS: usize = 15;
/// Digits a value may have after its decimal point; amounts are kept as integers of
/// 10^-`VALUE_SCALE`, so sums are exact.
pub const VALUE_SCALE: u32 = 9;
/// The latest event time accepted: 9999-12-31T23:59:59.999Z.
pub const MAX_EVENT_TIME_MS: i64 = 253_402_300_799_999;

/// An event that can be metered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    pub id: Cow<'a, str>,
    pub tenant: Cow<'a, str>,
    pub event_type: Cow<'a, str>,
    /// UTC, epoch milliseconds.
    pub time_ms: i64,
    /// The value in units of 10^-[`VALUE_SCALE`] (`"1.5"` is 1 500 000 000); `None`: none given.
    pub value: Option<u128>,
    pub properties: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
}

/// Why a line is not a usable event. Such events are counted and reported, never billed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("not a JSON usage event: {0}")]
    Json(String),
    #[error("no `id`")]
    NoId,
    #[error("no `tenant`")]
    NoTenant,
    #[error("no `type`")]
    NoType,
    #[error("no `time`")]
    NoTime,
    #[error("`time` {0}")]
    Time(String),
    #[error("`value` {0}")]
    Value(String),
    /// A line the ingestion function flagged ([`normalise`]), with its reason.
    #[error("{0}")]
    Flagged(String),
    #[error("`time` {time} is in {month}, whose bill reads the folders {first}..{last}, not {folder} where the event arrived: no bill counts it")]
    OutsideAnyWindow {
        time: String,
        month: String,
        first: String,
        last: String,
        folder: String,
    },
}

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tenant: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow, default)]
    event_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    time: Option<&'a RawValue>,
    #[serde(borrow, default)]
    value: Option<&'a RawValue>,
    #[serde(borrow, default)]
    properties: Option<BTreeMap<Cow<'a, str>, Cow<'a, str>>>,
    /// Set by [`normalise`] on a line that is not a usable event.
    #[serde(borrow, default)]
    problem: Option<Cow<'a, str>>,
}

/// `None` for a missing or empty text, and for `-` (what API Gateway writes for a missing
/// value, kept out of tenants here as in the access logs).
fn present(value: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    value.filter(|v| !v.trim().is_empty() && v != "-")
}

impl<'a> Event<'a> {
    /// Parses one line (without its newline).
    pub fn parse(line: &'a [u8]) -> Result<Event<'a>, EventError> {
        let raw: Raw<'a> =
            serde_json::from_slice(line).map_err(|e| EventError::Json(e.to_string()))?;
        if let Some(problem) = raw.problem {
            return Err(EventError::Flagged(problem.into_owned()));
        }
        let id = present(raw.id).ok_or(EventError::NoId)?;
        let tenant = present(raw.tenant).ok_or(EventError::NoTenant)?;
        let event_type = present(raw.event_type).ok_or(EventError::NoType)?;
        let time_ms = match raw.time {
            Some(t) if t.get() != "null" => parse_time(t.get()).map_err(EventError::Time)?,
            _ => return Err(EventError::NoTime),
        };
        let value = match raw.value {
            Some(v) if v.get() != "null" => Some(parse_value(v.get()).map_err(EventError::Value)?),
            _ => None,
        };
        Ok(Event {
            id,
            tenant,
            event_type,
            time_ms,
            value,
            properties: raw.properties.unwrap_or_default(),
        })
    }
}

/// A `time` as its JSON text: an integer (epoch milliseconds) or an RFC 3339 string.
fn parse_time(json: &str) -> Result<i64, String> {
    let ms = if json.starts_with('"') {
        let text: Cow<str> = serde_json::from_str(json).map_err(|e| e.to_string())?;
        rfc3339_ms(&text)?
    } else if json.bytes().all(|b| b.is_ascii_digit()) {
        json.parse::<i64>()
            .map_err(|_| format!("{json} is not a time: too large"))?
    } else if json.starts_with('-') {
        return Err(format!("{json} is before 1970"));
    } else {
        return Err(format!(
            "{json} is not a time: epoch milliseconds as an integer, or an RFC 3339 string such as \"2026-10-07T12:00:00Z\""
        ));
    };
    if !(0..=MAX_EVENT_TIME_MS).contains(&ms) {
        return Err(format!("{json} is not between 1970 and the year 9999"));
    }
    Ok(ms)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, the upper-case `T` and `Z` only.
fn rfc3339_ms(text: &str) -> Result<i64, String> {
    let shape_ok = text.len() >= 20
        && text.is_char_boundary(10)
        && text.as_bytes()[10] == b'T'
        && !text.contains(['t', 'z']);
    let parsed = shape_ok
        .then(|| chrono::DateTime::parse_from_rfc3339(text).ok())
        .flatten()
        .ok_or_else(|| {
            format!(
                "`{text}` is not an RFC 3339 date-time such as \"2026-10-07T12:00:00Z\" or \"2026-10-07T14:00:00.250+02:00\""
            )
        })?;
    // `timestamp_millis` rounds towards minus infinity: digits below the millisecond are cut.
    Ok(parsed.timestamp_millis())
}

/// A `value` as its JSON text, in units of 10^-[`VALUE_SCALE`].
fn parse_value(json: &str) -> Result<u128, String> {
    let text: Cow<str> = if json.starts_with('"') {
        serde_json::from_str(json).map_err(|e| e.to_string())?
    } else {
        Cow::Borrowed(json)
    };
    let shown = if json.starts_with('"') {
        format!("\"{text}\"")
    } else {
        text.to_string()
    };
    if text.starts_with('-') && text.len() > 1 {
        return Err(format!("{shown} is negative: usage is 0 or more"));
    }
    if text.contains(['e', 'E']) && text.bytes().any(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{shown} has an exponent: write the number out in digits"
        ));
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (text.contains('.') && !digits(fraction)) {
        return Err(format!("{shown} is not a decimal number"));
    }
    let whole_digits = whole.trim_start_matches('0');
    if whole_digits.len() > MAX_VALUE_INTEGER_DIGITS {
        return Err(format!(
            "{shown} has more than {MAX_VALUE_INTEGER_DIGITS} digits before the point"
        ));
    }
    if fraction.len() > VALUE_SCALE as usize {
        return Err(format!(
            "{shown} has more than {VALUE_SCALE} digits after the point"
        ));
    }
    let whole: u128 = if whole_digits.is_empty() {
        0
    } else {
        whole_digits.parse().expect("at most 15 digits")
    };
    let fraction: u128 = format!("{fraction:0<width$}", width = VALUE_SCALE as usize)
        .parse()
        .expect("9 digits");
    Ok(whole * 10u128.pow(VALUE_SCALE) + fraction)
}

/// The event in canonical form, as one line of JSON: `time` in epoch milliseconds, `value` a
/// string of its exact digits without trailing zeros (`"1532.5"`), no other keys. It parses
/// back to the same event.
#[derive(Serialize)]
struct Canonical<'e> {
    id: &'e str,
    tenant: &'e str,
    #[serde(rename = "type")]
    event_type: &'e str,
    time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    properties: &'e BTreeMap<Cow<'e, str>, Cow<'e, str>>,
}

/// A line that is not a usable event, kept with its reason (and its first
/// [`FLAGGED_RECORD_BYTES`] bytes), so that it is counted and reported wherever it is read.
#[derive(Serialize)]
struct Flagged<'l> {
    problem: Cow<'l, str>,
    record: Cow<'l, str>,
    /// The whole line's length, when `record` holds only its start.
    #[serde(skip_serializing_if = "Option::is_none")]
    record_bytes: Option<usize>,
}

/// The parts of a [`Flagged`] line that a line flagged again keeps, when they have their types.
#[derive(Deserialize)]
struct FlaggedAgain<'l> {
    #[serde(borrow, default)]
    record: Option<Cow<'l, str>>,
    #[serde(default)]
    record_bytes: Option<usize>,
}

/// The columns of the usage-events tables, in order: the keys of the lines [`normalise`]
/// writes (`record` and `record_bytes` of a flagged line only for people reading the raw
/// folder). The generator's Glue tables and the compaction's queries both use this list.
pub const EVENT_COLUMNS: [&str; 7] = [
    "id",
    "tenant",
    "type",
    "time",
    "value",
    "properties",
    "problem",
];

/// How much of a bad line [`normalise`] keeps.
pub const FLAGGED_RECORD_BYTES: usize = 4096;

/// What the ingestion function writes for one line it received (without its newline): the
/// event in canonical form, or `{"problem": "<why>", "record": "<the line>"}` (the line as
/// UTF-8, invalid bytes replaced, the first [`FLAGGED_RECORD_BYTES`] only, with
/// `"record_bytes"` the whole length when it is longer), which [`Event::parse`] reads back as
/// [`EventError::Flagged`]. Either way one line of JSON, without a newline.
pub fn normalise(line: &[u8]) -> Vec<u8> {
    let out = match Event::parse(line) {
        Ok(event) => serde_json::to_vec(&Canonical {
            id: &event.id,
            tenant: &event.tenant,
            event_type: &event.event_type,
            time: event.time_ms,
            value: event.value.map(|v| {
                amount_decimal(v)
                    .expect("a value has at most 24 digits")
                    .to_string()
            }),
            properties: &event.properties,
        }),
        // A line flagged already (this function's own output, sent again) keeps its problem
        // and record, written anew: what else it holds would reach the events table, whose
        // Hive JSON SerDe fails the query of the whole hour on a value of another type (a
        // `"time": "abc"` beside a `problem`).
        Err(EventError::Flagged(problem)) => {
            let seen = serde_json::from_slice::<FlaggedAgain>(line).ok();
            let (record, record_bytes) = match seen.and_then(|s| Some((s.record?, s.record_bytes)))
            {
                Some(kept) => kept,
                None => (
                    String::from_utf8_lossy(&line[..line.len().min(FLAGGED_RECORD_BYTES)]),
                    (line.len() > FLAGGED_RECORD_BYTES).then_some(line.len()),
                ),
            };
            serde_json::to_vec(&Flagged {
                problem: problem.into(),
                record,
                record_bytes,
            })
        }
        Err(problem) => serde_json::to_vec(&Flagged {
            problem: problem.to_string().into(),
            record: String::from_utf8_lossy(&line[..line.len().min(FLAGGED_RECORD_BYTES)]),
            record_bytes: (line.len() > FLAGGED_RECORD_BYTES).then_some(line.len()),
        }),
    };
    out.expect("strings and integers serialize")
}

/// An amount in units of 10^-[`VALUE_SCALE`] as an exact decimal, without trailing zeros;
/// `None` when it is larger than a decimal holds (about 7.9 × 10^19).
pub fn amount_decimal(amount: u128) -> Option<pricing::Decimal> {
    let n = i128::try_from(amount).ok()?;
    pricing::Decimal::try_from_i128_with_scale(n, VALUE_SCALE)
        .ok()
        .map(|d| d.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Result<Event<'_>, EventError> {
        Event::parse(json.as_bytes())
    }

    #[test]
    fn reads_a_full_event() {
        let e = event(
            r#"{"id": "e-1", "tenant": "acme", "type": "tokens.generated", "time": "2026-10-07T12:00:00.250Z",
                "value": "1532.5", "properties": {"model": "large"}, "specversion": "1.0"}"#,
        )
        .unwrap();
        assert_eq!(
            (&*e.id, &*e.tenant, &*e.event_type),
            ("e-1", "acme", "tokens.generated")
        );
        assert_eq!(e.time_ms, 1_791_374_400_250);
        assert_eq!(e.value, Some(1_532_500_000_000));
        assert_eq!(e.properties.get("model").map(|v| &**v), Some("large"));
    }

    #[test]
    fn times_in_both_forms_agree() {
        let at = |time: &str| {
            event(&format!(
                r#"{{"id": "e", "tenant": "t", "type": "x", "time": {time}}}"#
            ))
            .map(|e| e.time_ms)
        };
        let ms = 1_791_374_400_250;
        assert_eq!(at("1791374400250"), Ok(ms));
        assert_eq!(at(r#""2026-10-07T12:00:00.250Z""#), Ok(ms));
        assert_eq!(at(r#""2026-10-07T14:00:00.250+02:00""#), Ok(ms));
        assert_eq!(at(r#""2026-10-07T12:00:00.250999999Z""#), Ok(ms));
        assert_eq!(at(r#""2026-10-07T12:00:00Z""#), Ok(ms - 250));
        assert_eq!(at("0"), Ok(0));
        for bad in [
            r#""2026-10-07 12:00:00Z""#,
            r#""2026-10-07t12:00:00z""#,
            r#""2026-10-07T12:00:00""#,
            r#""2026-02-30T12:00:00Z""#,
            r#""1791374400250""#,
            "1791374400250.0",
            "1.79e12",
            "-1",
            "253402300800000",
            "99999999999999999999",
            "true",
            "{}",
        ] {
            assert!(
                matches!(at(bad), Err(EventError::Time(_))),
                "{bad}: {:?}",
                at(bad)
            );
        }
        assert_eq!(at("null"), Err(EventError::NoTime));
    }

    #[test]
    fn values_are_exact_decimals() {
        let value = |v: &str| {
            event(&format!(
                r#"{{"id": "e", "tenant": "t", "type": "x", "time": 0, "value": {v}}}"#
            ))
            .map(|e| e.value)
        };
        assert_eq!(value("12"), Ok(Some(12_000_000_000)));
        assert_eq!(value(r#""12""#), Ok(Some(12_000_000_000)));
        assert_eq!(value("0.1"), Ok(Some(100_000_000)));
        assert_eq!(value(r#""0.000000001""#), Ok(Some(1)));
        assert_eq!(
            value("999999999999999.999999999"),
            Ok(Some(999_999_999_999_999_999_999_999))
        );
        assert_eq!(value(r#""007.50""#), Ok(Some(7_500_000_000)));
        assert_eq!(value("0"), Ok(Some(0)));
        assert_eq!(value("null"), Ok(None));
        let message = |v: &str| match value(v) {
            Err(EventError::Value(m)) => m,
            other => panic!("{v}: {other:?}"),
        };
        assert_eq!(message("-1"), "-1 is negative: usage is 0 or more");
        assert_eq!(
            message(r#""1e3""#),
            "\"1e3\" has an exponent: write the number out in digits"
        );
        assert_eq!(
            message("1E3"),
            "1E3 has an exponent: write the number out in digits"
        );
        assert_eq!(
            message("0.0000000001"),
            "0.0000000001 has more than 9 digits after the point"
        );
        assert_eq!(
            message("1234567890123456"),
            "1234567890123456 has more than 15 digits before the point"
        );
        for bad in [
            r#""""#, r#""abc""#, r#""1.""#, r#"".5""#, r#""+1""#, r#"" 1""#, "true", "[1]",
            r#""1,5""#,
        ] {
            assert!(
                message(bad).ends_with("is not a decimal number"),
                "{bad}: {}",
                message(bad)
            );
        }
    }

    #[test]
    fn required_fields() {
        let with = |fields: &str| {
            Event::parse(format!("{{{fields}}}").as_bytes()).map(|e| e.id.into_owned())
        };
        assert_eq!(
            with(r#""tenant": "t", "type": "x", "time": 0"#),
            Err(EventError::NoId)
        );
        assert_eq!(
            with(r#""id": "", "tenant": "t", "type": "x", "time": 0"#),
            Err(EventError::NoId)
        );
        assert_eq!(
            with(r#""id": "e", "type": "x", "time": 0"#),
            Err(EventError::NoTenant)
        );
        assert_eq!(
            with(r#""id": "e", "tenant": "-", "type": "x", "time": 0"#),
            Err(EventError::NoTenant)
        );
        assert_eq!(
            with(r#""id": "e", "tenant": "t", "time": 0"#),
            Err(EventError::NoType)
        );
        assert_eq!(
            with(r#""id": "e", "tenant": "t", "type": "x""#),
            Err(EventError::NoTime)
        );
        for bad in [
            r#"{"id": 5, "tenant": "t", "type": "x", "time": 0}"#,
            r#"{"id": "e", "tenant": "t", "type": "x", "time": 0, "properties": {"n": 1}}"#,
            r#"{"id": "e", "tenant": "t", "type": "x", "time": 0, "properties": [1]}"#,
            r#"{"id": "e", "id": "f", "tenant": "t", "type": "x", "time": 0}"#,
            "[1]",
            "{not json",
        ] {
            assert!(
                matches!(event(bad), Err(EventError::Json(_))),
                "{bad}: {:?}",
                event(bad)
            );
        }
    }

    #[test]
    fn normalised_events_read_back_the_same() {
        for line in [
            r#"{"id": "e-1", "tenant": "acme", "type": "tokens.generated", "time": "2026-10-07T14:00:00.250+02:00", "value": "0012.50", "properties": {"model": "large", "a": "\u00e9"}, "specversion": "1.0"}"#,
            r#"{"id": "e-2", "tenant": "acme", "type": "x", "time": 5}"#,
            r#"{"id": "e\"3", "tenant": "t", "type": "x", "time": 5, "value": 0, "properties": {}}"#,
        ] {
            let event = event(line).unwrap();
            let canonical = normalise(line.as_bytes());
            assert!(!canonical.contains(&b'\n'));
            assert_eq!(
                Event::parse(&canonical).unwrap(),
                event,
                "{}",
                String::from_utf8_lossy(&canonical)
            );
        }
        assert_eq!(
            String::from_utf8(normalise(
                br#"{"id": "e-1", "tenant": "acme", "type": "t", "time": "2026-10-07T12:00:00.250Z", "value": "0012.50"}"#
            ))
            .unwrap(),
            r#"{"id":"e-1","tenant":"acme","type":"t","time":1791374400250,"value":"12.5"}"#
        );
    }

    #[test]
    fn bad_lines_are_flagged_and_read_back_with_their_reason() {
        let flagged =
            normalise(br#"{"id": "e", "tenant": "t", "type": "x", "time": 0, "value": "abc"}"#);
        assert_eq!(
            String::from_utf8(flagged.clone()).unwrap(),
            r#"{"problem":"`value` \"abc\" is not a decimal number","record":"{\"id\": \"e\", \"tenant\": \"t\", \"type\": \"x\", \"time\": 0, \"value\": \"abc\"}"}"#
        );
        assert_eq!(
            Event::parse(&flagged),
            Err(EventError::Flagged(
                "`value` \"abc\" is not a decimal number".into()
            ))
        );
        // Flagging is idempotent, and bytes that are not UTF-8 are kept as well as they can be.
        assert_eq!(normalise(&flagged), flagged);
        let long = vec![b'x'; FLAGGED_RECORD_BYTES + 10];
        let flagged: serde_json::Value = serde_json::from_slice(&normalise(&long)).unwrap();
        assert_eq!(
            flagged["record"].as_str().unwrap().len(),
            FLAGGED_RECORD_BYTES
        );
        assert_eq!(flagged["record_bytes"], FLAGGED_RECORD_BYTES + 10);
        // A line that comes with a `problem` of its own is flagged anew, with that problem:
        // only `problem`, `record` and `record_bytes` are written, each of its type.
        let posing = br#"{"problem": "mine", "id": "e", "time": "abc", "value": 5, "record": 7}"#;
        let again = normalise(posing);
        assert_eq!(
            String::from_utf8(again.clone()).unwrap(),
            format!(
                r#"{{"problem":"mine","record":{}}}"#,
                serde_json::to_string(std::str::from_utf8(posing).unwrap()).unwrap()
            )
        );
        assert_eq!(normalise(&again), again);
        assert_eq!(
            Event::parse(&again),
            Err(EventError::Flagged("mine".into()))
        );
        let binary = normalise(b"\xff\xfe{");
        assert!(
            matches!(Event::parse(&binary), Err(EventError::Flagged(m)) if m.starts_with("not a JSON usage event"))
        );
    }

    #[test]
    fn amounts_become_decimals() {
        assert_eq!(amount_decimal(1_500_000_000).unwrap().to_string(), "1.5");
        assert_eq!(amount_decimal(1).unwrap().to_string(), "0.000000001");
        assert_eq!(amount_decimal(0).unwrap().to_string(), "0");
        assert!(amount_decimal(u128::MAX).is_none());
    }
}
