//! The per-hour JSON log line. Kept to one test in its own binary: tracing
//! caches callsite interest process-wide, so a subscriber set while other
//! tests log on other threads can miss events.

mod common;

use common::*;
use compaction::App;
use lambda_support::athena::{QueryState, QueryStatus};
use lambda_support::logging;
use lambda_support::testing::LogBuffer;
use serde_json::{json, Value};

/// The line without the fields that change from run to run.
fn stable(line: &Value) -> Value {
    let mut line = line.clone();
    let object = line.as_object_mut().unwrap();
    let timestamp = object.remove("timestamp").unwrap();
    assert!(
        timestamp.as_str().is_some_and(|t| t.ends_with('Z')),
        "{timestamp}"
    );
    line
}

#[tokio::test(start_paused = true)]
async fn one_json_log_line_per_hour() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(logging::json_subscriber(move || writer.clone()))
        .expect("no other subscriber in this test binary");

    // A compacted hour: one INFO line with the counts and the four query ids.
    let fake = FakeAws::with_json_for(vec![queued_running_running_succeeded()], &[hour()]);
    fake.put(
        "bucket",
        "parquet-data/year=2026/month=11/day=28/hour=00/old.parquet",
    );
    App::new(fake.clone(), fake, settings())
        .run(&scheduled_event(), far_deadline())
        .await
        .unwrap();

    let raw = logs.take_raw();
    assert_eq!(raw.len(), 1, "{raw:?}");
    // Timestamp, level and message lead, then the hour's fields in their order.
    let after_timestamp = raw[0].split_once("\",\"level\"").map(|(_, rest)| rest);
    assert_eq!(
        after_timestamp.map(|rest| &rest[..rest.find(",\"outcome\"").unwrap()]),
        Some(":\"INFO\",\"message\":\"hour compacted\",\"hour\":\"2026-11-28T00\""),
        "{}",
        raw[0]
    );
    assert!(raw[0].starts_with("{\"timestamp\":\""), "{}", raw[0]);
    let lines: Vec<Value> = raw
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        stable(&lines[0]),
        json!({
            "level": "INFO",
            "message": "hour compacted",
            "hour": "2026-11-28T00",
            "outcome": "compacted",
            "source": "access_logs",
            "rows_in": 10,
            "rows_out": 9,
            "objects_deleted": 1,
            "query_ids": {"count": "qid-1", "drop_leftover": "qid-2", "ctas": "qid-3", "drop_temp": "qid-4"},
            "error": null,
            "error_kind": null,
            "source_folder": "s3://bucket/json-data/year=2026/month=11/day=28/hour=00/",
            "destination": "s3://bucket/parquet-data/year=2026/month=11/day=28/hour=00/",
            "elapsed_ms": 1400,
        })
    );

    // A failed hour: one ERROR line with the ids so far and Athena's reason.
    let failed = QueryStatus {
        state: QueryState::Failed,
        state_change_reason: Some("Insufficient permissions".to_owned()),
        error_message: None,
    };
    let fake = FakeAws::with_json_for(
        vec![vec![succeeded()], vec![succeeded()], vec![failed]],
        &[hour()],
    );
    App::new(fake.clone(), fake, settings())
        .run(&scheduled_event(), far_deadline())
        .await
        .unwrap_err();

    let lines = logs.take_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(
        stable(&lines[0]),
        json!({
            "level": "ERROR",
            "message": "hour compaction failed",
            "hour": "2026-11-28T00",
            "outcome": "failed",
            "source": "access_logs",
            "rows_in": 10,
            "rows_out": 9,
            "objects_deleted": 0,
            "query_ids": {"count": "qid-1", "drop_leftover": "qid-2", "ctas": "qid-3", "drop_temp": null},
            "error": "hour 2026-11-28T00: the ctas query (query execution id qid-3) ended FAILED: \
                      Insufficient permissions",
            "error_kind": "QueryFailed",
            "source_folder": "s3://bucket/json-data/year=2026/month=11/day=28/hour=00/",
            "destination": "s3://bucket/parquet-data/year=2026/month=11/day=28/hour=00/",
            "elapsed_ms": 0,
        })
    );

    // A backfill of an empty hour and a compacted one: a line for each.
    let fake = FakeAws::with_json_for(vec![], &hours(&["2026-11-28T01"]));
    App::new(fake.clone(), fake, settings())
        .with_clock(test_clock)
        .run(
            &json!({"from": "2026-11-28T00", "to": "2026-11-28T01"}),
            far_deadline(),
        )
        .await
        .unwrap();
    let lines = logs.take_lines();
    let summary: Vec<(&str, &str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["hour"].as_str().unwrap(),
                l["outcome"].as_str().unwrap(),
                l["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "2026-11-28T00",
                "empty",
                "hour skipped: no JSON files in its folder"
            ),
            ("2026-11-28T01", "compacted", "hour compacted"),
        ]
    );
    assert_eq!(lines[0]["rows_in"], Value::Null);
    assert_eq!(lines[0]["query_ids"]["count"], Value::Null);

    // An event without an hour: one ERROR line, no call.
    let fake = FakeAws::new(vec![]);
    App::new(fake.clone(), fake.clone(), settings())
        .run(&json!({"source": "aws.events"}), far_deadline())
        .await
        .unwrap_err();
    let lines = logs.take_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["outcome"], "invalid_event");
    assert_eq!(lines[0]["level"], "ERROR");
    assert!(lines[0]["error"]
        .as_str()
        .unwrap()
        .starts_with("event has none of"));
    assert!(fake.calls().is_empty());

    // An hour of usage events with a flagged line and events outside every window: a warning
    // for each, then the INFO line naming the source and both counts.
    let fake = FakeAws::with_json_for(vec![], &[hour()]);
    fake.queue_results(event_count_results(6, 4, 1, 2));
    App::new(fake.clone(), fake.clone(), events_settings())
        .with_clock(test_clock)
        .run(&json!({"hour": "2026-11-28T00"}), far_deadline())
        .await
        .unwrap();
    let lines = logs.take_lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let warnings: Vec<(&str, &str, &str, &Value)> = lines[..2]
        .iter()
        .map(|l| {
            (
                l["level"].as_str().unwrap(),
                l["source"].as_str().unwrap(),
                l["message"].as_str().unwrap(),
                &l["hour"],
            )
        })
        .collect();
    assert_eq!(
        warnings,
        [
            (
                "WARN",
                "usage_events",
                "lines of the hour are no usage event (flagged by the ingestion with their \
                 problem): left out of Parquet and billing",
                &json!("2026-11-28T00")
            ),
            (
                "WARN",
                "usage_events",
                "usage events of the hour have a time that no bill reads from this folder: kept \
                 in Parquet with problem 'outside any window', never billed",
                &json!("2026-11-28T00")
            ),
        ],
        "{lines:?}"
    );
    assert_eq!(lines[0]["rows_malformed"], 1, "{}", lines[0]);
    assert_eq!(lines[1]["rows_outside_windows"], 2, "{}", lines[1]);
    let mut info = stable(&lines[2]);
    let query_ids = info.as_object_mut().unwrap().remove("query_ids").unwrap();
    assert_eq!(query_ids["ctas"], "qid-3");
    assert_eq!(
        info,
        json!({
            "level": "INFO",
            "message": "hour compacted",
            "hour": "2026-11-28T00",
            "outcome": "compacted",
            "source": "usage_events",
            "rows_in": 6,
            "rows_out": 4,
            "rows_malformed": 1,
            "rows_outside_windows": 2,
            "objects_deleted": 0,
            "error": null,
            "error_kind": null,
            "source_folder": "s3://bucket/json-data/year=2026/month=11/day=28/hour=00/",
            "destination": "s3://bucket/parquet-data/year=2026/month=11/day=28/hour=00/",
            "elapsed_ms": 0,
        })
    );
    // The queries were the events' own.
    let starts = fake.starts();
    assert!(starts[0].1.starts_with("SELECT count_if("), "{starts:?}");
    assert!(starts[2].1.contains("'outside any window'"), "{starts:?}");
}
