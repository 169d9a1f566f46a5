//! Fault paths through the real [`SdkAthena`] and [`SdkS3`], with clients mocked by
//! `aws-smithy-mocks` and configured as in production (`sdk::athena_config`,
//! `sdk::s3_config`): the SDK's own retries run, on tokio's paused clock.
//!
//! The Athena rules run in `Sequential` mode unless said otherwise: a call out of the
//! expected order, or one more than expected, panics inside the client and fails the test.

mod common;

use std::time::Duration;

use aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput;
use aws_sdk_athena::operation::get_query_results::GetQueryResultsOutput;
use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionOutput;
use aws_sdk_athena::operation::stop_query_execution::StopQueryExecutionOutput;
use aws_sdk_athena::types::{
    AthenaError, ColumnInfo, Datum, QueryExecution, QueryExecutionState, QueryExecutionStatus,
    ResultSet, ResultSetMetadata, Row,
};
use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::types::Object;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use common::{far_deadline, settings};
use compaction::{App, JobError};
use lambda_support::athena::SdkAthena;
use lambda_support::s3::SdkS3;
use lambda_support::sdk::{athena_config, s3_config, MAX_ATTEMPTS};
use tokio::time::Instant;

const JSON_PREFIX: &str = "json-data/year=2026/month=11/day=28/hour=00/";
const PARQUET_PREFIX: &str = "parquet-data/year=2026/month=11/day=28/hour=00/";
const MANIFEST_KEY: &str = "compaction-manifests/year=2026/month=11/day=28/hour=00/manifest.json";

type Athena = aws_sdk_athena::Client;
type S3 = aws_sdk_s3::Client;

fn app(athena_rules: &[&Rule], s3_rules: &[&Rule]) -> App<SdkAthena, SdkS3> {
    app_with(RuleMode::Sequential, athena_rules, s3_rules)
}

fn app_with(mode: RuleMode, athena_rules: &[&Rule], s3_rules: &[&Rule]) -> App<SdkAthena, SdkS3> {
    let athena = mock_client!(aws_sdk_athena, mode, athena_rules, athena_config);
    // After the test's own rules: the hour's manifest is deleted and written.
    let delete_manifest = mock!(S3::delete_objects)
        .match_requests(|r| {
            r.delete()
                .is_some_and(|d| d.objects().iter().all(|o| o.key() == MANIFEST_KEY))
        })
        .sequence()
        .output(|| DeleteObjectsOutput::builder().build())
        .repeatedly()
        .build();
    let put_manifest = mock!(S3::put_object)
        .match_requests(|r| r.key() == Some(MANIFEST_KEY))
        .sequence()
        .output(|| PutObjectOutput::builder().build())
        .repeatedly()
        .build();
    let mut rules = s3_rules.to_vec();
    rules.extend([&delete_manifest, &put_manifest]);
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules, s3_config);
    App::new(SdkAthena::new(athena), SdkS3::new(s3), settings())
}

/// A backfill of the hour of [`JSON_PREFIX`] (the scheduled run's survey of earlier hours is
/// covered by `moto_wire.rs`).
fn hour_00() -> serde_json::Value {
    serde_json::json!({"hour": "2026-11-28T00"})
}

// ---- Athena answers ----

fn start(id: &'static str) -> Rule {
    mock!(Athena::start_query_execution).then_output(move || {
        StartQueryExecutionOutput::builder()
            .query_execution_id(id)
            .build()
    })
}

fn execution(id: &str, state: QueryExecutionState) -> QueryExecution {
    QueryExecution::builder()
        .query_execution_id(id)
        .status(QueryExecutionStatus::builder().state(state).build())
        .build()
}

fn state(id: &'static str, state: QueryExecutionState) -> Rule {
    mock!(Athena::get_query_execution).then_output(move || {
        GetQueryExecutionOutput::builder()
            .query_execution(execution(id, state.clone()))
            .build()
    })
}

fn succeeded(id: &'static str) -> Rule {
    state(id, QueryExecutionState::Succeeded)
}

fn ended(id: &'static str, state: QueryExecutionState, reason: &'static str) -> Rule {
    mock!(Athena::get_query_execution).then_output(move || {
        GetQueryExecutionOutput::builder()
            .query_execution(
                QueryExecution::builder()
                    .query_execution_id(id)
                    .status(
                        QueryExecutionStatus::builder()
                            .state(state.clone())
                            .state_change_reason(reason)
                            .athena_error(AthenaError::builder().error_message(reason).build())
                            .build(),
                    )
                    .build(),
            )
            .build()
    })
}

/// GetQueryResults of the count query: the header row, then the counts.
fn counts_output(rows_in: u64, rows_out: u64) -> GetQueryResultsOutput {
    let row = |values: [String; 2]| {
        Row::builder()
            .set_data(Some(
                values
                    .into_iter()
                    .map(|v| Datum::builder().var_char_value(v).build())
                    .collect(),
            ))
            .build()
    };
    let column = |name: &str| {
        ColumnInfo::builder()
            .name(name)
            .r#type("bigint")
            .build()
            .unwrap()
    };
    GetQueryResultsOutput::builder()
        .result_set(
            ResultSet::builder()
                .rows(row(["rows_in".into(), "rows_out".into()]))
                .rows(row([rows_in.to_string(), rows_out.to_string()]))
                .result_set_metadata(
                    ResultSetMetadata::builder()
                        .column_info(column("rows_in"))
                        .column_info(column("rows_out"))
                        .build(),
                )
                .build(),
        )
        .build()
}

fn counts(rows_in: u64, rows_out: u64) -> Rule {
    mock!(Athena::get_query_results).then_output(move || counts_output(rows_in, rows_out))
}

/// An awsJson1.1 error as Athena sends it.
fn athena_error(code: &str, message: &str) -> String {
    format!(r#"{{"__type":"{code}","message":"{message}"}}"#)
}

// ---- S3 answers ----

fn listing(prefix: &'static str, keys: &'static [&'static str]) -> Rule {
    mock!(S3::list_objects_v2)
        .match_requests(move |r| r.prefix() == Some(prefix))
        .then_output(move || {
            ListObjectsV2Output::builder()
                .set_contents(Some(
                    keys.iter()
                        .map(|k| Object::builder().key(format!("{prefix}{k}")).build())
                        .collect(),
                ))
                .key_count(keys.len() as i32)
                .is_truncated(false)
                .build()
        })
}

/// A REST-XML error as S3 sends it.
fn s3_error(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <Error><Code>{code}</Code><Message>{message}</Message><RequestId>R1</RequestId></Error>"
    )
}

fn json_files() -> Rule {
    listing(JSON_PREFIX, &["firehose-1.json"])
}

fn no_parquet() -> Rule {
    listing(PARQUET_PREFIX, &[])
}

#[tokio::test(start_paused = true)]
async fn failed_ctas_names_hour_query_and_reason_and_nothing_runs_after_it() {
    let reason = "HIVE_BAD_DATA: Error parsing field value";
    let rules = [
        start("q-count"),
        succeeded("q-count"),
        counts(4, 3),
        start("q-drop"),
        succeeded("q-drop"),
        start("q-ctas"),
        state("q-ctas", QueryExecutionState::Running),
        ended("q-ctas", QueryExecutionState::Failed, reason),
    ];
    let (json, parquet) = (json_files(), no_parquet());
    let app = app(&rules.iter().collect::<Vec<_>>(), &[&json, &parquet]);

    let err = app.run(&hour_00(), far_deadline()).await.unwrap_err();

    assert_eq!(err.kind(), "QueryFailed");
    assert_eq!(
        err.to_string(),
        format!(
            "hour 2026-11-28T00: the ctas query (query execution id q-ctas) ended FAILED: {reason}"
        )
    );
    assert!(
        rules.iter().all(|r| r.num_calls() == 1),
        "every answer used once"
    );
}

#[tokio::test(start_paused = true)]
async fn cancelled_count_query_fails_the_hour_before_any_delete() {
    let rules = [
        start("q-count"),
        state("q-count", QueryExecutionState::Queued),
        ended(
            "q-count",
            QueryExecutionState::Cancelled,
            "Query cancelled by user",
        ),
    ];
    let json = json_files();
    let app = app(&rules.iter().collect::<Vec<_>>(), &[&json]);

    let err = app.run(&hour_00(), far_deadline()).await.unwrap_err();

    assert_eq!(err.kind(), "QueryCancelled");
    assert_eq!(
        err.to_string(),
        "hour 2026-11-28T00: the count query (query execution id q-count) ended CANCELLED: \
         Query cancelled by user"
    );
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "Compaction.QueryCancelled");
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_by_the_sdk_until_the_calls_succeed() {
    // Athena: two ThrottlingExceptions on StartQueryExecution, a bare 429 on
    // GetQueryExecution, a TooManyRequestsException on GetQueryResults.
    let throttled_start = mock!(Athena::start_query_execution)
        .sequence()
        .http_status(
            400,
            Some(athena_error("ThrottlingException", "Rate exceeded")),
        )
        .times(2)
        .output(|| {
            StartQueryExecutionOutput::builder()
                .query_execution_id("q-count")
                .build()
        })
        .build();
    let throttled_state = mock!(Athena::get_query_execution)
        .sequence()
        .http_status(429, None)
        .output(|| {
            GetQueryExecutionOutput::builder()
                .query_execution(execution("q-count", QueryExecutionState::Succeeded))
                .build()
        })
        .build();
    let throttled_results = mock!(Athena::get_query_results)
        .sequence()
        .http_status(
            400,
            Some(athena_error("TooManyRequestsException", "Slow down")),
        )
        .output(|| counts_output(2, 2))
        .build();
    let rest = [
        start("q-drop"),
        succeeded("q-drop"),
        start("q-ctas"),
        succeeded("q-ctas"),
        start("q-drop2"),
        succeeded("q-drop2"),
    ];
    let mut athena_rules = vec![&throttled_start, &throttled_state, &throttled_results];
    athena_rules.extend(rest.iter());
    // S3: SlowDown (503) on the first listing, then the answers.
    let slow_list = mock!(S3::list_objects_v2)
        .match_requests(|r| r.prefix() == Some(JSON_PREFIX))
        .sequence()
        .http_status(
            503,
            Some(s3_error("SlowDown", "Please reduce your request rate.")),
        )
        .output(|| {
            ListObjectsV2Output::builder()
                .contents(
                    Object::builder()
                        .key(format!("{JSON_PREFIX}a.json"))
                        .build(),
                )
                .key_count(1)
                .build()
        })
        .build();
    let parquet = no_parquet();
    let app = app(&athena_rules, &[&slow_list, &parquet]);
    let begin = Instant::now();

    let response = app.run(&hour_00(), far_deadline()).await.unwrap();

    assert_eq!(response.hours[0].outcome, "compacted");
    assert_eq!(response.hours[0].rows_in, Some(2));
    assert_eq!(throttled_start.num_calls(), 3);
    assert_eq!(throttled_state.num_calls(), 2);
    assert_eq!(throttled_results.num_calls(), 2);
    assert_eq!(slow_list.num_calls(), 2);
    // The SDK backed off between tries (with jitter, so only a lower bound of zero is
    // certain; the clock did move).
    assert!(Instant::now() > begin, "no backoff at all");
}

#[tokio::test(start_paused = true)]
async fn throttling_that_outlasts_the_retries_fails_the_hour_as_throttled() {
    let throttled = mock!(Athena::start_query_execution)
        .sequence()
        .http_status(
            400,
            Some(athena_error(
                "TooManyRequestsException",
                "Rate exceeded for StartQueryExecution",
            )),
        )
        .times(MAX_ATTEMPTS as usize)
        .build();
    let json = json_files();
    let app = app(&[&throttled], &[&json]);

    let err = app.run(&hour_00(), far_deadline()).await.unwrap_err();

    assert_eq!(throttled.num_calls(), MAX_ATTEMPTS as usize);
    assert_eq!(err.kind(), "Throttled");
    assert_eq!(
        err.to_string(),
        "hour 2026-11-28T00: could not start the count query: StartQueryExecution failed: \
         TooManyRequestsException: Rate exceeded for StartQueryExecution (HTTP 400)"
    );
}

#[tokio::test(start_paused = true)]
async fn query_that_never_finishes_is_stopped_at_the_deadline() {
    let running = mock!(Athena::get_query_execution)
        .sequence()
        .output(|| {
            GetQueryExecutionOutput::builder()
                .query_execution(execution("q-count", QueryExecutionState::Running))
                .build()
        })
        .repeatedly()
        .build();
    let started = start("q-count");
    let stop = mock!(Athena::stop_query_execution)
        .then_output(|| StopQueryExecutionOutput::builder().build());
    let json = json_files();
    // Matched by operation: the endless RUNNING would otherwise swallow StopQueryExecution.
    let app = app_with(RuleMode::MatchAny, &[&started, &running, &stop], &[&json]);
    let begin = Instant::now();

    let err = app
        .run(&hour_00(), begin + Duration::from_secs(10))
        .await
        .unwrap_err();

    assert_eq!(Instant::now() - begin, Duration::from_secs(10));
    assert_eq!(err.kind(), "QueryTimedOut");
    assert_eq!(
        err.to_string(),
        "hour 2026-11-28T00: the count query (query execution id q-count) was still RUNNING \
         at the deadline; StopQueryExecution requested"
    );
    // Polls at 0, 0.2, 0.6, 1.4, 3, 6.2 and 10 s.
    assert_eq!(running.num_calls(), 7);
    assert_eq!(stop.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn delete_objects_per_key_errors_fail_the_hour_naming_key_code_and_message() {
    let athena_rules = [start("q-count"), succeeded("q-count"), counts(4, 4)];
    let json = json_files();
    let parquet = listing(PARQUET_PREFIX, &["part-1.parquet", "part-2.parquet"]);
    let delete = mock!(S3::delete_objects)
        .match_requests(|r| {
            let keys: Vec<&str> = r
                .delete()
                .map(|d| d.objects().iter().map(|o| o.key()).collect())
                .unwrap_or_default();
            r.bucket() == Some("bucket")
                && keys
                    == [
                        format!("{PARQUET_PREFIX}part-1.parquet"),
                        format!("{PARQUET_PREFIX}part-2.parquet"),
                    ]
                && r.delete().and_then(|d| d.quiet()) == Some(true)
        })
        .then_output(|| {
            DeleteObjectsOutput::builder()
                .errors(
                    aws_sdk_s3::types::Error::builder()
                        .key(format!("{PARQUET_PREFIX}part-2.parquet"))
                        .code("AccessDenied")
                        .message("Access Denied")
                        .build(),
                )
                .build()
        });
    let app = app(
        &athena_rules.iter().collect::<Vec<_>>(),
        &[&json, &parquet, &delete],
    );

    let err = app.run(&hour_00(), far_deadline()).await.unwrap_err();

    assert_eq!(delete.num_calls(), 1);
    assert_eq!(err.kind(), "S3DeleteRefused");
    assert_eq!(
        err.to_string(),
        format!(
            "hour 2026-11-28T00: could not empty the Parquet folder s3://bucket/{PARQUET_PREFIX}: \
             S3 refused to delete {PARQUET_PREFIX}part-2.parquet (AccessDenied: Access Denied)"
        )
    );
    let JobError::Hour { done, left, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(done.is_empty() && left.len() == 1);
}

#[tokio::test(start_paused = true)]
async fn list_objects_error_fails_the_hour_with_s3s_code_and_message() {
    let denied = mock!(S3::list_objects_v2)
        .sequence()
        .http_status(403, Some(s3_error("AccessDenied", "Access Denied")))
        .build();
    let app = app(&[], &[&denied]);

    let err = app.run(&hour_00(), far_deadline()).await.unwrap_err();

    assert_eq!(denied.num_calls(), 1, "403 is not retried");
    assert_eq!(err.kind(), "S3ListFailed");
    assert_eq!(
        err.to_string(),
        format!(
            "hour 2026-11-28T00: could not list the JSON folder s3://bucket/{JSON_PREFIX}: \
             ListObjectsV2 failed: AccessDenied: Access Denied (HTTP 403)"
        )
    );
}

/// GetQueryExecution: FAILED with an AthenaError that says whether a resubmission may succeed.
fn failed_with(id: &'static str, reason: &'static str, retryable: bool) -> Rule {
    mock!(Athena::get_query_execution)
        .match_requests(move |r| r.query_execution_id() == Some(id))
        .then_output(move || {
            GetQueryExecutionOutput::builder()
                .query_execution(
                    QueryExecution::builder()
                        .query_execution_id(id)
                        .status(
                            QueryExecutionStatus::builder()
                                .state(QueryExecutionState::Failed)
                                .state_change_reason(reason)
                                .athena_error(
                                    AthenaError::builder()
                                        .error_category(1)
                                        .error_type(401)
                                        .retryable(retryable)
                                        .error_message(reason)
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
}

/// StartQueryExecution of the hour's CTAS.
fn start_ctas(id: &'static str) -> Rule {
    mock!(Athena::start_query_execution)
        .match_requests(|r| {
            r.query_string()
                .is_some_and(|sql| sql.starts_with("CREATE TABLE"))
        })
        .then_output(move || {
            StartQueryExecutionOutput::builder()
                .query_execution_id(id)
                .build()
        })
}

/// StartQueryExecution of the DROP TABLE IF EXISTS of the hour's temporary table.
fn start_drop(id: &'static str) -> Rule {
    mock!(Athena::start_query_execution)
        .match_requests(|r| {
            r.query_string()
                .is_some_and(|sql| sql.starts_with("DROP TABLE IF EXISTS"))
        })
        .then_output(move || {
            StartQueryExecutionOutput::builder()
                .query_execution_id(id)
                .build()
        })
}

#[tokio::test(start_paused = true)]
async fn a_ctas_failing_with_a_retryable_error_is_redone_from_an_emptied_folder() {
    let reason = "HIVE_CANNOT_OPEN_SPLIT: Error opening Hive split: SlowDown";
    let rules = [
        start("q-count"),
        succeeded("q-count"),
        counts(4, 3),
        start_drop("q-drop"),
        succeeded("q-drop"),
        start_ctas("q-ctas-1"),
        state("q-ctas-1", QueryExecutionState::Running),
        failed_with("q-ctas-1", reason, true),
        // The resubmission starts from a clean state: the partial files are deleted and the
        // temporary table dropped before the CTAS runs again.
        start_drop("q-drop-2"),
        succeeded("q-drop-2"),
        start_ctas("q-ctas-2"),
        succeeded("q-ctas-2"),
        start_drop("q-drop-temp"),
        succeeded("q-drop-temp"),
    ];
    // The Parquet folder: empty before the first CTAS, a partial file after it failed.
    let parquet = mock!(S3::list_objects_v2)
        .match_requests(|r| r.prefix() == Some(PARQUET_PREFIX))
        .sequence()
        .output(|| ListObjectsV2Output::builder().is_truncated(false).build())
        .output(|| {
            ListObjectsV2Output::builder()
                .contents(
                    Object::builder()
                        .key(format!("{PARQUET_PREFIX}partial-1"))
                        .build(),
                )
                .is_truncated(false)
                .build()
        })
        .build();
    let delete = mock!(S3::delete_objects)
        .match_requests(|r| {
            let keys: Vec<&str> = r
                .delete()
                .map(|d| d.objects().iter().map(|o| o.key()).collect())
                .unwrap_or_default();
            keys == [format!("{PARQUET_PREFIX}partial-1")]
        })
        .then_output(|| DeleteObjectsOutput::builder().build());
    let json = json_files();
    let app = app(
        &rules.iter().collect::<Vec<_>>(),
        &[&json, &parquet, &delete],
    );

    let response = app.run(&hour_00(), far_deadline()).await.unwrap();

    let hour = &response.hours[0];
    assert_eq!(hour.outcome, "compacted");
    assert_eq!(hour.objects_deleted, 1, "the failed CTAS's partial file");
    assert_eq!(hour.query_ids.ctas.as_deref(), Some("q-ctas-2"));
    assert_eq!(hour.query_ids.drop_leftover.as_deref(), Some("q-drop-2"));
    assert_eq!(hour.query_ids.drop_temp.as_deref(), Some("q-drop-temp"));
    assert_eq!((parquet.num_calls(), delete.num_calls()), (2, 1));
    assert!(
        rules.iter().all(|r| r.num_calls() == 1),
        "every answer used once, in order"
    );
}

#[tokio::test(start_paused = true)]
async fn a_query_that_keeps_failing_with_a_retryable_error_names_every_query_id() {
    let reason = "GENERIC_INTERNAL_ERROR: internal error";
    let rules = [
        start("q-1"),
        failed_with("q-1", reason, true),
        start("q-2"),
        failed_with("q-2", reason, true),
        start("q-3"),
        failed_with("q-3", reason, true),
    ];
    let json = json_files();
    let app = app(&rules.iter().collect::<Vec<_>>(), &[&json]);
    let begin = Instant::now();

    let err = app.run(&hour_00(), far_deadline()).await.unwrap_err();

    assert_eq!(err.kind(), "QueryFailed");
    let attempt = |id| format!("{id} (FAILED, retryable system error, ErrorType 401: {reason})");
    assert_eq!(
        err.to_string(),
        format!(
            "hour 2026-11-28T00: the count query (query execution id q-3) ended FAILED: \
             {reason}; retryable, but not resubmitted: 3 attempts made; resubmitted after {}, {}",
            attempt("q-1"),
            attempt("q-2")
        )
    );
    // 5 s, then 10 s before the resubmissions.
    assert_eq!(Instant::now() - begin, Duration::from_secs(15));
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test(start_paused = true)]
async fn a_failure_athena_does_not_call_retryable_is_not_resubmitted() {
    let reason = "SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved";
    // Sequential: a second StartQueryExecution would panic.
    let rules = [start("q-1"), failed_with("q-1", reason, false)];
    let json = json_files();
    let app = app(&rules.iter().collect::<Vec<_>>(), &[&json]);

    let err = app.run(&hour_00(), far_deadline()).await.unwrap_err();

    assert_eq!(
        err.to_string(),
        format!(
            "hour 2026-11-28T00: the count query (query execution id q-1) ended FAILED: {reason}"
        )
    );
}

#[tokio::test(start_paused = true)]
async fn a_query_whose_state_cannot_be_read_is_stopped_before_giving_up() {
    // GetQueryExecution fails through all of the SDK's tries.
    let unreadable = mock!(Athena::get_query_execution)
        .sequence()
        .http_status(
            500,
            Some(athena_error("InternalServerException", "Internal error")),
        )
        .times(MAX_ATTEMPTS as usize)
        .build();
    let stop = mock!(Athena::stop_query_execution)
        .match_requests(|r| r.query_execution_id() == Some("q-count"))
        .then_output(|| StopQueryExecutionOutput::builder().build());
    let started = start("q-count");
    let json = json_files();
    let first = app(&[&started, &unreadable, &stop], &[&json]);

    let err = first.run(&hour_00(), far_deadline()).await.unwrap_err();

    assert_eq!(unreadable.num_calls(), MAX_ATTEMPTS as usize);
    assert_eq!(stop.num_calls(), 1, "StopQueryExecution before giving up");
    assert_eq!(err.kind(), "GetQueryStateFailed");
    assert_eq!(
        err.to_string(),
        "hour 2026-11-28T00: could not read the state of the count query (query execution id \
         q-count): GetQueryExecution failed: InternalServerException: Internal error (HTTP 500); \
         StopQueryExecution requested"
    );

    // A stop that fails too is named.
    let unreadable = mock!(Athena::get_query_execution)
        .sequence()
        .http_status(
            400,
            Some(athena_error("AccessDeniedException", "not authorized")),
        )
        .build();
    let stop = mock!(Athena::stop_query_execution)
        .sequence()
        .http_status(
            400,
            Some(athena_error("AccessDeniedException", "not authorized")),
        )
        .build();
    let started = start("q-count");
    let err = app(&[&started, &unreadable, &stop], &[&json])
        .run(&hour_00(), far_deadline())
        .await
        .unwrap_err();
    assert!(
        err.to_string().ends_with(
            "; StopQueryExecution also failed: StopQueryExecution failed: AccessDeniedException: \
             not authorized (HTTP 400)"
        ),
        "{err}"
    );
}

/// A scheduled run that cannot tell which earlier hours need compacting fails before it
/// compacts anything, naming the hour and the folder: it never skips a repair silently.
#[tokio::test(start_paused = true)]
async fn a_survey_that_cannot_list_an_earlier_hour_fails_the_run_before_any_query() {
    let denied = mock!(S3::list_objects_v2)
        .match_requests(|r| r.prefix() == Some("json-data/year=2026/month=11/day=27/hour=05/"))
        .sequence()
        .http_status(403, Some(s3_error("AccessDenied", "Access Denied")))
        .build();
    let empty = mock!(S3::list_objects_v2)
        .sequence()
        .output(|| ListObjectsV2Output::builder().key_count(0).build())
        .repeatedly()
        .build();
    // No Athena rule: any query would panic.
    let app = app(&[], &[&denied, &empty]);

    let err = app
        .run(&common::scheduled_event(), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "SurveyFailed", "{err}");
    assert_eq!(
        err.to_string(),
        "hour 2026-11-27T05: could not tell whether it is compacted: listing \
         s3://bucket/json-data/year=2026/month=11/day=27/hour=05/: ListObjectsV2 failed: \
         AccessDenied: Access Denied (HTTP 403); no hour was compacted"
    );
    assert_eq!(denied.num_calls(), 1);
}
