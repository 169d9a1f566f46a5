//! Sending usage events to the usage-events stream, as a SaaS backend does: what `metering-gen
//! emit` runs, and the code docs/billing.md shows (between the `docs:` markers below; a test
//! keeps the two the same).
//!
//! The limits are Firehose's (API Reference, `PutRecordBatch`): "Each PutRecordBatch request
//! supports up to 500 records. Each record in the request can be as large as 1,000 KB (before
//! base64 encoding), up to a limit of 4 MB for the entire request"; and a call can succeed for
//! some records only: "Even if the PutRecordBatch call succeeds, the value of FailedPutCount
//! may be greater than 0 [...] retry the request, resending only those records that might have
//! failed processing". The SDK retries a call that fails as a whole (throttling, 5xx) by
//! itself; the records a successful call refuses are this code's to send again.

use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;
use aws_sdk_firehose::Client;
use std::time::Duration;

/// Records per `PutRecordBatch`.
pub const BATCH_RECORDS: usize = 500;
/// Bytes of data per `PutRecordBatch`: 4 MB for the whole request, which carries the data
/// base64-encoded (4/3 of it), so 3 MB of data.
pub const BATCH_BYTES: usize = 3_000_000;
/// Bytes of one record's data, before base64 (API Reference, `Record`: "Maximum length of
/// 1024000").
pub const MAX_RECORD_BYTES: usize = 1_024_000;
/// Sends of a batch before its still-refused records are reported.
pub const ATTEMPTS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(
        "event {index} has {bytes} bytes, more than a Firehose record holds ({MAX_RECORD_BYTES})"
    )]
    TooLarge { index: usize, bytes: usize },
    #[error("PutRecordBatch to `{stream}` failed: {message}")]
    Call { stream: String, message: String },
    #[error("`{stream}` refused {refused} event(s) {ATTEMPTS} times; the last answer: {code}: {message}")]
    Refused {
        stream: String,
        refused: usize,
        code: String,
        message: String,
    },
}

/// `events` in consecutive batches within [`BATCH_RECORDS`] and [`BATCH_BYTES`].
pub fn batches(events: &[Vec<u8>]) -> Result<Vec<&[Vec<u8>]>, SendError> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (index, event) in events.iter().enumerate() {
        if event.len() > MAX_RECORD_BYTES {
            return Err(SendError::TooLarge {
                index,
                bytes: event.len(),
            });
        }
        if index - start == BATCH_RECORDS || bytes + event.len() > BATCH_BYTES {
            out.push(&events[start..index]);
            (start, bytes) = (index, 0);
        }
        bytes += event.len();
    }
    if start < events.len() {
        out.push(&events[start..]);
    }
    Ok(out)
}

// docs:begin send_events
/// Sends `events` (each one JSON object, one record each) to the Firehose stream `stream`, in
/// batches of at most 500 records and 3 MB of data, and sends again the records a batch
/// reports as failed, waiting 0.2, 0.4, 0.8, 1.6 s; fails when some are still refused after
/// 5 sends. A record sent twice is harmless: billing counts each event `id` once.
pub async fn send_events(
    client: &Client,
    stream: &str,
    events: &[Vec<u8>],
) -> Result<(), SendError> {
    for batch in batches(events)? {
        let mut pending: Vec<Record> = batch
            .iter()
            .map(|event| {
                let data = Blob::new(event.as_slice());
                Record::builder().data(data).build().expect("data is set")
            })
            .collect();
        for attempt in 1..=ATTEMPTS {
            let answer = client
                .put_record_batch()
                .delivery_stream_name(stream)
                .set_records(Some(pending.clone()))
                .send()
                .await
                .map_err(|e| SendError::Call {
                    stream: stream.to_owned(),
                    message: aws_sdk_firehose::error::DisplayErrorContext(e).to_string(),
                })?;
            if answer.failed_put_count() == 0 {
                break;
            }
            // One response per record, in the request's order; a failed one has an ErrorCode.
            let responses = answer.request_responses();
            let (code, message) = responses
                .iter()
                .find_map(|r| Some((r.error_code()?, r.error_message().unwrap_or_default())))
                .unwrap_or(("?", "FailedPutCount without a failed record"));
            let (code, message) = (code.to_owned(), message.to_owned());
            if responses.len() == pending.len() {
                pending = pending
                    .into_iter()
                    .zip(responses)
                    .filter(|(_, response)| response.error_code().is_some())
                    .map(|(record, _)| record)
                    .collect();
            } // else: which failed is unknown; all are sent again (copies count once)
            if attempt == ATTEMPTS {
                return Err(SendError::Refused {
                    stream: stream.to_owned(),
                    refused: pending.len(),
                    code,
                    message,
                });
            }
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
    }
    Ok(())
}
// docs:end send_events

/// A Firehose client of the default credential chain and region (environment, profile, SSO…).
pub async fn client_from_environment() -> Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    Client::new(&config)
}

/// A fresh event id: `evt-` and 32 random hex digits.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the system's random source");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("evt-{hex}")
}

/// Now, as an event's RFC 3339 `time` in UTC with milliseconds.
pub fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_stay_within_the_records_and_bytes_of_a_call() {
        let small = vec![vec![b'x'; 10]; 1201];
        let sizes: Vec<usize> = batches(&small).unwrap().iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [500, 500, 201]);

        let large = vec![vec![b'x'; 1_000_000]; 7];
        let sizes: Vec<usize> = batches(&large).unwrap().iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [3, 3, 1]);

        assert!(batches(&[]).unwrap().is_empty());
        let too_large = vec![vec![b'x'; 3], vec![b'x'; MAX_RECORD_BYTES + 1]];
        assert!(matches!(
            batches(&too_large),
            Err(SendError::TooLarge { index: 1, .. })
        ));
    }
}
