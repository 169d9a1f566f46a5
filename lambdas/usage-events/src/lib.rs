//! The usage-events stream's data transformation: Firehose hands it each buffer of records,
//! and it returns every record with each of its lines in canonical form
//! ([`metering::normalise`]: epoch-millisecond `time`, the exact `value` as a string), or
//! flagged with why it cannot be billed, one line each, newline-terminated (a record's events
//! first, then its bad lines). So the objects in
//! S3 are JSON Lines whatever the sender wrote (one event per record, several lines per
//! record, or a record without a final newline), the tables read only the types they declare,
//! and a bad event is kept, counted and reported instead of lost.
//!
//! The contract (Amazon Data Firehose Developer Guide, "Required parameters for data
//! transformation", `data-transformation-status-model.html`): every record comes back with its
//! `recordId`, a `result` (`Ok`, `Dropped` or `ProcessingFailed`) and its base64 `data`;
//! "Any mismatch between the ID of the original record and the ID of the transformed record
//! is treated as a data transformation failure". A record with no line but blank ones is
//! `Dropped` (it carries no usage); every other record is `Ok`, bad events included, so that
//! nothing goes to the error output for a reason the billing could report itself.

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::firehose::KinesisFirehoseEvent;
use serde::Serialize;

/// What the transformation returns to Firehose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Response {
    pub records: Vec<Record>,
}

/// One transformed record: exactly the documented parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub record_id: String,
    pub result: Outcome,
    pub data: Base64Data,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    Ok,
    Dropped,
}

/// What one invocation saw, for its log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub records: u64,
    /// Records without an event (blank): dropped.
    pub dropped: u64,
    /// Lines in canonical form.
    pub events: u64,
    /// Lines flagged as bad events.
    pub bad_events: u64,
}

impl Counts {
    /// One line of JSON for CloudWatch Logs.
    pub fn log_line(&self) -> String {
        serde_json::json!({"message": "usage events transformed", "counts": self}).to_string()
    }
}

/// One flagged line for the bad lines of a record that, flagged one by one, would make it
/// more than twice its size: Firehose buffers up to 1 MB for the function (its default, which the
/// stream keeps), and the function's response, base64-encoded, must stay within Lambda's
/// 6 MB payload quota.
fn summary_line(record: &[u8], bad_lines: u64) -> Vec<u8> {
    let problem = format!(
        "{bad_lines} lines of a record of {} bytes are not usage events",
        record.len()
    );
    let mut line = serde_json::to_vec(&serde_json::json!({
        "problem": problem,
        "record": String::from_utf8_lossy(&record[..record.len().min(metering::FLAGGED_RECORD_BYTES)]),
        "record_bytes": record.len(),
    }))
    .expect("strings serialize");
    line.push(b'\n');
    line
}

/// Transforms every record of the invocation, in order.
pub fn transform(event: KinesisFirehoseEvent) -> (Response, Counts) {
    let mut counts = Counts::default();
    let records = event
        .records
        .into_iter()
        .map(|record| {
            counts.records += 1;
            let mut good: Vec<u8> = Vec::with_capacity(record.data.0.len() + 64);
            let mut bad: Vec<u8> = Vec::new();
            let mut bad_lines = 0u64;
            for line in record.data.0.split(|b| *b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let canonical = metering::normalise(line);
                let out = if metering::Event::parse(&canonical).is_ok() {
                    counts.events += 1;
                    &mut good
                } else {
                    bad_lines += 1;
                    &mut bad
                };
                out.extend_from_slice(&canonical);
                out.push(b'\n');
            }
            let mut data = good;
            if data.len() + bad.len() > 2 * record.data.0.len() + 1024 {
                // Many short bad lines (each flagged line is longer than the line): the events
                // as they are, and one line for the bad ones, so that the response stays
                // within Lambda's 6 MB.
                data.extend_from_slice(&summary_line(&record.data.0, bad_lines));
                counts.bad_events += 1;
            } else {
                data.extend_from_slice(&bad);
                counts.bad_events += bad_lines;
            }
            let result = if data.is_empty() {
                counts.dropped += 1;
                Outcome::Dropped
            } else {
                Outcome::Ok
            };
            let mut encoded = Base64Data::default();
            *encoded = data;
            Record {
                // Firehose always sends one; an empty id comes back as it came.
                record_id: record.record_id.unwrap_or_default(),
                result,
                data: encoded,
            }
        })
        .collect();
    (Response { records }, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation(records: &[(&str, &[u8])]) -> KinesisFirehoseEvent {
        use base64::Engine as _;
        let records: Vec<serde_json::Value> = records
            .iter()
            .map(|(id, data)| {
                serde_json::json!({
                    "recordId": id,
                    "approximateArrivalTimestamp": 1_791_374_400_000i64,
                    "data": base64::engine::general_purpose::STANDARD.encode(data),
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "invocationId": "i-1",
            "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/usage-events",
            "region": "eu-west-1",
            "records": records,
        }))
        .unwrap()
    }

    fn data(response: &Response, i: usize) -> String {
        String::from_utf8(response.records[i].data.0.clone()).unwrap()
    }

    #[test]
    fn every_record_comes_back_with_its_id_in_order() {
        let (response, counts) = invocation_of(&[
            ("r-1", br#"{"id": "e-1", "tenant": "acme", "type": "t", "time": "2026-10-07T12:00:00Z", "value": 1.50}"#),
            ("r-2", b"{\"id\": \"e-2\", \"tenant\": \"acme\", \"type\": \"t\", \"time\": 5}\r\n\n{\"id\": \"e-3\"}\n"),
            ("r-3", b"  \n"),
        ]);
        let ids: Vec<&str> = response
            .records
            .iter()
            .map(|r| r.record_id.as_str())
            .collect();
        assert_eq!(ids, ["r-1", "r-2", "r-3"]);
        assert_eq!(
            data(&response, 0),
            "{\"id\":\"e-1\",\"tenant\":\"acme\",\"type\":\"t\",\"time\":1791374400000,\"value\":\"1.5\"}\n"
        );
        assert_eq!(
            data(&response, 1),
            "{\"id\":\"e-2\",\"tenant\":\"acme\",\"type\":\"t\",\"time\":5}\n\
             {\"problem\":\"no `tenant`\",\"record\":\"{\\\"id\\\": \\\"e-3\\\"}\"}\n"
        );
        assert_eq!(
            [
                response.records[0].result,
                response.records[1].result,
                response.records[2].result
            ],
            [Outcome::Ok, Outcome::Ok, Outcome::Dropped]
        );
        assert_eq!(data(&response, 2), "");
        assert_eq!(
            counts,
            Counts {
                records: 3,
                dropped: 1,
                events: 2,
                bad_events: 1
            }
        );
    }

    fn invocation_of(records: &[(&str, &[u8])]) -> (Response, Counts) {
        transform(invocation(records))
    }

    #[test]
    fn the_response_has_exactly_the_documented_parameters() {
        let (response, _) = invocation_of(&[("r-1", b"{}")]);
        let json = serde_json::to_value(&response).unwrap();
        let record = json["records"][0].as_object().unwrap();
        let mut keys: Vec<&str> = record.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["data", "recordId", "result"]);
        assert_eq!(record["result"], "Ok");
        // base64 of the flagged line.
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(record["data"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "{\"problem\":\"no `id`\",\"record\":\"{}\"}\n"
        );
    }

    #[test]
    fn the_bad_lines_of_a_record_of_many_short_ones_come_back_as_one_line() {
        let event = r#"{"id":"e","tenant":"t","type":"x","time":5}"#;
        let record = format!("{event}\n{}", "x\n".repeat(100_000));
        let (response, counts) = invocation_of(&[("r", record.as_bytes())]);
        let out = data(&response, 0);
        assert!(out.len() < 2 * record.len(), "{}", out.len());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], event, "the event is kept");
        assert!(
            lines[1].starts_with(
                "{\"problem\":\"100000 lines of a record of 200044 bytes are not usage events\""
            ),
            "{}",
            &lines[1][..200]
        );
        assert!(matches!(
            metering::Event::parse(lines[1].as_bytes()),
            Err(metering::EventError::Flagged(_))
        ));
        assert_eq!((counts.events, counts.bad_events), (1, 1));
    }

    proptest::proptest! {
        /// Whatever the bytes, each record comes back with its id, as whole lines, and every
        /// line reads back as the event it was or as a flagged bad event.
        #[test]
        fn any_bytes_come_back_as_lines_that_read(data in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let (response, counts) = invocation_of(&[("r", &data)]);
            proptest::prop_assert_eq!(response.records.len(), 1);
            let out = &response.records[0].data.0;
            proptest::prop_assert!(out.is_empty() || out.ends_with(b"\n"));
            proptest::prop_assert!(out.len() <= 2 * data.len() + 1024);
            let mut lines = 0;
            for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                lines += 1;
                proptest::prop_assert!(matches!(
                    metering::Event::parse(line),
                    Ok(_) | Err(metering::EventError::Flagged(_))
                ));
            }
            proptest::prop_assert_eq!(lines, counts.events + counts.bad_events);
        }
    }
}
