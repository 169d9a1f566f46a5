//! The job against the scripted in-memory Athena and S3 ([`FakeAws`]), on tokio's paused
//! clock so backoff and deadlines are exact and the tests take no real time.

mod common;

use std::time::Duration;

use common::*;
use compaction::error::Phase;
use compaction::sql::{self, Step};
use compaction::{App, HourError, JobError};
use lambda_support::athena::{QueryState, QueryStatus};
use lambda_support::manifest::Manifest;
use lambda_support::query::{Backoff, QueryFailure};
use lambda_support::testing::lambda_event;
use serde_json::{json, Value};
use tokio::time::Instant;

const JSON_PREFIX: &str = "json-data/year=2026/month=11/day=28/hour=00/";
const PARQUET_PREFIX: &str = "parquet-data/year=2026/month=11/day=28/hour=00/";

const MANIFEST_KEY: &str = "compaction-manifests/year=2026/month=11/day=28/hour=00/manifest.json";

/// A backfill of [`hour()`]; the scheduled run's survey of earlier hours is in
/// `scheduled_runs_compact_again_the_recent_hours_that_miss_objects` and `moto_wire.rs`.
fn hour_00() -> Value {
    json!({"hour": "2026-11-28T00"})
}

fn delete_manifest() -> Call {
    Call::Delete {
        bucket: "bucket".to_owned(),
        keys: vec![MANIFEST_KEY.to_owned()],
    }
}

fn put_manifest() -> Call {
    Call::Put {
        bucket: "bucket".to_owned(),
        key: MANIFEST_KEY.to_owned(),
    }
}

fn app(fake: &FakeAws) -> App<FakeAws, FakeAws> {
    App::new(fake.clone(), fake.clone(), settings()).with_clock(test_clock)
}

fn list(prefix: &str) -> Call {
    Call::List {
        bucket: "bucket".to_owned(),
        prefix: prefix.to_owned(),
    }
}

fn start(id: &str, sql: &str) -> Call {
    Call::Start {
        id: id.to_owned(),
        sql: sql.to_owned(),
        work_group: "metering-wg".to_owned(),
        output_location: "s3://results-bucket/tmp/".to_owned(),
    }
}

fn poll(id: &str, at: u64) -> Call {
    Call::Status {
        id: id.to_owned(),
        at: Duration::from_millis(at),
    }
}

fn results(id: &str) -> Call {
    Call::Results { id: id.to_owned() }
}

fn to_json(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap()
}

#[tokio::test(start_paused = true)]
async fn an_hour_runs_list_count_clear_drop_ctas_drop_each_waited_for() {
    let fake = FakeAws::with_json_for(
        vec![
            queued_running_running_succeeded(),
            vec![succeeded()],
            queued_running_running_succeeded(),
            vec![succeeded()],
        ],
        &[hour()],
    );
    fake.put("bucket", &format!("{PARQUET_PREFIX}old-1.parquet"));
    fake.put("bucket", &format!("{PARQUET_PREFIX}old-2.parquet"));
    // Neighbours that share the prefix text but are other hours or tables stay.
    fake.put(
        "bucket",
        "parquet-data/year=2026/month=11/day=28/hour=01/keep.parquet",
    );
    fake.put(
        "bucket",
        "parquet-data-old/year=2026/month=11/day=28/hour=00/keep.parquet",
    );

    let response = app(&fake).run(&hour_00(), far_deadline()).await.unwrap();

    let settings = settings();
    let count = sql::count_rows(&settings, &hour());
    let drop = sql::drop_temp_table(&settings, &hour());
    let ctas = sql::create_parquet_table(&settings, &hour());
    assert_eq!(
        fake.calls(),
        vec![
            list(JSON_PREFIX),
            start("qid-1", &count),
            poll("qid-1", 0),
            poll("qid-1", 200),
            poll("qid-1", 600),
            poll("qid-1", 1400),
            results("qid-1"),
            delete_manifest(),
            list(PARQUET_PREFIX),
            Call::Delete {
                bucket: "bucket".to_owned(),
                keys: vec![
                    format!("{PARQUET_PREFIX}old-1.parquet"),
                    format!("{PARQUET_PREFIX}old-2.parquet"),
                ],
            },
            start("qid-2", &drop),
            poll("qid-2", 1400),
            start("qid-3", &ctas),
            poll("qid-3", 1400),
            poll("qid-3", 1600),
            poll("qid-3", 2000),
            poll("qid-3", 2800),
            start("qid-4", &drop),
            poll("qid-4", 2800),
            put_manifest(),
        ]
    );
    let manifest = Manifest::from_bytes(&fake.body("bucket", MANIFEST_KEY).unwrap()).unwrap();
    assert_eq!(
        manifest.json_objects,
        [format!("{JSON_PREFIX}part-0001.json")]
    );
    assert_eq!(
        (manifest.rows_in, manifest.rows_out, manifest.rows_malformed),
        (10, 9, 0)
    );
    assert!(fake.keys("bucket", PARQUET_PREFIX).is_empty());
    assert_eq!(fake.keys("bucket", "parquet-data").len(), 2);

    assert_eq!(
        to_json(&response),
        json!({"hours": [{
            "hour": "2026-11-28T00",
            "outcome": "compacted",
            "source": "access_logs",
            "rows_in": 10,
            "rows_out": 9,
            "objects_deleted": 2,
            "query_ids": {"count": "qid-1", "drop_leftover": "qid-2", "ctas": "qid-3", "drop_temp": "qid-4"},
        }]})
    );
}

#[tokio::test(start_paused = true)]
async fn an_hour_without_json_files_is_skipped_without_touching_anything() {
    let fake = FakeAws::new(vec![]);
    fake.put("bucket", &format!("{PARQUET_PREFIX}earlier.parquet"));

    let response = app(&fake).run(&hour_00(), far_deadline()).await.unwrap();

    assert_eq!(fake.calls(), vec![list(JSON_PREFIX)]);
    assert_eq!(
        fake.keys("bucket", PARQUET_PREFIX).len(),
        1,
        "nothing deleted"
    );
    assert_eq!(
        to_json(&response.hours[0]),
        json!({
            "hour": "2026-11-28T00",
            "outcome": "empty",
            "source": "access_logs",
            "rows_in": null,
            "rows_out": null,
            "objects_deleted": 0,
            "query_ids": {"count": null, "drop_leftover": null, "ctas": null, "drop_temp": null},
        })
    );
}

#[tokio::test(start_paused = true)]
async fn json_files_without_rows_are_skipped_after_the_count() {
    let fake = FakeAws::with_json_for(vec![], &[hour()]);
    fake.queue_results(count_results(0, 0));
    fake.put("bucket", &format!("{PARQUET_PREFIX}earlier.parquet"));

    let response = app(&fake).run(&hour_00(), far_deadline()).await.unwrap();

    let count = sql::count_rows(&settings(), &hour());
    assert_eq!(
        fake.calls(),
        vec![
            list(JSON_PREFIX),
            start("qid-1", &count),
            poll("qid-1", 0),
            results("qid-1"),
            put_manifest(),
        ]
    );
    assert_eq!(
        fake.keys("bucket", PARQUET_PREFIX).len(),
        1,
        "nothing deleted"
    );
    let summary = &response.hours[0];
    assert_eq!(summary.outcome, "empty");
    assert_eq!((summary.rows_in, summary.rows_out), (Some(0), Some(0)));
    assert_eq!(summary.query_ids.count.as_deref(), Some("qid-1"));
    assert_eq!(summary.query_ids.ctas, None);
}

#[tokio::test(start_paused = true)]
async fn a_rerun_deletes_everything_in_batches_of_at_most_1000() {
    let fake = FakeAws::with_json_for(vec![], &[hour()]);
    for i in 0..2500 {
        fake.put("bucket", &format!("{PARQUET_PREFIX}part-{i:05}.parquet"));
    }

    let response = app(&fake)
        .run(&json!({"hour": "2026-11-28T00"}), far_deadline())
        .await
        .unwrap();

    let sizes: Vec<usize> = fake.deletes().iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        [1, 1000, 1000, 500],
        "the manifest, then the Parquet files"
    );
    let lists = fake
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::List { prefix, .. } if prefix == PARQUET_PREFIX))
        .count();
    assert_eq!(lists, 3, "ListObjectsV2 pages of 1000 keys");
    assert!(fake.keys("bucket", PARQUET_PREFIX).is_empty());
    assert_eq!(response.hours[0].objects_deleted, 2500);
    assert_eq!(response.hours[0].outcome, "compacted");
}

#[tokio::test(start_paused = true)]
async fn refused_deletes_fail_the_hour_naming_key_and_reason_before_any_ctas() {
    let fake = FakeAws::with_json_for(vec![], &[hour()]);
    fake.put("bucket", &format!("{PARQUET_PREFIX}a.parquet"));
    fake.put("bucket", &format!("{PARQUET_PREFIX}b.parquet"));
    fake.refuse_delete(&format!("{PARQUET_PREFIX}b.parquet"), "AccessDenied");

    let err = app(&fake)
        .run(&hour_00(), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "S3DeleteRefused");
    assert_eq!(
        err.to_string(),
        format!(
            "hour 2026-11-28T00: could not empty the Parquet folder \
             s3://bucket/{PARQUET_PREFIX}: S3 refused to delete {PARQUET_PREFIX}b.parquet \
             (AccessDenied: Access Denied)"
        )
    );
    let started: Vec<String> = fake.starts().into_iter().map(|(id, _)| id).collect();
    assert_eq!(started, ["qid-1"], "only the count query");
}

#[tokio::test(start_paused = true)]
async fn backoff_is_capped_at_five_seconds() {
    let mut long_run = vec![status(QueryState::Running); 8];
    long_run.push(succeeded());
    let fake = FakeAws::with_json_for(vec![long_run], &[hour()]);

    app(&fake)
        .run(&json!({"hour": "2026-11-28T00"}), far_deadline())
        .await
        .unwrap();

    assert_eq!(
        fake.polls_of("qid-1"),
        ms(&[0, 200, 600, 1400, 3000, 6200, 11200, 16200, 21200])
    );
}

#[tokio::test(start_paused = true)]
async fn failed_query_names_hour_id_state_and_reason_and_nothing_else_starts() {
    let failed = QueryStatus {
        state: QueryState::Failed,
        state_change_reason: Some(
            "HIVE_PATH_ALREADY_EXISTS: Target directory for table 'metering.tmp' already exists"
                .to_owned(),
        ),
        error_message: Some("Target directory already exists".to_owned()),
    };
    let fake = FakeAws::with_json_for(
        vec![
            vec![succeeded()],
            vec![succeeded()],
            vec![status(QueryState::Running), failed],
        ],
        &[hour()],
    );

    let err = app(&fake)
        .run(&hour_00(), far_deadline())
        .await
        .unwrap_err();

    match &err {
        JobError::Hour {
            error:
                HourError::Query {
                    hour: h,
                    step,
                    failure:
                        QueryFailure::Ended {
                            query_execution_id,
                            state,
                            ..
                        },
                },
            done,
            left,
        } => {
            assert_eq!(*h, hour());
            assert_eq!(*step, Step::Ctas);
            assert_eq!(query_execution_id, "qid-3");
            assert_eq!(*state, QueryState::Failed);
            assert!(done.is_empty());
            assert_eq!(left, &[hour()]);
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(err.kind(), "QueryFailed");
    assert_eq!(
        err.to_string(),
        "hour 2026-11-28T00: the ctas query (query execution id qid-3) ended FAILED: \
         HIVE_PATH_ALREADY_EXISTS: Target directory for table 'metering.tmp' already exists \
         (AthenaError: Target directory already exists)"
    );
    let started: Vec<String> = fake.starts().into_iter().map(|(id, _)| id).collect();
    assert_eq!(started, ["qid-1", "qid-2", "qid-3"]);
    assert_eq!(fake.polls_of("qid-3").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn cancelled_query_is_an_error() {
    let cancelled = QueryStatus {
        state: QueryState::Cancelled,
        state_change_reason: Some("Query was cancelled by the user".to_owned()),
        error_message: None,
    };
    let fake = FakeAws::with_json_for(vec![vec![status(QueryState::Queued), cancelled]], &[hour()]);

    let err = app(&fake)
        .run(&hour_00(), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "QueryCancelled");
    assert_eq!(
        err.to_string(),
        "hour 2026-11-28T00: the count query (query execution id qid-1) ended CANCELLED: \
         Query was cancelled by the user"
    );
    assert_eq!(fake.starts().len(), 1);
    assert!(fake.deletes().is_empty());
}

#[tokio::test(start_paused = true)]
async fn query_that_never_finishes_hits_the_deadline_and_is_stopped() {
    let fake = FakeAws::with_json_for(
        vec![
            vec![succeeded()],
            vec![succeeded()],
            vec![status(QueryState::Running)],
        ],
        &[hour()],
    );
    let begin = Instant::now();

    let err = app(&fake)
        .run(&hour_00(), begin + Duration::from_secs(10))
        .await
        .unwrap_err();

    assert_eq!(Instant::now() - begin, Duration::from_secs(10));
    let JobError::Hour { error, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        error,
        &HourError::Query {
            hour: hour(),
            step: Step::Ctas,
            failure: QueryFailure::Deadline {
                query_execution_id: "qid-3".to_owned(),
                last_state: QueryState::Running,
                stop: "StopQueryExecution requested".to_owned(),
                earlier: Default::default(),
            },
        }
    );
    assert_eq!(err.kind(), "QueryTimedOut");
    // The last sleep is shortened so the final poll happens at the deadline.
    assert_eq!(
        fake.polls_of("qid-3"),
        ms(&[0, 200, 600, 1400, 3000, 6200, 10000])
    );
    assert_eq!(
        fake.calls().last(),
        Some(&Call::Stop {
            id: "qid-3".to_owned()
        })
    );
    assert_eq!(fake.starts().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn handler_derives_the_deadline_from_the_lambda_context() {
    let fake = FakeAws::with_json_for(vec![vec![status(QueryState::Running)]], &[hour()]);
    let app = app(&fake).with_safety_margin(Duration::from_secs(15));
    let begin = Instant::now();

    let err = app
        .handle(lambda_event(hour_00(), Duration::from_secs(20)))
        .await
        .unwrap_err();

    let waited = Instant::now() - begin;
    assert_eq!(err.kind(), "QueryTimedOut", "{err}");
    // 20 s to the deadline less the 15 s margin (less the wall-clock time
    // this test has taken so far).
    assert!(
        waited > Duration::from_secs(4) && waited <= Duration::from_secs(5),
        "{waited:?}"
    );
    assert_eq!(
        fake.calls().last(),
        Some(&Call::Stop {
            id: "qid-1".to_owned()
        })
    );
}

#[tokio::test(start_paused = true)]
async fn deadline_already_passed_starts_nothing() {
    let fake = FakeAws::with_json_for(vec![], &[hour()]);

    let err = app(&fake)
        .run(&hour_00(), Instant::now())
        .await
        .unwrap_err();

    assert_eq!(
        err,
        JobError::Hour {
            error: HourError::DeadlineBeforeStart {
                hour: hour(),
                next: Phase::ListJson
            },
            done: vec![],
            left: vec![hour()],
        }
    );
    assert!(fake.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn start_failure_names_the_hour_and_step() {
    let fake = FakeAws::with_json_for(vec![], &hours(&["2026-02-03T04"]))
        .failing_start("StartQueryExecution failed: InvalidRequestException");

    let err = app(&fake)
        .run(&json!({"hour": "2026-02-03T04"}), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "StartQueryFailed");
    assert_eq!(
        err.to_string(),
        "hour 2026-02-03T04: could not start the count query: \
         StartQueryExecution failed: InvalidRequestException"
    );
}

#[tokio::test(start_paused = true)]
async fn bad_or_future_events_start_nothing() {
    for event in [
        json!({"detail-type": "Scheduled Event"}),
        json!({"hour": "2999-01-01T00"}),
        json!({"from": "2026-11-01T00", "to": "2026-11-05T00"}),
    ] {
        let fake = FakeAws::new(vec![]);
        let err = app(&fake).run(&event, far_deadline()).await.unwrap_err();
        assert!(matches!(err, JobError::Event(_)), "{err:?}");
        assert_eq!(err.kind(), "InvalidEvent");
        assert!(fake.calls().is_empty());
    }
}

#[tokio::test(start_paused = true)]
async fn custom_backoff_is_used() {
    let fake = FakeAws::with_json_for(vec![queued_running_running_succeeded()], &[hour()]);
    let backoff = Backoff {
        initial: Duration::from_millis(10),
        factor: 3,
        max: Duration::from_millis(50),
    };

    app(&fake)
        .with_backoff(backoff)
        .run(&hour_00(), far_deadline())
        .await
        .unwrap();

    assert_eq!(fake.polls_of("qid-1"), ms(&[0, 10, 40, 90]));
}

#[tokio::test(start_paused = true)]
async fn backfill_compacts_each_hour_in_order_and_reports_each() {
    let backfill = hours(&["2026-11-01T05", "2026-11-01T06", "2026-11-01T07"]);
    // 06 has no JSON files.
    let fake = FakeAws::with_json_for(vec![], &[backfill[0], backfill[2]]);
    fake.queue_results(count_results(5, 5));
    fake.queue_results(count_results(7, 4));

    let response = app(&fake)
        .run(
            &json!({"hours": ["2026-11-01T07", "2026-11-01T05", "2026-11-01T06", "2026-11-01T05"]}),
            far_deadline(),
        )
        .await
        .unwrap();

    let summaries: Vec<(&str, &str, Option<u64>, Option<u64>)> = response
        .hours
        .iter()
        .map(|h| (h.hour.as_str(), h.outcome, h.rows_in, h.rows_out))
        .collect();
    assert_eq!(
        summaries,
        [
            ("2026-11-01T05", "compacted", Some(5), Some(5)),
            ("2026-11-01T06", "empty", None, None),
            ("2026-11-01T07", "compacted", Some(7), Some(4)),
        ]
    );
    let settings = settings();
    let ctas: Vec<String> = fake
        .starts()
        .into_iter()
        .map(|(_, sql)| sql)
        .filter(|sql| sql.starts_with("CREATE TABLE"))
        .collect();
    assert_eq!(
        ctas,
        [
            sql::create_parquet_table(&settings, &backfill[0]),
            sql::create_parquet_table(&settings, &backfill[2]),
        ]
    );
    let json_lists: Vec<String> = fake
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::List { prefix, .. } if prefix.starts_with("json-data/") => Some(prefix),
            _ => None,
        })
        .collect();
    assert_eq!(
        json_lists,
        [
            "json-data/year=2026/month=11/day=01/hour=05/",
            "json-data/year=2026/month=11/day=01/hour=06/",
            "json-data/year=2026/month=11/day=01/hour=07/",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn backfill_stops_when_the_next_hour_would_not_fit_before_the_deadline() {
    // Every call takes 1 s: a compacted hour takes 13 s (list, count + poll + results, delete
    // the manifest, list, three queries of start + poll, write the manifest).
    let backfill = hours(&["2026-11-01T05", "2026-11-01T06", "2026-11-01T07"]);
    let fake = FakeAws::with_json_for(vec![], &backfill).with_latency(Duration::from_secs(1));
    let begin = Instant::now();

    let err = app(&fake)
        .run(
            &json!({"from": "2026-11-01T05", "to": "2026-11-01T07"}),
            begin + Duration::from_secs(30),
        )
        .await
        .unwrap_err();

    // 05 ended at 13 s, 06 at 26 s; 07 would need until 39 s.
    assert_eq!(Instant::now() - begin, Duration::from_secs(26));
    assert_eq!(
        err,
        JobError::OutOfTime {
            done: backfill[..2].to_vec(),
            left: backfill[2..].to_vec(),
        }
    );
    assert_eq!(err.kind(), "OutOfTime");
    assert_eq!(
        err.to_string(),
        "stopped before hour 2026-11-01T07: too little time left before the Lambda deadline; \
         hours done: 2026-11-01T05, 2026-11-01T06; hours left: 2026-11-01T07 \
         (invoke again with {\"hours\":[\"2026-11-01T07\"]})"
    );
    let touched_07 = fake
        .calls()
        .into_iter()
        .any(|c| matches!(c, Call::List { prefix, .. } if prefix.contains("hour=07")));
    assert!(!touched_07, "nothing started for 07");
}

#[tokio::test(start_paused = true)]
async fn backfill_stops_at_the_first_failed_hour_and_lists_the_rest() {
    let backfill = hours(&["2026-11-01T05", "2026-11-01T06", "2026-11-01T07"]);
    let failed = QueryStatus {
        state: QueryState::Failed,
        state_change_reason: Some("HIVE_BAD_DATA: bad JSON".to_owned()),
        error_message: None,
    };
    // 05: count, drop, ctas, drop; 06: count fails.
    let fake = FakeAws::with_json_for(
        vec![
            vec![succeeded()],
            vec![succeeded()],
            vec![succeeded()],
            vec![succeeded()],
            vec![failed],
        ],
        &backfill,
    );

    let err = app(&fake)
        .run(
            &json!({"from": "2026-11-01T05", "to": "2026-11-01T07"}),
            far_deadline(),
        )
        .await
        .unwrap_err();

    assert_eq!(
        err.to_string(),
        "hour 2026-11-01T06: the count query (query execution id qid-5) ended FAILED: \
         HIVE_BAD_DATA: bad JSON; hours done: 2026-11-01T05; \
         hours left: 2026-11-01T06, 2026-11-01T07 \
         (invoke again with {\"hours\":[\"2026-11-01T06\",\"2026-11-01T07\"]})"
    );
    assert_eq!(fake.starts().len(), 5, "nothing for 07");
}

#[tokio::test(start_paused = true)]
async fn compaction_delay_moves_the_scheduled_hour() {
    let mut settings = settings();
    settings.compaction_delay_minutes = 30;
    let fake = FakeAws::new(vec![]);
    let app = App::new(fake.clone(), fake.clone(), settings);

    let at_0110 = app
        .run(&scheduled_event_at("2026-11-28T01:10:00Z"), far_deadline())
        .await
        .unwrap();
    let at_0130 = app
        .run(&scheduled_event_at("2026-11-28T01:30:00Z"), far_deadline())
        .await
        .unwrap();

    assert_eq!(at_0110.hours[0].hour, "2026-11-27T23");
    assert_eq!(at_0130.hours[0].hour, "2026-11-28T00");
}
