//! The JSON log lines of a run. Kept in its own test binary: tracing caches callsite
//! interest process-wide, so a subscriber set while other tests log on other threads can
//! miss events.

mod common;

use aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput;
use aws_sdk_athena::operation::get_query_results::GetQueryResultsOutput;
use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionOutput;
use aws_sdk_athena::types::{
    Datum, QueryExecution, QueryExecutionState, QueryExecutionStatus, ResultSet, Row,
};
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use billing::App;
use common::*;
use lambda_support::athena::SdkAthena;
use lambda_support::logging;
use lambda_support::s3::SdkS3;
use lambda_support::sdk::{athena_config, s3_config};
use lambda_support::testing::LogBuffer;
use serde_json::{json, Value};

type Athena = aws_sdk_athena::Client;
type S3 = aws_sdk_s3::Client;

/// The captured lines without what changes from run to run.
trait TakeStable {
    fn take(&self) -> Vec<Value>;
}

impl TakeStable for LogBuffer {
    /// The lines written since the last call, parsed, without their timestamps.
    fn take(&self) -> Vec<Value> {
        self.take_lines()
            .into_iter()
            .map(|mut value| {
                let timestamp = value.as_object_mut().unwrap().remove("timestamp").unwrap();
                assert!(timestamp.as_str().unwrap().ends_with('Z'), "{timestamp}");
                value
            })
            .collect()
    }
}

fn app() -> App<SdkAthena, SdkS3> {
    app_of(settings(), config_bytes(), usage_rows())
}

/// The app with `settings`, the config object `config` and the query's answer `rows`.
fn app_of(
    settings: billing::Settings,
    config: Vec<u8>,
    rows: Vec<Vec<&'static str>>,
) -> App<SdkAthena, SdkS3> {
    let start = mock!(Athena::start_query_execution).then_output(|| {
        StartQueryExecutionOutput::builder()
            .query_execution_id("q-1")
            .build()
    });
    let state = mock!(Athena::get_query_execution).then_output(|| {
        GetQueryExecutionOutput::builder()
            .query_execution(
                QueryExecution::builder()
                    .query_execution_id("q-1")
                    .status(
                        QueryExecutionStatus::builder()
                            .state(QueryExecutionState::Succeeded)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let results = mock!(Athena::get_query_results).then_output(move || {
        let rows = rows.clone().into_iter().map(|values| {
            Row::builder()
                .set_data(Some(
                    values
                        .into_iter()
                        .map(|v| Datum::builder().var_char_value(v).build())
                        .collect(),
                ))
                .build()
        });
        GetQueryResultsOutput::builder()
            .result_set(ResultSet::builder().set_rows(Some(rows.collect())).build())
            .build()
    });
    let config = mock!(S3::get_object).then_output(move || {
        GetObjectOutput::builder()
            .body(ByteStream::from(config.clone()))
            .build()
    });
    let put = mock!(S3::put_object).then_output(|| PutObjectOutput::builder().build());
    let list = mock!(S3::list_objects_v2).then_output(|| ListObjectsV2Output::builder().build());
    let athena = mock_client!(
        aws_sdk_athena,
        RuleMode::MatchAny,
        &[&start, &state, &results],
        athena_config
    );
    let s3 = mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        &[&config, &put, &list],
        s3_config
    );
    App::new(SdkAthena::new(athena), SdkS3::new(s3), settings)
        .with_backoff(fast_backoff())
        .with_clock(mid_november)
}

#[tokio::test(start_paused = true)]
async fn one_json_line_per_step_and_one_for_the_outcome() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(logging::json_subscriber(move || writer.clone()))
        .expect("no other subscriber in this test binary");
    let app = app();

    let summary = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap()
        .billed()
        .unwrap();

    let mut lines = logs.take();
    let elapsed = lines[2].as_object_mut().unwrap().remove("elapsed_ms");
    assert!(elapsed.is_some_and(|e| e.is_u64()));
    let location = "s3://metering-invoices/invoices/year=2026/month=10/";
    assert_eq!(
        lines,
        [
            json!({"level": "INFO", "message": "metering config read", "step": "config",
                   "month": "2026-10", "config": "s3://metering-deploy/billing/metering.json",
                   "meters": ["requests", "transfer"], "late_arrival_hours": 3}),
            json!({"level": "INFO", "message": "every hour of the month is compacted",
                   "step": "completeness", "month": "2026-10", "first_folder": "2026-09-30T23",
                   "last_folder": "2026-11-01T02", "hours_with_objects": 0}),
            json!({"level": "INFO", "message": "usage query succeeded", "step": "query",
                   "month": "2026-10", "query_execution_id": "q-1", "polls": 1}),
            json!({"level": "INFO", "message": "usage read", "step": "results",
                   "month": "2026-10", "query_execution_id": "q-1", "pages": 1,
                   "tenants_with_usage": 2}),
            json!({"level": "INFO", "message": "invoices written", "step": "write",
                   "month": "2026-10", "location": location, "files_written": 3}),
            json!({"level": "INFO", "message": "stale invoices deleted", "step": "delete",
                   "month": "2026-10", "location": location, "files_deleted": 0,
                   "deleted": []}),
            json!({"level": "INFO", "message": "month billed", "month": "2026-10",
                   "query_execution_id": "q-1", "tenants_invoiced": 2, "files_written": 3,
                   "files_deleted": 0, "totals": {"EUR": "49.00", "USD": "0.09"},
                   "location": location, "test_tenants": [], "outcome": "billed"}),
        ]
    );
    assert_eq!(
        serde_json::to_value(&summary).unwrap(),
        json!({"month": "2026-10", "query_execution_id": "q-1", "tenants_invoiced": 2,
               "files_written": 3, "files_deleted": 0,
               "totals": {"EUR": "49.00", "USD": "0.09"}, "location": location,
               "test_tenants": []}),
        "the response is the summary"
    );

    // A refused event: one ERROR line with the error, its kind and the event.
    let err = app
        .run(&json!({"month": "2026-11"}), far_deadline())
        .await
        .unwrap_err();
    assert_eq!(
        logs.take(),
        [
            json!({"level": "ERROR", "message": "billing failed", "outcome": "failed",
                "month": "2026-11", "error": err.to_string(), "error_kind": "MonthNotOver",
                "event": {"month": "2026-11"}})
        ]
    );

    // With the usage events: the completeness line counts their hours too.
    let app = app_of(
        settings_with_events(),
        events_config_bytes(),
        events_usage_rows(),
    );
    app.run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap();
    let lines = logs.take();
    assert_eq!(
        lines[1],
        json!({"level": "INFO", "message": "every hour of the month is compacted",
               "step": "completeness", "month": "2026-10", "first_folder": "2026-09-30T23",
               "last_folder": "2026-11-01T02", "hours_with_objects": 0,
               "events_hours_with_objects": 0})
    );
    assert_eq!(
        lines[0]["meters"],
        json!(["requests", "tokens", "transfer"])
    );
}
