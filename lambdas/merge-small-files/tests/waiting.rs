//! The job against a scripted in-memory Athena, on tokio's paused clock so
//! backoff and deadlines are exact and the tests take no real time.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use lambda_runtime::{Context, LambdaEvent};
use merge_small_files::athena::{QueryState, QueryStatus};
use merge_small_files::sql::{self, Step};
use merge_small_files::{App, Backoff, JobError};
use serde_json::json;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn waits_through_queued_and_running_before_starting_the_next_query() {
    let fake = FakeAthena::new(vec![
        queued_running_running_succeeded(),
        queued_running_running_succeeded(),
        vec![succeeded()],
    ]);
    let app = App::new(fake.clone(), config());

    let compacted = app.run(&scheduled_event(), far_deadline()).await.unwrap();

    let config = config();
    let drop = sql::drop_temp_table(&config, &hour());
    let ctas = sql::create_parquet_table(&config, &hour());
    let start = |id: &str, sql: &str| Call::Start {
        id: id.to_owned(),
        sql: sql.to_owned(),
        work_group: "metering-wg".to_owned(),
        output_location: "s3://results-bucket/tmp/".to_owned(),
    };
    let poll = |id: &str, at: u64| Call::Status {
        id: id.to_owned(),
        at: Duration::from_millis(at),
    };
    // Each query is polled with 200/400/800 ms gaps until SUCCEEDED, and the
    // next one starts only after that.
    assert_eq!(
        fake.calls(),
        vec![
            start("qid-1", &drop),
            poll("qid-1", 0),
            poll("qid-1", 200),
            poll("qid-1", 600),
            poll("qid-1", 1400),
            start("qid-2", &ctas),
            poll("qid-2", 1400),
            poll("qid-2", 1600),
            poll("qid-2", 2000),
            poll("qid-2", 2800),
            start("qid-3", &drop),
            poll("qid-3", 2800),
        ]
    );

    assert_eq!(compacted.hour, "2026-11-28T00");
    assert_eq!(
        compacted.destination,
        "s3://bucket/parquet-data/year=2026/month=11/day=28/hour=00/"
    );
    let records: Vec<(Step, &str, &str, u32)> = compacted
        .queries
        .iter()
        .map(|q| {
            (
                q.step,
                q.query_execution_id.as_str(),
                q.state.as_str(),
                q.polls,
            )
        })
        .collect();
    assert_eq!(
        records,
        vec![
            (Step::DropLeftover, "qid-1", "SUCCEEDED", 4),
            (Step::CreateParquet, "qid-2", "SUCCEEDED", 4),
            (Step::DropTemp, "qid-3", "SUCCEEDED", 1),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn backoff_is_capped_at_five_seconds() {
    let mut long_run = vec![status(QueryState::Running); 8];
    long_run.push(succeeded());
    let fake = FakeAthena::new(vec![long_run]);
    let app = App::new(fake.clone(), config());

    app.run(&json!({"hour": "2026-11-28T00"}), far_deadline())
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
    let fake = FakeAthena::new(vec![
        vec![succeeded()],
        vec![status(QueryState::Running), failed],
    ]);
    let app = App::new(fake.clone(), config());

    let err = app
        .run(&scheduled_event(), far_deadline())
        .await
        .unwrap_err();

    match &err {
        JobError::QueryEnded {
            hour: h,
            step,
            query_execution_id,
            state,
            ..
        } => {
            assert_eq!(*h, hour());
            assert_eq!(*step, Step::CreateParquet);
            assert_eq!(query_execution_id, "qid-2");
            assert_eq!(*state, QueryState::Failed);
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "hour 2026-11-28T00: the create_parquet query (query execution id qid-2) ended FAILED: \
         HIVE_PATH_ALREADY_EXISTS: Target directory for table 'metering.tmp' already exists \
         (AthenaError: Target directory already exists)"
    );
    let started: Vec<String> = fake.starts().into_iter().map(|(id, _)| id).collect();
    assert_eq!(started, ["qid-1", "qid-2"]);
    assert_eq!(fake.polls_of("qid-2").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn cancelled_query_is_an_error() {
    let cancelled = QueryStatus {
        state: QueryState::Cancelled,
        state_change_reason: Some("Query was cancelled by the user".to_owned()),
        error_message: None,
    };
    let fake = FakeAthena::new(vec![vec![status(QueryState::Queued), cancelled]]);
    let app = App::new(fake.clone(), config());

    let err = app
        .run(&scheduled_event(), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(
        err.to_string(),
        "hour 2026-11-28T00: the drop_leftover query (query execution id qid-1) ended CANCELLED: \
         Query was cancelled by the user"
    );
    assert_eq!(fake.starts().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn query_that_never_finishes_hits_the_deadline_and_is_stopped() {
    let fake = FakeAthena::new(vec![vec![succeeded()], vec![status(QueryState::Running)]]);
    let app = App::new(fake.clone(), config());
    let begin = Instant::now();

    let err = app
        .run(&scheduled_event(), begin + Duration::from_secs(10))
        .await
        .unwrap_err();

    assert_eq!(Instant::now() - begin, Duration::from_secs(10));
    assert_eq!(
        err,
        JobError::Deadline {
            hour: hour(),
            step: Step::CreateParquet,
            query_execution_id: "qid-2".to_owned(),
            last_state: QueryState::Running,
            stop: "StopQueryExecution requested".to_owned(),
        }
    );
    let message = err.to_string();
    assert!(message.contains("2026-11-28T00"), "{message}");
    assert!(message.contains("qid-2"), "{message}");
    assert!(message.contains("deadline"), "{message}");
    // The last sleep is shortened so the final poll happens at the deadline.
    assert_eq!(
        fake.polls_of("qid-2"),
        ms(&[0, 200, 600, 1400, 3000, 6200, 10000])
    );
    let calls = fake.calls();
    assert_eq!(
        calls.last(),
        Some(&Call::Stop {
            id: "qid-2".to_owned()
        })
    );
    assert_eq!(fake.starts().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn handler_derives_the_deadline_from_the_lambda_context() {
    let fake = FakeAthena::new(vec![vec![status(QueryState::Running)]]);
    let app = App::new(fake.clone(), config()).with_safety_margin(Duration::from_secs(15));
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut context = Context::default();
    context.deadline = now_ms + 20_000;
    let begin = Instant::now();

    let err = app
        .handle(LambdaEvent::new(scheduled_event(), context))
        .await
        .unwrap_err();

    let waited = Instant::now() - begin;
    assert!(matches!(err, JobError::Deadline { .. }), "{err:?}");
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
    let fake = FakeAthena::new(vec![]);
    let app = App::new(fake.clone(), config());

    let err = app
        .run(&scheduled_event(), Instant::now())
        .await
        .unwrap_err();

    assert_eq!(
        err,
        JobError::DeadlineBeforeStart {
            hour: hour(),
            step: Step::DropLeftover
        }
    );
    assert!(fake.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn start_failure_names_the_hour_and_step() {
    let fake = FakeAthena::failing_start("StartQueryExecution failed: InvalidRequestException");
    let app = App::new(fake.clone(), config());

    let err = app
        .run(&json!({"hour": "2026-02-03T04"}), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(
        err.to_string(),
        "hour 2026-02-03T04: could not start the drop_leftover query: \
         StartQueryExecution failed: InvalidRequestException"
    );
}

#[tokio::test(start_paused = true)]
async fn bad_event_starts_nothing() {
    let fake = FakeAthena::new(vec![]);
    let app = App::new(fake.clone(), config());

    let err = app
        .run(&json!({"detail-type": "Scheduled Event"}), far_deadline())
        .await
        .unwrap_err();

    assert!(matches!(err, JobError::Event(_)), "{err:?}");
    assert!(fake.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn custom_backoff_is_used() {
    let fake = FakeAthena::new(vec![queued_running_running_succeeded()]);
    let backoff = Backoff {
        initial: Duration::from_millis(10),
        factor: 3,
        max: Duration::from_millis(50),
    };
    let app = App::new(fake.clone(), config()).with_backoff(backoff);

    app.run(&scheduled_event(), far_deadline()).await.unwrap();

    assert_eq!(fake.polls_of("qid-1"), ms(&[0, 10, 40, 90]));
}
