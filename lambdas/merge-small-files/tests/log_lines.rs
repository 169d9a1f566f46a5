//! The per-hour JSON log line. Kept to one test in its own binary: tracing
//! caches callsite interest process-wide, so a subscriber set while other
//! tests log on other threads can miss events.

mod common;

use std::io;
use std::sync::{Arc, Mutex};

use common::*;
use merge_small_files::athena::{QueryState, QueryStatus};
use merge_small_files::{logging, App};
use serde_json::Value;

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    /// The JSON lines written since the last call.
    fn take_lines(&self) -> Vec<Value> {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap());
        let text = String::from_utf8(bytes).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }
}

#[tokio::test(start_paused = true)]
async fn one_json_log_line_per_hour() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(logging::json_subscriber(move || writer.clone()))
        .expect("no other subscriber in this test binary");

    // A compacted hour: one INFO line with the three query ids.
    let fake = FakeAthena::new(vec![queued_running_running_succeeded()]);
    App::new(fake, config())
        .run(&scheduled_event(), far_deadline())
        .await
        .unwrap();

    let lines = logs.take_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["message"], "hour compacted");
    assert_eq!(line["hour"], "2026-11-28T00");
    assert_eq!(line["outcome"], "succeeded");
    assert_eq!(line["drop_leftover_query_id"], "qid-1");
    assert_eq!(line["create_parquet_query_id"], "qid-2");
    assert_eq!(line["drop_temp_query_id"], "qid-3");
    assert_eq!(
        line["source"],
        "s3://bucket/json-data/year=2026/month=11/day=28/hour=00/"
    );
    assert_eq!(
        line["destination"],
        "s3://bucket/parquet-data/year=2026/month=11/day=28/hour=00/"
    );
    assert_eq!(line["elapsed_ms"], 1400);
    assert!(line["timestamp"].is_string(), "{line}");

    // A failed hour: one ERROR line with the ids so far and Athena's reason.
    let failed = QueryStatus {
        state: QueryState::Failed,
        state_change_reason: Some("Insufficient permissions".to_owned()),
        error_message: None,
    };
    let fake = FakeAthena::new(vec![vec![succeeded()], vec![failed]]);
    App::new(fake, config())
        .run(&scheduled_event(), far_deadline())
        .await
        .unwrap_err();

    let lines = logs.take_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["message"], "hour compaction failed");
    assert_eq!(line["hour"], "2026-11-28T00");
    assert_eq!(line["outcome"], "failed");
    assert_eq!(line["error_kind"], "QueryFailed");
    assert_eq!(line["drop_leftover_query_id"], "qid-1");
    assert_eq!(line["create_parquet_query_id"], "qid-2");
    assert!(line.get("drop_temp_query_id").is_none(), "{line}");
    let error = line["error"].as_str().unwrap();
    assert!(
        error.contains("qid-2") && error.contains("Insufficient permissions"),
        "{error}"
    );

    // An event without an hour: one ERROR line, no query.
    let fake = FakeAthena::new(vec![]);
    App::new(fake.clone(), config())
        .run(&serde_json::json!({"source": "aws.events"}), far_deadline())
        .await
        .unwrap_err();
    let lines = logs.take_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["outcome"], "invalid_event");
    assert!(fake.calls().is_empty());
}
