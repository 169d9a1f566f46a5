//! The real [`SdkAthena`] and [`SdkS3`] with clients mocked by `aws-smithy-mocks` and
//! configured as in production (`sdk::athena_config`, `sdk::s3_config`), on tokio's paused
//! clock.
//!
//! Athena's rules run in `Sequential` mode: a call out of the expected order, or one more
//! than expected, panics inside the client and fails the test. S3's run in `MatchAny` mode;
//! a call no rule matches (a PUT where none is expected) panics too.

mod common;

use std::sync::{Arc, Mutex};

use aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput;
use aws_sdk_athena::operation::get_query_results::GetQueryResultsOutput;
use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionOutput;
use aws_sdk_athena::operation::stop_query_execution::StopQueryExecutionOutput;
use aws_sdk_athena::types::{
    AthenaError, Datum, QueryExecution, QueryExecutionState, QueryExecutionStatus, ResultSet, Row,
};
use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::Object;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use billing::{App, BillingError};
use common::*;
use lambda_support::athena::SdkAthena;
use lambda_support::lease::{now_epoch_ms, LeaseLock, LeaseRecord, LockPrefix};
use lambda_support::s3::SdkS3;
use lambda_support::sdk::{athena_config, s3_config};
use serde_json::json;

type Athena = aws_sdk_athena::Client;
type S3 = aws_sdk_s3::Client;

fn app(athena_rules: &[&Rule], s3_rules: &[&Rule]) -> App<SdkAthena, SdkS3> {
    app_with(RuleMode::Sequential, athena_rules, s3_rules)
}

fn app_with(mode: RuleMode, athena_rules: &[&Rule], s3_rules: &[&Rule]) -> App<SdkAthena, SdkS3> {
    app_for(settings(), mode, athena_rules, s3_rules)
}

/// [`app`] with the `EVENTS_*` variables set: the usage events' table and folders.
fn events_app(athena_rules: &[&Rule], s3_rules: &[&Rule]) -> App<SdkAthena, SdkS3> {
    app_for(
        settings_with_events(),
        RuleMode::Sequential,
        athena_rules,
        s3_rules,
    )
}

fn app_for(
    settings: billing::Settings,
    mode: RuleMode,
    athena_rules: &[&Rule],
    s3_rules: &[&Rule],
) -> App<SdkAthena, SdkS3> {
    let athena = mock_client!(aws_sdk_athena, mode, athena_rules, athena_config);
    let no_data = no_data();
    let mut rules = s3_rules.to_vec();
    rules.push(&no_data);
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules, s3_config);
    App::new(SdkAthena::new(athena), SdkS3::new(s3), settings)
        .with_backoff(fast_backoff())
        .with_clock(mid_november)
}

/// After a test's own rules: the data bucket's JSON and manifest folders are empty, so every
/// hour of the month is complete.
fn no_data() -> Rule {
    mock!(S3::list_objects_v2)
        .match_requests(|r| r.bucket() == Some(DATA_BUCKET))
        .sequence()
        .output(|| ListObjectsV2Output::builder().is_truncated(false).build())
        .repeatedly()
        .build()
}

// ---- Athena answers ----

/// StartQueryExecution of October's usage query in the work group.
fn start(id: &'static str) -> Rule {
    start_query(id, october_query())
}

/// StartQueryExecution of `query` in the work group.
fn start_query(id: &'static str, query: String) -> Rule {
    mock!(Athena::start_query_execution)
        .match_requests(move |r| {
            r.work_group() == Some(WORK_GROUP) && r.query_string() == Some(query.as_str())
        })
        .then_output(move || {
            StartQueryExecutionOutput::builder()
                .query_execution_id(id)
                .build()
        })
}

fn state(id: &'static str, state: QueryExecutionState) -> Rule {
    mock!(Athena::get_query_execution)
        .match_requests(move |r| r.query_execution_id() == Some(id))
        .then_output(move || {
            GetQueryExecutionOutput::builder()
                .query_execution(
                    QueryExecution::builder()
                        .query_execution_id(id)
                        .status(QueryExecutionStatus::builder().state(state.clone()).build())
                        .build(),
                )
                .build()
        })
}

fn failed(id: &'static str, reason: &'static str, message: &'static str) -> Rule {
    mock!(Athena::get_query_execution).then_output(move || {
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
                                    .error_category(2)
                                    .error_type(1006)
                                    .error_message(message)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
    })
}

/// One GetQueryResults page of `id` asked for with `token`, answering `rows` and `next`.
fn page(
    id: &'static str,
    token: Option<&'static str>,
    rows: Vec<Vec<&'static str>>,
    next: Option<&'static str>,
) -> Rule {
    mock!(Athena::get_query_results)
        .match_requests(move |r| {
            r.query_execution_id() == Some(id)
                && r.next_token() == token
                && r.max_results() == Some(1000)
        })
        .then_output(move || {
            let rows = rows.iter().map(|values| {
                Row::builder()
                    .set_data(Some(
                        values
                            .iter()
                            .map(|v| Datum::builder().var_char_value(*v).build())
                            .collect(),
                    ))
                    .build()
            });
            GetQueryResultsOutput::builder()
                .result_set(ResultSet::builder().set_rows(Some(rows.collect())).build())
                .set_next_token(next.map(str::to_owned))
                .build()
        })
}

// ---- S3 answers ----

fn config_object(body: Vec<u8>) -> Rule {
    mock!(S3::get_object)
        .match_requests(|r| r.bucket() == Some(CONFIG_BUCKET) && r.key() == Some(CONFIG_KEY))
        .then_output(move || {
            GetObjectOutput::builder()
                .body(ByteStream::from(body.clone()))
                .build()
        })
}

/// A PUT: key, content type, body.
type Put = (String, String, Vec<u8>);

/// Every PUT, in order.
#[derive(Clone, Default)]
struct Puts(Arc<Mutex<Vec<Put>>>);

impl Puts {
    fn rule(&self) -> Rule {
        let puts = self.clone();
        mock!(S3::put_object)
            .match_requests(move |r| {
                assert_eq!(r.bucket(), Some(INVOICES_BUCKET));
                let body = r.body().bytes().expect("an in-memory body").to_vec();
                puts.0.lock().unwrap().push((
                    r.key().unwrap_or_default().to_owned(),
                    r.content_type().unwrap_or_default().to_owned(),
                    body,
                ));
                true
            })
            .then_output(|| PutObjectOutput::builder().build())
    }

    fn keys(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().map(|p| p.0.clone()).collect()
    }
}

fn listing(keys: &'static [&'static str]) -> Rule {
    mock!(S3::list_objects_v2)
        .match_requests(|r| {
            r.bucket() == Some(INVOICES_BUCKET)
                && r.prefix() == Some("invoices/year=2026/month=10/")
        })
        .then_output(move || {
            ListObjectsV2Output::builder()
                .set_contents(Some(
                    keys.iter()
                        .map(|k| Object::builder().key(*k).build())
                        .collect(),
                ))
                .is_truncated(false)
                .build()
        })
}

#[tokio::test(start_paused = true)]
async fn a_failed_query_surfaces_athenas_reason_and_writes_nothing() {
    let reason = "TABLE_NOT_FOUND: line 8:8: Table 'awsdatacatalog.metering.api_access_parquet' \
                  does not exist";
    let athena = [
        start("q-1"),
        state("q-1", QueryExecutionState::Queued),
        state("q-1", QueryExecutionState::Running),
        failed("q-1", reason, reason),
    ];
    // No PUT, list or delete rule: any such call would panic.
    let config = config_object(config_bytes());
    let app = app(&athena.iter().collect::<Vec<_>>(), &[&config]);

    let err = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "QueryFailed");
    assert_eq!(
        err.to_string(),
        format!("month 2026-10: the usage query (query execution id q-1) ended FAILED: {reason}")
    );
    assert!(
        athena.iter().all(|r| r.num_calls() == 1),
        "every answer used once"
    );
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "Billing.QueryFailed");
}

#[tokio::test(start_paused = true)]
async fn results_are_read_over_two_pages() {
    let athena = [
        start("q-2"),
        state("q-2", QueryExecutionState::Running),
        state("q-2", QueryExecutionState::Succeeded),
        page(
            "q-2",
            None,
            vec![
                vec!["tenant", "requests", "transfer"],
                vec!["acme", "150000", "2500000000"],
            ],
            Some("page-2"),
        ),
        page(
            "q-2",
            Some("page-2"),
            vec![vec!["unassigned", "1234", "1000000"]],
            None,
        ),
    ];
    let puts = Puts::default();
    let (config, put, list) = (
        config_object(config_bytes()),
        puts.rule(),
        listing(&[
            "invoices/year=2026/month=10/summary.csv",
            "invoices/year=2026/month=10/tenants/acme.json",
            "invoices/year=2026/month=10/tenants/gone.json",
            "invoices/year=2026/month=10/tenants/unassigned.json",
        ]),
    );
    let deleted: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let seen = deleted.clone();
    let delete = mock!(S3::delete_objects)
        .match_requests(move |r| {
            let keys = r
                .delete()
                .map(|d| d.objects().iter().map(|o| o.key().to_owned()).collect())
                .unwrap_or_default();
            seen.lock().unwrap().push(keys);
            r.bucket() == Some(INVOICES_BUCKET)
        })
        .then_output(|| DeleteObjectsOutput::builder().build());
    let app = app(
        &athena.iter().collect::<Vec<_>>(),
        &[&config, &put, &list, &delete],
    );

    let summary = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap()
        .billed()
        .unwrap();

    assert!(athena.iter().all(|r| r.num_calls() == 1), "both pages read");
    assert_eq!(summary.query_execution_id, "q-2");
    assert_eq!(summary.tenants_invoiced, 2, "a tenant from each page");
    assert_eq!(summary.files_written, 3);
    assert_eq!(summary.files_deleted, 1);
    assert_eq!(summary.totals["EUR"], "49.00");
    assert_eq!(summary.totals["USD"], "0.09");
    // Tenants first (in any order), the summary last, with the exact CSV.
    let mut keys = puts.keys();
    assert_eq!(
        keys.pop().unwrap(),
        "invoices/year=2026/month=10/summary.csv"
    );
    keys.sort();
    assert_eq!(
        keys,
        [
            "invoices/year=2026/month=10/tenants/acme.json",
            "invoices/year=2026/month=10/tenants/unassigned.json"
        ]
    );
    let recorded = puts.0.lock().unwrap().clone();
    let (_, content_type, body) = recorded.last().unwrap();
    assert_eq!(content_type, "text/csv");
    assert_eq!(String::from_utf8(body.clone()).unwrap(), SUMMARY_CSV);
    assert!(recorded[..2]
        .iter()
        .all(|(_, content_type, _)| content_type == "application/json"));
    assert_eq!(
        *deleted.lock().unwrap(),
        [vec![
            "invoices/year=2026/month=10/tenants/gone.json".to_owned()
        ]]
    );
}

#[tokio::test(start_paused = true)]
async fn an_invalid_config_is_refused_with_every_path_before_any_query() {
    let mut config = config_json();
    config["late_arrival_hours"] = json!(0);
    config["meters"]["Requests-2xx"] = json!({"aggregation": "count"});
    config["meters"]["transfer"]["filter"] = json!({"methods": ["FETCH"]});
    config["pricing"]["plans"]["pro"]["currency"] = json!("eur");
    let object = config_object(serde_json::to_vec(&config).unwrap());
    // No Athena rule: a query would panic.
    let app = app(&[], &[&object]);

    let err = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap_err();

    let BillingError::ConfigInvalid { uri, errors } = &err else {
        panic!("expected an invalid config, got {err:?}");
    };
    assert_eq!(uri, "s3://metering-deploy/billing/metering.json");
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "late_arrival_hours",
            "meters.Requests-2xx",
            "meters.transfer.filter.methods[0]",
            "pricing.plans.pro.currency",
        ],
        "{errors:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with(
            "the metering config s3://metering-deploy/billing/metering.json is invalid: \
             at `late_arrival_hours`: must be between 1 and 22, not 0; at `meters.Requests-2xx`: "
        ),
        "{message}"
    );
    for path in paths {
        assert!(message.contains(&format!("at `{path}`: ")), "{message}");
    }
    assert_eq!(err.kind(), "InvalidConfig");
    assert_eq!(object.num_calls(), 1);
}

/// Without the `EVENTS_*` variables the function has no usage-events table: a config with an
/// events meter is refused before the lease, the completeness check and the query, for a bill
/// and a preview alike.
#[tokio::test(start_paused = true)]
async fn without_the_events_table_an_events_meter_is_refused_not_billed_at_zero() {
    let object = config_object(events_config_bytes());
    // No Athena rule: a query would panic.
    let app = app(&[], &[&object]);

    for payload in [
        json!({"month": "2026-10"}),
        json!({"month": "2026-10", "preview": true}),
    ] {
        let err = app.run(&payload, far_deadline()).await.unwrap_err();

        assert_eq!(err.kind(), "EventsNotDeployed");
        assert_eq!(
            err,
            BillingError::EventsNotDeployed {
                uri: format!("s3://{CONFIG_BUCKET}/{CONFIG_KEY}"),
                meters: vec!["tokens".to_owned()],
            }
        );
        let message = err.to_string();
        assert!(
            message.contains("has a meter of usage events (`tokens`)")
                && message.contains("deploy the stack with its `usage_events` section"),
            "{message}"
        );
        let diagnostic = lambda_runtime::Diagnostic::from(err);
        assert_eq!(diagnostic.error_type, "Billing.EventsNotDeployed");
    }
}

#[tokio::test(start_paused = true)]
async fn a_config_that_does_not_parse_names_the_json_path() {
    let mut config = config_json();
    config["meters"]["requests"]["aggregation"] = json!("average");
    let object = config_object(serde_json::to_vec(&config).unwrap());
    let app = app(&[], &[&object]);

    let err = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "InvalidConfig");
    let message = err.to_string();
    assert!(
        message.starts_with(
            "the metering config s3://metering-deploy/billing/metering.json is not valid JSON \
             for a metering config: at `meters.requests.aggregation`: unknown variant `average`"
        ),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_missing_config_object_names_the_uri() {
    let missing = mock!(S3::get_object)
        .sequence()
        .http_status(
            404,
            Some(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code>\
                 <Message>The specified key does not exist.</Message></Error>"
                    .to_owned(),
            ),
        )
        .build();
    let app = app(&[], &[&missing]);

    let err = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "ConfigReadFailed");
    assert_eq!(
        err.to_string(),
        "could not read the metering config s3://metering-deploy/billing/metering.json: \
         GetObject failed: NoSuchKey: The specified key does not exist. (HTTP 404)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_query_still_running_at_the_deadline_is_stopped() {
    let running = mock!(Athena::get_query_execution)
        .sequence()
        .output(|| {
            GetQueryExecutionOutput::builder()
                .query_execution(
                    QueryExecution::builder()
                        .query_execution_id("q-3")
                        .status(
                            QueryExecutionStatus::builder()
                                .state(QueryExecutionState::Running)
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
        .repeatedly()
        .build();
    let stop = mock!(Athena::stop_query_execution)
        .match_requests(|r| r.query_execution_id() == Some("q-3"))
        .then_output(|| StopQueryExecutionOutput::builder().build());
    // MatchAny: the poll answer repeats until StopQueryExecution.
    let (start, config) = (start("q-3"), config_object(config_bytes()));
    let app = app_with(RuleMode::MatchAny, &[&start, &running, &stop], &[&config]);

    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let err = app
        .run(&json!({"month": "2026-10"}), deadline)
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "QueryTimedOut");
    assert_eq!(
        err.to_string(),
        "month 2026-10: the usage query (query execution id q-3) was still RUNNING at the \
         deadline; StopQueryExecution requested"
    );
    assert!(running.num_calls() > 3, "polled until the deadline");
    assert_eq!(stop.num_calls(), 1);
}

// ---- a retryable failure, an unreadable state, the month's lease ----

/// GetQueryExecution of `id`: FAILED with an AthenaError, retryable or not.
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

fn athena_error(code: &str, message: &str) -> String {
    format!(r#"{{"__type":"{code}","message":"{message}"}}"#)
}

#[tokio::test(start_paused = true)]
async fn a_usage_query_failing_with_a_retryable_error_is_resubmitted() {
    let reason = "GENERIC_INTERNAL_ERROR: internal error";
    let athena = [
        start("q-1"),
        state("q-1", QueryExecutionState::Running),
        failed_with("q-1", reason, true),
        start("q-2"),
        state("q-2", QueryExecutionState::Succeeded),
        page(
            "q-2",
            None,
            vec![
                vec!["tenant", "requests", "transfer"],
                vec!["acme", "150000", "2500000000"],
            ],
            None,
        ),
    ];
    let puts = Puts::default();
    let (config, put, list) = (config_object(config_bytes()), puts.rule(), listing(&[]));
    let app = app(&athena.iter().collect::<Vec<_>>(), &[&config, &put, &list]);

    let summary = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap()
        .billed()
        .unwrap();

    assert_eq!(summary.query_execution_id, "q-2");
    assert_eq!(summary.tenants_invoiced, 1);
    assert!(
        athena.iter().all(|r| r.num_calls() == 1),
        "in order, once each"
    );
}

#[tokio::test(start_paused = true)]
async fn a_retryable_failure_that_persists_names_every_query_id() {
    let reason = "GENERIC_INTERNAL_ERROR: internal error";
    let athena = [
        start("q-1"),
        failed_with("q-1", reason, true),
        start("q-2"),
        failed_with("q-2", reason, true),
        start("q-3"),
        failed_with("q-3", reason, true),
    ];
    // No PUT rule: a write would panic.
    let config = config_object(config_bytes());
    let app = app(&athena.iter().collect::<Vec<_>>(), &[&config]);

    let err = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "QueryFailed");
    let attempt = |id| format!("{id} (FAILED, retryable system error, ErrorType 401: {reason})");
    assert_eq!(
        err.to_string(),
        format!(
            "month 2026-10: the usage query (query execution id q-3) ended FAILED: {reason}; \
             retryable, but not resubmitted: 3 attempts made; resubmitted after {}, {}",
            attempt("q-1"),
            attempt("q-2")
        )
    );
}

#[tokio::test(start_paused = true)]
async fn a_usage_query_whose_state_cannot_be_read_is_stopped() {
    let unreadable = mock!(Athena::get_query_execution)
        .sequence()
        .http_status(
            500,
            Some(athena_error("InternalServerException", "Internal error")),
        )
        .times(lambda_support::sdk::MAX_ATTEMPTS as usize)
        .build();
    let stop = mock!(Athena::stop_query_execution)
        .match_requests(|r| r.query_execution_id() == Some("q-4"))
        .then_output(|| StopQueryExecutionOutput::builder().build());
    let (start, config) = (start("q-4"), config_object(config_bytes()));
    let app = app(&[&start, &unreadable, &stop], &[&config]);

    let err = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(stop.num_calls(), 1, "StopQueryExecution before giving up");
    assert_eq!(err.kind(), "GetQueryStateFailed");
    assert_eq!(
        err.to_string(),
        "month 2026-10: could not read the state of the usage query (query execution id q-4): \
         GetQueryExecution failed: InternalServerException: Internal error (HTTP 500); \
         StopQueryExecution requested"
    );
}

const LOCK_BUCKET: &str = "results-bucket";
const LOCK_KEY: &str = "locks/billing/2026-10";

/// The app with the lease lock of `s3://results-bucket/locks/billing`, over the same mocked
/// S3 client.
fn locked_app(athena_rules: &[&Rule], s3_rules: &[&Rule]) -> App<SdkAthena, SdkS3, SdkS3> {
    let athena = mock_client!(
        aws_sdk_athena,
        RuleMode::Sequential,
        athena_rules,
        athena_config
    );
    let no_data = no_data();
    let mut rules = s3_rules.to_vec();
    rules.push(&no_data);
    let s3 = SdkS3::new(mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        &rules,
        s3_config
    ));
    let prefix = LockPrefix::parse("s3://results-bucket/locks/billing").unwrap();
    App::new(SdkAthena::new(athena), s3.clone(), settings())
        .with_backoff(fast_backoff())
        .with_clock(mid_november)
        .with_lock(LeaseLock::new(s3, prefix))
}

/// PutObject of the month's lease with `If-None-Match: *`, recording the body.
fn create_lease(bodies: &Arc<Mutex<Vec<Vec<u8>>>>, status: u16) -> Rule {
    let bodies = bodies.clone();
    let rule = mock!(S3::put_object).match_requests(move |r| {
        let matches = r.bucket() == Some(LOCK_BUCKET)
            && r.key() == Some(LOCK_KEY)
            && r.if_none_match() == Some("*");
        if matches {
            bodies
                .lock()
                .unwrap()
                .push(r.body().bytes().unwrap_or_default().to_vec());
        }
        matches
    });
    if status == 200 {
        rule.then_output(|| PutObjectOutput::builder().e_tag("\"lease-1\"").build())
    } else {
        rule.sequence()
            .http_status(
                status,
                Some(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>PreconditionFailed\
                     </Code><Message>At least one of the pre-conditions you specified did not \
                     hold</Message></Error>"
                        .to_owned(),
                ),
            )
            .repeatedly()
            .build()
    }
}

#[tokio::test(start_paused = true)]
async fn a_month_locked_by_a_live_run_fails_loudly_before_any_query() {
    let bodies = Arc::default();
    let create = create_lease(&bodies, 412);
    let expires = now_epoch_ms() + 600_000;
    let held = mock!(S3::get_object)
        .match_requests(|r| r.bucket() == Some(LOCK_BUCKET) && r.key() == Some(LOCK_KEY))
        .then_output(move || {
            let record = LeaseRecord {
                holder: "req-0".to_owned(),
                token: "t-0".to_owned(),
                acquired_at_ms: expires - 900_000,
                expires_at_ms: expires,
            };
            GetObjectOutput::builder()
                .body(ByteStream::from(record.to_json()))
                .e_tag("\"lease-0\"")
                .build()
        });
    let config = config_object(config_bytes());
    // No Athena rule, no PUT of invoices: a query or a write would panic.
    let app = locked_app(&[], &[&create, &held, &config]);

    let err = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "Locked");
    assert_eq!(
        err.month().map(|m| m.to_string()).as_deref(),
        Some("2026-10")
    );
    let BillingError::Locked { locked, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(locked.holder(), Some("req-0"));
    assert_eq!(locked.expires_at_ms(), Some(expires));
    let message = err.to_string();
    assert!(
        message.starts_with(
            "month 2026-10: locked by another run: \
             s3://results-bucket/locks/billing/2026-10 is held by req-0 until "
        ),
        "{message}"
    );
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "Billing.Locked");
}

#[tokio::test(start_paused = true)]
async fn a_month_is_billed_holding_its_lease_and_released_after() {
    let athena = [
        start("q-5"),
        state("q-5", QueryExecutionState::Succeeded),
        page(
            "q-5",
            None,
            vec![
                vec!["tenant", "requests", "transfer"],
                vec!["acme", "150000", "2500000000"],
            ],
            None,
        ),
    ];
    let bodies = Arc::default();
    // The lease's rules first: in MatchAny mode the invoices' PUT rule sees the rest.
    let create = create_lease(&bodies, 200);
    let release = mock!(S3::delete_object)
        .match_requests(|r| {
            r.bucket() == Some(LOCK_BUCKET)
                && r.key() == Some(LOCK_KEY)
                && r.if_match() == Some("\"lease-1\"")
        })
        .then_output(|| DeleteObjectOutput::builder().build());
    let puts = Puts::default();
    let (config, put, list) = (config_object(config_bytes()), puts.rule(), listing(&[]));
    let app = locked_app(
        &athena.iter().collect::<Vec<_>>(),
        &[&create, &release, &config, &put, &list],
    );

    let summary = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap()
        .billed()
        .unwrap();

    assert_eq!(summary.files_written, 2, "acme's invoice and the summary");
    assert_eq!((create.num_calls(), release.num_calls()), (1, 1));
    let record = LeaseRecord::parse(&bodies.lock().unwrap()[0]).unwrap();
    assert!(record.holder.starts_with("local-"), "{record:?}");
    assert!(record.expires_at_ms > now_epoch_ms());
}

// ---- completeness ----

const DAY_5_JSON: &str = "json-data/year=2026/month=10/day=05/";
const DAY_5_MANIFESTS: &str = "compaction-manifests/year=2026/month=10/day=05/";
const MANIFEST_03: &str = "compaction-manifests/year=2026/month=10/day=05/hour=03/manifest.json";

/// A listing of `prefix` in the data bucket.
fn data_listing(prefix: &'static str, keys: &'static [&'static str]) -> Rule {
    mock!(S3::list_objects_v2)
        .match_requests(move |r| r.bucket() == Some(DATA_BUCKET) && r.prefix() == Some(prefix))
        .sequence()
        .output(move || {
            ListObjectsV2Output::builder()
                .set_contents(Some(
                    keys.iter()
                        .map(|k| Object::builder().key(*k).build())
                        .collect(),
                ))
                .is_truncated(false)
                .build()
        })
        .repeatedly()
        .build()
}

fn manifest_body(json_objects: &[&str], compacted_at_ms: u64) -> Vec<u8> {
    lambda_support::manifest::Manifest {
        hour: "2026-10-05T03".into(),
        json_objects: json_objects.iter().map(|k| k.to_string()).collect(),
        rows_in: 1,
        rows_out: 1,
        rows_malformed: 0,
        compacted_at_ms,
    }
    .to_bytes()
}

/// Hour 03 of October 5th was compacted from `a.json`, then `b.json` arrived; hour 07's
/// compaction never wrote its manifest. Billing now would leave out their requests.
#[tokio::test(start_paused = true)]
async fn a_month_with_a_stale_and_a_missing_hour_is_refused_before_any_query() {
    let json = data_listing(
        DAY_5_JSON,
        &[
            "json-data/year=2026/month=10/day=05/hour=03/a.json",
            "json-data/year=2026/month=10/day=05/hour=03/b.json",
            "json-data/year=2026/month=10/day=05/hour=07/c.json",
        ],
    );
    let manifests = data_listing(DAY_5_MANIFESTS, &[MANIFEST_03]);
    let manifest = mock!(S3::get_object)
        .match_requests(|r| r.bucket() == Some(DATA_BUCKET) && r.key() == Some(MANIFEST_03))
        .then_output(|| {
            GetObjectOutput::builder()
                .body(ByteStream::from(manifest_body(
                    &["json-data/year=2026/month=10/day=05/hour=03/a.json"],
                    1,
                )))
                .build()
        });
    let config = config_object(config_bytes());
    // No Athena rule and no PUT rule: a query or an invoice would panic.
    let app = app(&[], &[&config, &json, &manifests, &manifest]);

    let err = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "IncompleteMonth");
    assert_eq!(
        err.to_string(),
        "month 2026-10: 2 hours of the month's window not complete in the Parquet table, so the \
         month is not billed: 2026-10-05T03 stale (1 JSON objects arrived after its compaction), \
         2026-10-05T07 not compacted (1 JSON objects, no manifest); compact them again (the \
         compaction function's event {\"hours\": [\"2026-10-05T03\", \"2026-10-05T07\"]}), then \
         bill the month again"
    );
    assert_eq!(
        manifest.num_calls(),
        1,
        "only hour 03 has a manifest to read"
    );
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "Billing.IncompleteMonth");
}

/// A compaction that rewrites an hour while the usage query runs changes its manifest: the
/// query may have read the hour half-written, so nothing is written and the run fails.
#[tokio::test(start_paused = true)]
async fn an_hour_compacted_again_during_the_query_fails_the_run_before_any_invoice() {
    let athena = [
        start("q-3"),
        state("q-3", QueryExecutionState::Succeeded),
        page(
            "q-3",
            None,
            vec![
                vec!["tenant", "requests", "transfer"],
                vec!["acme", "1", "1"],
            ],
            None,
        ),
    ];
    let json = data_listing(
        DAY_5_JSON,
        &["json-data/year=2026/month=10/day=05/hour=03/a.json"],
    );
    let manifests = data_listing(DAY_5_MANIFESTS, &[MANIFEST_03]);
    let a = ["json-data/year=2026/month=10/day=05/hour=03/a.json"];
    let manifest = mock!(S3::get_object)
        .match_requests(|r| r.key() == Some(MANIFEST_03))
        .sequence()
        .output(move || {
            GetObjectOutput::builder()
                .body(ByteStream::from(manifest_body(&a, 1)))
                .build()
        })
        .output(move || {
            GetObjectOutput::builder()
                .body(ByteStream::from(manifest_body(&a, 2)))
                .build()
        })
        .build();
    let config = config_object(config_bytes());
    // No PUT rule: an invoice would panic.
    let app = app(
        &athena.iter().collect::<Vec<_>>(),
        &[&config, &json, &manifests, &manifest],
    );

    let err = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "ChangedWhileBilled");
    assert_eq!(
        err.to_string(),
        "month 2026-10: 1 hour re-compacted while the usage query ran (2026-10-05T03); nothing \
         was written, bill the month again"
    );
    assert_eq!(manifest.num_calls(), 2, "read before and after the query");
}

// ---- usage events ----

const DAY_3_EVENTS: &str = "usage-events/year=2026/month=10/day=03/";
const DAY_3_EVENTS_MANIFESTS: &str = "usage-events-manifests/year=2026/month=10/day=03/";
const EVENTS_OBJECT_04: &str = "usage-events/year=2026/month=10/day=03/hour=04/e.json";
const EVENTS_MANIFEST_04: &str =
    "usage-events-manifests/year=2026/month=10/day=03/hour=04/manifest.json";
const JSON_OBJECT_03: &str = "json-data/year=2026/month=10/day=05/hour=03/a.json";

/// GetObject of the manifest `key` in the data bucket, answering `first`, then `then` (or
/// `first` again) for every later read.
fn manifest_reads(key: &'static str, first: Vec<u8>, then: Option<Vec<u8>>) -> Rule {
    let then = then.unwrap_or_else(|| first.clone());
    let body = |bytes: Vec<u8>| {
        move || {
            GetObjectOutput::builder()
                .body(ByteStream::from(bytes.clone()))
                .build()
        }
    };
    mock!(S3::get_object)
        .match_requests(move |r| r.bucket() == Some(DATA_BUCKET) && r.key() == Some(key))
        .sequence()
        .output(body(first))
        .output(body(then))
        .repeatedly()
        .build()
}

/// Hour 03 of October 5th of the access log is compacted; hour 04 of October 3rd of the usage
/// events has an object and no manifest (its compaction never ran): the month is refused
/// before any query, the events' hour named as such.
#[tokio::test(start_paused = true)]
async fn an_events_hour_missing_its_manifest_refuses_the_month() {
    let json = data_listing(DAY_5_JSON, &[JSON_OBJECT_03]);
    let manifests = data_listing(DAY_5_MANIFESTS, &[MANIFEST_03]);
    let manifest = manifest_reads(MANIFEST_03, manifest_body(&[JSON_OBJECT_03], 1), None);
    let events = data_listing(DAY_3_EVENTS, &[EVENTS_OBJECT_04]);
    let config = config_object(events_config_bytes());
    // No Athena rule and no PUT rule: a query or an invoice would panic.
    let app = events_app(&[], &[&config, &json, &manifests, &manifest, &events]);

    let err = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "IncompleteMonth");
    let BillingError::IncompleteMonth {
        hours,
        events_hours,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(hours.is_empty(), "the access log is complete: {hours:?}");
    assert_eq!(
        *events_hours,
        [(
            "2026-10-03T04".to_owned(),
            "not compacted (1 JSON objects, no manifest)".to_owned()
        )]
    );
    assert_eq!(
        err.to_string(),
        "month 2026-10: 1 hour of the month's window not complete in the usage events' Parquet \
         table, so the month is not billed: usage events hour 2026-10-03T04 not compacted (1 \
         JSON objects, no manifest); compact it again (the usage events' compaction \
         function's event {\"hour\": \"2026-10-03T04\"}), then bill the month again"
    );
    assert_eq!(events.num_calls(), 1, "the events' day 3 listed");
    assert_eq!(manifest.num_calls(), 1, "the access log's hour checked too");
}

/// Both sources complete: the usage query reads the usage-events table beside the access-log
/// table, and the events meter is priced (the totals are not those of the access log alone).
/// Each source's manifest is read before and after the query.
#[tokio::test(start_paused = true)]
async fn an_events_meter_is_billed_when_both_sources_are_complete() {
    let athena = [
        start_query("q-7", october_events_query()),
        state("q-7", QueryExecutionState::Succeeded),
        page("q-7", None, events_usage_rows(), None),
    ];
    let json = data_listing(DAY_5_JSON, &[JSON_OBJECT_03]);
    let manifests = data_listing(DAY_5_MANIFESTS, &[MANIFEST_03]);
    let manifest = manifest_reads(MANIFEST_03, manifest_body(&[JSON_OBJECT_03], 1), None);
    let events = data_listing(DAY_3_EVENTS, &[EVENTS_OBJECT_04]);
    let events_manifests = data_listing(DAY_3_EVENTS_MANIFESTS, &[EVENTS_MANIFEST_04]);
    let events_manifest = manifest_reads(
        EVENTS_MANIFEST_04,
        manifest_body(&[EVENTS_OBJECT_04], 5),
        None,
    );
    let puts = Puts::default();
    let (config, put, list) = (
        config_object(events_config_bytes()),
        puts.rule(),
        listing(&[]),
    );
    let app = events_app(
        &athena.iter().collect::<Vec<_>>(),
        &[
            &config,
            &put,
            &list,
            &json,
            &manifests,
            &manifest,
            &events,
            &events_manifests,
            &events_manifest,
        ],
    );

    let summary = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap()
        .billed()
        .unwrap();

    assert!(
        athena.iter().all(|r| r.num_calls() == 1),
        "the events query"
    );
    let query = october_events_query();
    assert!(
        query.contains(&format!("\"{DATABASE}\".\"{EVENTS_TABLE}\""))
            && query.contains(&format!("\"{DATABASE}\".\"{TABLE}\"")),
        "{query}"
    );
    assert_eq!(summary.tenants_invoiced, 2);
    assert_eq!(
        summary.totals,
        EVENTS_TOTALS
            .iter()
            .map(|(c, t)| (c.to_string(), t.to_string()))
            .collect()
    );
    assert_eq!(
        (manifest.num_calls(), events_manifest.num_calls()),
        (2, 2),
        "each source read before and after the query"
    );
    let recorded = puts.0.lock().unwrap().clone();
    let (_, _, summary_csv) = recorded.last().unwrap();
    let summary_csv = String::from_utf8(summary_csv.clone()).unwrap();
    assert!(
        summary_csv.starts_with(
            "tenant,period,plan,currency,requests_requests,tokens_tokens,transfer_gb,"
        ) && summary_csv.contains("acme,2026-10,pro,EUR,150000,3000000,2.5,55.12,0.00,55.12"),
        "{summary_csv}"
    );
}

/// With the events' settings and a config without an events meter, the month is billed as
/// without them: the very query of the access log alone, and the events' hours not looked at
/// (one not compacted does not hold the month back: nothing is billed from it).
#[tokio::test(start_paused = true)]
async fn a_config_without_events_meters_ignores_the_events_hours() {
    let athena = [
        start("q-8"),
        state("q-8", QueryExecutionState::Succeeded),
        page("q-8", None, usage_rows(), None),
    ];
    let events = data_listing(DAY_3_EVENTS, &[EVENTS_OBJECT_04]);
    let puts = Puts::default();
    let (config, put, list) = (config_object(config_bytes()), puts.rule(), listing(&[]));
    let app = events_app(
        &athena.iter().collect::<Vec<_>>(),
        &[&config, &put, &list, &events],
    );

    let summary = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap()
        .billed()
        .unwrap();

    assert!(athena.iter().all(|r| r.num_calls() == 1));
    assert_eq!(summary.totals["EUR"], "49.00");
    assert_eq!(events.num_calls(), 0, "the events' folder is not listed");
}

/// The events' compaction rewrote an hour while the usage query ran: nothing is written, and
/// the hour is named as the usage events'.
#[tokio::test(start_paused = true)]
async fn an_events_hour_compacted_again_during_the_query_fails_the_run() {
    let athena = [
        start_query("q-9", october_events_query()),
        state("q-9", QueryExecutionState::Succeeded),
        page("q-9", None, events_usage_rows(), None),
    ];
    let events = data_listing(DAY_3_EVENTS, &[EVENTS_OBJECT_04]);
    let events_manifests = data_listing(DAY_3_EVENTS_MANIFESTS, &[EVENTS_MANIFEST_04]);
    let events_manifest = manifest_reads(
        EVENTS_MANIFEST_04,
        manifest_body(&[EVENTS_OBJECT_04], 5),
        Some(manifest_body(&[EVENTS_OBJECT_04], 6)),
    );
    let config = config_object(events_config_bytes());
    // No PUT rule: an invoice would panic.
    let app = events_app(
        &athena.iter().collect::<Vec<_>>(),
        &[&config, &events, &events_manifests, &events_manifest],
    );

    let err = app
        .run(&json!({"month": "2026-10"}), far_deadline())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "ChangedWhileBilled");
    assert_eq!(
        err.to_string(),
        "month 2026-10: 1 hour re-compacted while the usage query ran (usage events hour \
         2026-10-03T04); nothing was written, bill the month again"
    );
    assert_eq!(
        events_manifest.num_calls(),
        2,
        "read before and after the query"
    );
}

/// A preview lists the events' hours not compacted yet apart from the access log's, and
/// previews the events meter from the events query.
#[tokio::test(start_paused = true)]
async fn a_preview_lists_the_events_hours_not_compacted_apart() {
    let athena = [
        start_query("q-10", october_events_query()),
        state("q-10", QueryExecutionState::Succeeded),
        page("q-10", None, events_usage_rows(), None),
    ];
    let events = data_listing(DAY_3_EVENTS, &[EVENTS_OBJECT_04]);
    let config = config_object(events_config_bytes());
    // No PUT rule: a preview writes nothing.
    let app = events_app(&athena.iter().collect::<Vec<_>>(), &[&config, &events]);

    let preview = app
        .run(
            &json!({"month": "2026-10", "preview": true}),
            far_deadline(),
        )
        .await
        .unwrap()
        .preview()
        .unwrap();

    assert!(preview.hours_not_compacted.is_empty());
    assert_eq!(
        preview.events_hours_not_compacted,
        [(
            "2026-10-03T04".to_owned(),
            "not compacted (1 JSON objects, no manifest)".to_owned()
        )]
    );
    assert_eq!(
        preview.usage["acme"]["tokens"],
        metering::JsonNumber(3_000_000.into())
    );
}
