//! The API's backend: one usage event per successful request of a tenant, sent to a second
//! Firehose stream and filed like the access logs.

use crate::buffers::{Buffers, Destination, Sink};
use crate::dice::Dice;
use crate::digits::{push_padded, push_u64};
use crate::traffic::DUPLICATE_PPM;
use crate::HOUR_MS;
use anyhow::{Context, Result};
use chrono::{DateTime, Datelike, Timelike};
use std::path::PathBuf;

/// The `type` of every event.
pub const EVENT_TYPE: &str = "tokens.generated";
/// The ChaCha8 streams of the events' values and of their files' names (the access logs use
/// streams 0 and 1), so that events change no byte of the access logs.
const VALUES_STREAM: u64 = 2;
const NAMES_STREAM: u64 = 3;

/// An event's time is its request's plus up to this many milliseconds.
const MAX_SKEW_MS: u64 = 2_000;
/// An event arrives at Firehose this long after its time.
const MIN_DELAY_MS: u64 = 100;
const MAX_DELAY_MS: u64 = 60_000;
/// How late a retried copy may come after the original (capped at the end of the hour after
/// the event's hour).
const MAX_RETRY_MS: u64 = 900_000;
const DAY_MS: i64 = 24 * HOUR_MS;

// Rates in parts per million.
/// Events with a fractional value.
const DECIMAL_PPM: u64 = 100_000;
/// Events with an integer value written as a string (fractional ones: half).
const INTEGER_TEXT_PPM: u64 = 100_000;
/// Events whose model is `small`.
const SMALL_MODEL_PPM: u64 = 700_000;
/// Events followed by a bad one (of a kind drawn at random).
const BAD_PPM: u64 = 50;
/// Requests at or after which a bad event of each kind is sent, as a fraction of the month's
/// requests (`(2k + 1) / 8` for kind `k`), when there are at least 1000 of them.
const FORCED_BAD_EIGHTHS: [u64; 4] = [1, 3, 5, 7];

/// What is wrong with a bad event: no bill counts it, `bill` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    NoId,
    NoTenant,
    /// `"value": "abc"`.
    NotADecimal,
    /// A time two or more months before its arrival: the bill of its time's month does not
    /// read the folder it arrived in.
    OutsideAnyWindow,
}

const BAD_KINDS: [Bad; 4] = [
    Bad::NoId,
    Bad::NoTenant,
    Bad::NotADecimal,
    Bad::OutsideAnyWindow,
];

/// An event's `value`, in thousandths.
#[derive(Debug, Clone, Copy)]
enum Value {
    Number(u64),
    Text(u64),
    NotADecimal,
}

/// One event's fields; `None` leaves the key out.
struct Fields<'a> {
    id: Option<&'a [u8; 36]>,
    /// `tenant-TTTT`.
    tenant: Option<u64>,
    /// Epoch milliseconds, not before 1970.
    time: i64,
    /// Written as epoch milliseconds (`true`) or an RFC 3339 string.
    epoch: bool,
    value: Value,
    large: bool,
}

impl Fields<'_> {
    /// Replaces `line` with the event's line, newline included.
    fn write_line(&self, line: &mut Vec<u8>) {
        line.clear();
        line.push(b'{');
        if let Some(id) = self.id {
            line.extend_from_slice(b"\"id\": \"");
            line.extend_from_slice(id);
            line.extend_from_slice(b"\", ");
        }
        if let Some(tenant) = self.tenant {
            line.extend_from_slice(b"\"tenant\": \"tenant-");
            push_padded(line, tenant, 4);
            line.extend_from_slice(b"\", ");
        }
        line.extend_from_slice(b"\"type\": \"");
        line.extend_from_slice(EVENT_TYPE.as_bytes());
        line.extend_from_slice(b"\", \"time\": ");
        if self.epoch {
            push_u64(line, self.time.max(0) as u64);
        } else {
            line.push(b'"');
            push_rfc3339(line, self.time);
            line.push(b'"');
        }
        line.extend_from_slice(b", \"value\": ");
        match self.value {
            Value::Number(thousandths) => push_thousandths(line, thousandths),
            Value::Text(thousandths) => {
                line.push(b'"');
                push_thousandths(line, thousandths);
                line.push(b'"');
            }
            Value::NotADecimal => line.extend_from_slice(b"\"abc\""),
        }
        line.extend_from_slice(b", \"properties\": {\"model\": \"");
        line.extend_from_slice(if self.large { b"large" } else { b"small" });
        line.extend_from_slice(b"\"}}\n");
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn push_rfc3339(line: &mut Vec<u8>, ms: i64) {
    let t = DateTime::from_timestamp_millis(ms.max(0))
        .expect("event times are after 1970")
        .naive_utc();
    push_padded(line, u64::from(t.year().unsigned_abs()), 4);
    line.push(b'-');
    push_padded(line, u64::from(t.month()), 2);
    line.push(b'-');
    push_padded(line, u64::from(t.day()), 2);
    line.push(b'T');
    push_padded(line, u64::from(t.hour()), 2);
    line.push(b':');
    push_padded(line, u64::from(t.minute()), 2);
    line.push(b':');
    push_padded(line, u64::from(t.second()), 2);
    line.push(b'.');
    push_padded(line, ms.max(0).rem_euclid(1000) as u64, 3);
    line.push(b'Z');
}

/// A number of thousandths as a decimal without trailing zeros: `812500` is `812.5`.
fn push_thousandths(line: &mut Vec<u8>, thousandths: u64) {
    push_u64(line, thousandths / 1000);
    let mut fraction = thousandths % 1000;
    if fraction == 0 {
        return;
    }
    let mut digits = 3;
    while fraction.is_multiple_of(10) {
        fraction /= 10;
        digits -= 1;
    }
    line.push(b'.');
    push_padded(line, fraction, digits);
}

/// The backend's events of the month and their truth.
pub struct Events {
    dice: Dice,
    pub buffers: Buffers,
    month_start: i64,
    month_end: i64,
    /// Requests in the month, for the bad events sent at fixed places.
    requests: u64,
    /// The next kind of [`BAD_KINDS`] sent at a fixed place.
    next_forced: usize,
    /// Per tenant index: billed events and the sum of their values, in thousandths.
    pub per_tenant: Vec<(u64, u64)>,
    line: Vec<u8>,
    bad_line: Vec<u8>,
    /// Distinct events whose time is in the month: what its bill counts.
    pub billed: u64,
    /// Distinct events whose time is in the next month (a request of the month's last
    /// seconds, plus the skew): counted outside the month.
    pub next_month: u64,
    /// Second copies of events.
    pub duplicates: u64,
    pub bad: u64,
}

impl Events {
    /// Writes into `root`, the folder `folder` of the output, files named after
    /// `stream_name`.
    pub fn new(
        options: &crate::SimulateOptions,
        root: PathBuf,
        folder: &str,
        stream_name: &str,
    ) -> Events {
        let names = Dice::new(options.seed, NAMES_STREAM);
        Events {
            dice: Dice::new(options.seed, VALUES_STREAM),
            buffers: Buffers::new(Sink::new(root, folder, stream_name, options.gzip, names)),
            month_start: options.month.start_ms(),
            month_end: options.month.end_ms(),
            requests: options.requests,
            next_forced: 0,
            per_tenant: vec![(0, 0); options.tenants as usize + 1],
            line: Vec::with_capacity(256),
            bad_line: Vec::with_capacity(256),
            billed: 0,
            next_month: 0,
            duplicates: 0,
            bad: 0,
        }
    }

    /// Sends the event of the successful request number `index` (in time order), made at
    /// `request_time` by tenant `tenant` (1..=T): written, perhaps twice, perhaps with a bad
    /// event beside it, and counted.
    pub fn send(&mut self, index: u64, request_time: i64, tenant: usize) -> Result<()> {
        let dice = &mut self.dice;
        let time = request_time + dice.below(MAX_SKEW_MS + 1) as i64;
        let id = dice.uuid();
        let thousandths = if dice.ppm(DECIMAL_PPM) {
            // 1 to 3 digits after the point, the last not 0.
            let digits = dice.between(1, 3) as u32;
            let fraction = dice.below(10u64.pow(digits - 1)) * 10 + dice.between(1, 9);
            dice.skewed(0, 3_999) * 1000 + fraction * 10u64.pow(3 - digits)
        } else {
            dice.skewed(1, 4_000) * 1000
        };
        let text = if thousandths.is_multiple_of(1000) {
            dice.ppm(INTEGER_TEXT_PPM)
        } else {
            dice.below(2) == 0
        };
        let event = Fields {
            id: Some(&id),
            tenant: Some(tenant as u64),
            time,
            epoch: dice.below(2) == 0,
            value: if text {
                Value::Text(thousandths)
            } else {
                Value::Number(thousandths)
            },
            large: !dice.ppm(SMALL_MODEL_PPM),
        };
        event.write_line(&mut self.line);

        let arrival = time + dice.skewed(MIN_DELAY_MS, MAX_DELAY_MS) as i64;
        let to = Destination::regular(arrival);

        // A bad event beside it, at fixed places of the month and now and then.
        let forced = self.requests >= 1000
            && self.next_forced < BAD_KINDS.len()
            && u128::from(index)
                >= u128::from(FORCED_BAD_EIGHTHS[self.next_forced]) * u128::from(self.requests) / 8;
        let bad = if forced {
            self.next_forced += 1;
            Some(BAD_KINDS[self.next_forced - 1])
        } else if dice.ppm(BAD_PPM) {
            Some(BAD_KINDS[dice.below(BAD_KINDS.len() as u64) as usize])
        } else {
            None
        };
        if let Some(bad) = bad {
            let other = dice.uuid();
            let fields = match bad {
                Bad::NoId => Fields { id: None, ..event },
                Bad::NoTenant => Fields {
                    id: Some(&other),
                    tenant: None,
                    ..event
                },
                Bad::NotADecimal => Fields {
                    id: Some(&other),
                    value: Value::NotADecimal,
                    ..event
                },
                Bad::OutsideAnyWindow => {
                    // Before the month (more than 31 days back), and before the previous
                    // month when the event arrives on the month's first day (more than 62
                    // days back): the bill of its time's month reads the folders up to the
                    // first hours of the next month's first day at most, not this one.
                    let back = if arrival < self.month_start + DAY_MS {
                        dice.between(63, 90)
                    } else {
                        dice.between(32, 60)
                    };
                    Fields {
                        id: Some(&other),
                        time: (arrival - back as i64 * DAY_MS).max(0),
                        ..event
                    }
                }
            };
            fields.write_line(&mut self.bad_line);
            self.buffers.push(to, arrival, &self.bad_line)?;
            self.bad += 1;
        }

        self.buffers.push(to, arrival, &self.line)?;
        if dice.ppm(DUPLICATE_PPM) {
            // A retried PutRecordBatch: the same file, a later one or the next hour's folder,
            // never later than the end of the hour after the event's.
            let latest = (time.div_euclid(HOUR_MS) + 2) * HOUR_MS - 1;
            let (again, to) = if dice.below(100) < 40 {
                (arrival, to)
            } else {
                let again = (arrival + dice.between(1_000, MAX_RETRY_MS) as i64).min(latest);
                (again, Destination::regular(again))
            };
            self.buffers.push(to, again, &self.line)?;
            self.duplicates += 1;
        }

        if time < self.month_end {
            let truth = &mut self.per_tenant[tenant];
            truth.0 += 1;
            truth.1 += thousandths;
            self.billed += 1;
        } else {
            self.next_month += 1;
        }
        Ok(())
    }

    /// Writes the buffers that no event sent at `time` or later can go to.
    pub fn close_before(&mut self, time: i64) -> Result<()> {
        self.buffers
            .close_before(time)
            .context("writing usage events")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(fields: &Fields) -> String {
        let mut line = b"left over".to_vec();
        fields.write_line(&mut line);
        String::from_utf8(line).unwrap()
    }

    #[test]
    fn events_are_lines_that_metering_reads() {
        let id = *b"0f8fad5b-d9cb-469f-a165-70867728950e";
        let event = Fields {
            id: Some(&id),
            tenant: Some(12),
            time: 1_791_374_400_250,
            epoch: false,
            value: Value::Text(812_500),
            large: true,
        };
        let text = line(&event);
        assert_eq!(
            text,
            "{\"id\": \"0f8fad5b-d9cb-469f-a165-70867728950e\", \"tenant\": \"tenant-0012\", \"type\": \"tokens.generated\", \"time\": \"2026-10-07T12:00:00.250Z\", \"value\": \"812.5\", \"properties\": {\"model\": \"large\"}}\n"
        );
        let parsed = metering::Event::parse(text.trim_end().as_bytes()).unwrap();
        assert_eq!(parsed.time_ms, 1_791_374_400_250);
        assert_eq!(parsed.value, Some(812_500_000_000));
        assert_eq!(&*parsed.tenant, "tenant-0012");

        for (value, shown) in [
            (Value::Number(4_000_000), "4000"),
            (Value::Number(1), "0.001"),
            (Value::Number(7_020), "7.02"),
            (Value::Text(123_456), "\"123.456\""),
        ] {
            let text = line(&Fields {
                value,
                epoch: true,
                large: false,
                ..event
            });
            assert!(
                text.contains(&format!("\"time\": 1791374400250, \"value\": {shown}, \"properties\": {{\"model\": \"small\"}}}}\n")),
                "{text}"
            );
            metering::Event::parse(text.trim_end().as_bytes()).unwrap();
        }

        let bad = |fields: Fields| {
            metering::Event::parse(line(&fields).trim_end().as_bytes()).map(|_| ())
        };
        assert_eq!(
            bad(Fields { id: None, ..event }),
            Err(metering::EventError::NoId)
        );
        assert_eq!(
            bad(Fields {
                tenant: None,
                ..event
            }),
            Err(metering::EventError::NoTenant)
        );
        assert!(matches!(
            bad(Fields {
                value: Value::NotADecimal,
                ..event
            }),
            Err(metering::EventError::Value(_))
        ));
    }

    #[test]
    fn rfc3339_times_are_the_epoch_times() {
        for ms in [
            0,
            999,
            1_000,
            1_791_374_400_250,
            1_798_761_599_999,
            4_102_444_800_000,
        ] {
            let mut text = Vec::new();
            push_rfc3339(&mut text, ms);
            let text = String::from_utf8(text).unwrap();
            assert_eq!(text.len(), 24, "{text}");
            let parsed = chrono::DateTime::parse_from_rfc3339(&text).unwrap();
            assert_eq!(parsed.timestamp_millis(), ms, "{text}");
        }
    }
}
