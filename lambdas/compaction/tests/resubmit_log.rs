//! The log lines of an hour whose query was resubmitted after a retryable failure: a WARNING
//! when it is resubmitted, and the hour's line listing every query execution. Its own binary:
//! tracing caches callsite interest process-wide (see `log_lines.rs`).

mod common;

use aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput;
use aws_sdk_athena::operation::get_query_results::GetQueryResultsOutput;
use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionOutput;
use aws_sdk_athena::types::{
    AthenaError, Datum, QueryExecution, QueryExecutionState, QueryExecutionStatus, ResultSet, Row,
};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::types::Object;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use common::{far_deadline, settings};
use compaction::App;
use lambda_support::athena::SdkAthena;
use lambda_support::logging;
use lambda_support::s3::SdkS3;
use lambda_support::sdk::{athena_config, s3_config};
use lambda_support::testing::LogBuffer;
use serde_json::{json, Value};

type Athena = aws_sdk_athena::Client;
type S3 = aws_sdk_s3::Client;

fn start(id: &'static str) -> Rule {
    mock!(Athena::start_query_execution).then_output(move || {
        StartQueryExecutionOutput::builder()
            .query_execution_id(id)
            .build()
    })
}

fn status(id: &'static str, state: QueryExecutionState, retryable: bool) -> Rule {
    mock!(Athena::get_query_execution).then_output(move || {
        let mut status = QueryExecutionStatus::builder().state(state.clone());
        if state == QueryExecutionState::Failed {
            status = status
                .state_change_reason("GENERIC_INTERNAL_ERROR: internal error")
                .athena_error(
                    AthenaError::builder()
                        .error_category(1)
                        .error_type(401)
                        .retryable(retryable)
                        .build(),
                );
        }
        GetQueryExecutionOutput::builder()
            .query_execution(
                QueryExecution::builder()
                    .query_execution_id(id)
                    .status(status.build())
                    .build(),
            )
            .build()
    })
}

fn no_rows() -> Rule {
    let row = |values: [&str; 2]| {
        Row::builder()
            .set_data(Some(
                values
                    .iter()
                    .map(|v| Datum::builder().var_char_value(*v).build())
                    .collect(),
            ))
            .build()
    };
    mock!(Athena::get_query_results).then_output(move || {
        GetQueryResultsOutput::builder()
            .result_set(
                ResultSet::builder()
                    .rows(row(["rows_in", "rows_out"]))
                    .rows(row(["0", "0"]))
                    .build(),
            )
            .build()
    })
}

#[tokio::test(start_paused = true)]
async fn a_resubmission_is_logged_and_the_hour_lists_every_query_execution() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(logging::json_subscriber(move || writer.clone()))
        .expect("no other subscriber in this test binary");
    let rules = [
        start("q-1"),
        status("q-1", QueryExecutionState::Failed, true),
        start("q-2"),
        status("q-2", QueryExecutionState::Succeeded, false),
        no_rows(),
    ];
    let listing = mock!(S3::list_objects_v2).then_output(|| {
        ListObjectsV2Output::builder()
            .contents(Object::builder().key("json-data/x.json").build())
            .key_count(1)
            .build()
    });
    let rule_refs: Vec<&Rule> = rules.iter().collect();
    let athena = mock_client!(
        aws_sdk_athena,
        RuleMode::Sequential,
        &rule_refs,
        athena_config
    );
    // The hour without rows still gets its manifest.
    let manifest = mock!(S3::put_object)
        .match_requests(|r| {
            r.key() == Some("compaction-manifests/year=2026/month=11/day=28/hour=00/manifest.json")
        })
        .then_output(|| PutObjectOutput::builder().e_tag("\"m\"").build());
    let s3 = mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        &[&listing, &manifest],
        s3_config
    );

    let response = App::new(SdkAthena::new(athena), SdkS3::new(s3), settings())
        .run(&json!({"hour": "2026-11-28T00"}), far_deadline())
        .await
        .unwrap();

    assert_eq!(response.hours[0].query_ids.count.as_deref(), Some("q-2"));
    assert_eq!(manifest.num_calls(), 1);
    let lines: Vec<Value> = logs
        .take_lines()
        .into_iter()
        .map(|mut line| {
            line.as_object_mut().unwrap().remove("timestamp");
            line
        })
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        lines[0],
        json!({
            "level": "WARN",
            "message": "query failed with a retryable error; resubmitting it",
            "query_execution_id": "q-1",
            "attempt": 1,
            "reason": "GENERIC_INTERNAL_ERROR: internal error",
            "wait_ms": 5000,
        })
    );
    assert_eq!(
        lines[1]["message"],
        "hour skipped: its JSON files hold no rows"
    );
    assert_eq!(
        lines[1]["queries"],
        json!([
            {"step": "count", "query_execution_id": "q-1", "state": "FAILED", "polls": 1,
             "attempt": 1},
            {"step": "count", "query_execution_id": "q-2", "state": "SUCCEEDED", "polls": 1,
             "attempt": 2},
        ])
    );
}
