//! The real SDK clients against moto's S3 and Athena server, over HTTP on loopback, with
//! moto's IAM access control on: the function runs as a role whose policy is the one the
//! generated billing module declares (rendered from the golden tree's
//! `modules/billing/main.tf`), with the environment that module gives it, so a call the
//! policy does not allow fails the test. What moto checks, and what not, is in
//! [`lambda_support::moto`]: S3 calls by action and resource, Athena calls by action only,
//! nothing Athena does on the function's behalf.
//!
//! Needs moto 5 with its server extra for the Python in `METERING_PYTHON`
//! (default `python3`). If moto cannot be started the tests fail.
//!
//! moto's Athena runs no SQL: a query succeeds (here after QUEUED, RUNNING, RUNNING, since
//! its state manager is set to two polls per state), and GetQueryResults gives the result
//! queued through moto's API, header row first, as Athena does.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_athena::config::Credentials;
use aws_sdk_s3::primitives::ByteStream;
use billing::{App, BillingError, Response, Settings, Summary};
use common::moto::{
    self as moto, athena_client, athena_client_as, function_policy, function_settings,
    query_result, s3_client, s3_client_as, FUNCTION_NAME,
};
use common::*;
use lambda_support::athena::SdkAthena;
use lambda_support::lease::LeaseLock;
use lambda_support::moto::iam_policy::Policy;
use lambda_support::moto::{query_executions, MotoServer};
use lambda_support::s3::SdkS3;
use lambda_support::testing::lambda_event;
use serde_json::{json, Value};

/// October's invoice files, under the `INVOICES_PREFIX` the module gives the function.
struct Keys {
    folder: String,
    acme: String,
    unassigned: String,
    summary: String,
}

fn october_keys(settings: &Settings) -> Keys {
    let folder = format!("{}year=2026/month=10/", settings.invoices_prefix);
    Keys {
        acme: format!("{folder}tenants/acme.json"),
        unassigned: format!("{folder}tenants/unassigned.json"),
        summary: format!("{folder}summary.csv"),
        folder,
    }
}

/// moto with the work group and the module's bucket, the config object in it, the admin's
/// clients for setting up and checking what the function did, and the credentials of the
/// function's role.
struct World {
    server: MotoServer,
    athena: aws_sdk_athena::Client,
    s3: aws_sdk_s3::Client,
    function: Credentials,
    settings: Settings,
}

impl World {
    /// The function's role with the policy the billing module declares.
    async fn new() -> Self {
        Self::with_policy(&function_policy()).await
    }

    async fn with_policy(policy: &Policy) -> Self {
        Self::build(policy.json(), function_settings(), config_bytes()).await
    }

    /// The function's role with `policy`, the settings `settings` and the config object
    /// `config`.
    async fn build(policy: &Value, settings: Settings, config: Vec<u8>) -> Self {
        let server = MotoServer::start();
        let function = server.role_credentials(FUNCTION_NAME, policy);
        let athena = athena_client(&server).await;
        let s3 = s3_client(&server).await;
        athena
            .create_work_group()
            .name(&settings.work_group)
            .send()
            .await
            .expect("CreateWorkGroup on moto");
        let lock_bucket = settings.lock_prefix.as_ref().expect("LOCK_PREFIX").bucket();
        let mut buckets = vec![
            settings.config_object.bucket.as_str(),
            settings.invoices_bucket.as_str(),
            lock_bucket,
        ];
        buckets.sort();
        buckets.dedup();
        for bucket in buckets {
            s3.create_bucket().bucket(bucket).send().await.unwrap();
        }
        let world = Self {
            server,
            athena,
            s3,
            function,
            settings,
        };
        let object = &world.settings.config_object;
        world.put(&object.bucket, &object.key, config).await;
        world
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
    }

    /// Every object under the invoices prefix: key → (content type, bytes).
    async fn invoices(&self) -> BTreeMap<String, (String, Vec<u8>)> {
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(&self.settings.invoices_bucket)
            .prefix(&self.settings.invoices_prefix)
            .send()
            .await
            .unwrap();
        let mut objects = BTreeMap::new();
        for key in listed.contents().iter().filter_map(|o| o.key()) {
            let object = self
                .s3
                .get_object()
                .bucket(&self.settings.invoices_bucket)
                .key(key)
                .send()
                .await
                .unwrap();
            let content_type = object.content_type().unwrap_or_default().to_owned();
            let body = object.body.collect().await.unwrap().into_bytes().to_vec();
            objects.insert(key.to_owned(), (content_type, body));
        }
        objects
    }

    /// (query, work group) of every execution moto holds.
    async fn executions(&self) -> Vec<(String, String)> {
        query_executions(&self.athena).await
    }

    /// The app as the function's role, holding each month's lease as the Lambda does (so the
    /// lease's S3 calls are checked against the role's policy too).
    async fn app(&self) -> App<SdkAthena, SdkS3, SdkS3> {
        let s3 = SdkS3::new(s3_client_as(&self.server, &self.function).await);
        let lock_prefix = self.settings.lock_prefix.clone().expect("LOCK_PREFIX");
        App::new(
            SdkAthena::new(athena_client_as(&self.server, &self.function).await),
            s3.clone(),
            self.settings.clone(),
        )
        .with_lock(LeaseLock::new(s3, lock_prefix))
        .with_backoff(fast_backoff())
        .with_clock(mid_november)
    }

    async fn try_bill(&self, payload: Value) -> Result<Summary, BillingError> {
        self.respond(payload)
            .await
            .map(|response| response.billed().expect("a billing event bills"))
    }

    async fn respond(&self, payload: Value) -> Result<Response, BillingError> {
        self.app()
            .await
            .handle(lambda_event(payload, Duration::from_secs(300)))
            .await
    }

    async fn bill(&self, payload: Value) -> Summary {
        self.try_bill(payload)
            .await
            .unwrap_or_else(|e| panic!("handler failed: {e}\n{}", self.server.log_tail()))
    }
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[tokio::test]
async fn bills_a_month_into_s3_and_a_second_run_is_idempotent() {
    let world = World::new().await;
    let bucket = world.settings.invoices_bucket.clone();
    let keys = october_keys(&world.settings);
    world.server.athena_transition(2);
    world.server.queue_athena_results(vec![
        query_result(&usage_rows()),
        query_result(&usage_rows()),
    ]);

    let summary = world.bill(json!({"month": "2026-10"})).await;

    // The usage query for October went to the work group, as the metering crate writes it.
    let executions = world.executions().await;
    assert_eq!(
        executions,
        [(october_query(), WORK_GROUP.to_owned())],
        "one usage query"
    );
    assert_eq!(summary.month, "2026-10");
    assert_eq!(summary.tenants_invoiced, 2);
    assert_eq!(summary.files_written, 3);
    assert_eq!(summary.files_deleted, 0);
    assert_eq!(
        summary.totals,
        BTreeMap::from([
            ("EUR".to_owned(), "49.00".to_owned()),
            ("USD".to_owned(), "0.09".to_owned())
        ])
    );
    assert_eq!(summary.location, format!("s3://{bucket}/{}", keys.folder));
    assert!(!summary.query_execution_id.is_empty());

    let first = world.invoices().await;
    let written: Vec<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(written, [&keys.summary, &keys.acme, &keys.unassigned]);
    assert_eq!(first[&keys.summary].0, "text/csv");
    assert_eq!(
        String::from_utf8(first[&keys.summary].1.clone()).unwrap(),
        SUMMARY_CSV
    );

    let (content_type, body) = &first[&keys.acme];
    assert_eq!(content_type, "application/json");
    assert_eq!(body.last(), Some(&b'\n'), "one line of JSON");
    let acme = json_of(body);
    assert_eq!(acme["tenant"], "acme");
    assert_eq!(acme["period"], "2026-10");
    assert_eq!(acme["period_start"], "2026-10-01");
    assert_eq!(acme["period_end"], "2026-10-31");
    assert_eq!(acme["plan"], "pro");
    assert_eq!(acme["currency"], "EUR");
    assert_eq!(
        acme["usage"],
        json!([
            {"meter": "requests", "aggregation": "count", "raw": 150000,
             "raw_unit": "requests", "quantity": "150000", "unit": "requests"},
            {"meter": "transfer", "aggregation": "sum_response_bytes", "raw": 2500000000u64,
             "raw_unit": "bytes", "quantity": "2.5", "unit": "GB"},
        ])
    );
    let lines = acme["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["meter"], "requests");
    assert_eq!(lines[0]["exact_amount"], "25.00");
    assert_eq!(lines[0]["amount"], "25.00");
    let tiers: Vec<(&Value, &Value)> = lines[0]["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (&t["units"], &t["amount"]))
        .collect();
    assert_eq!(
        tiers,
        [
            (&json!("100000"), &json!("20.00")),
            (&json!("50000"), &json!("5.00"))
        ]
    );
    assert_eq!(lines[1]["meter"], "transfer");
    assert_eq!(lines[1]["exact_amount"], "0.125");
    assert_eq!(lines[1]["amount"], "0.12", "half-even");
    assert_eq!(acme["subtotal"], "25.12");
    assert_eq!(acme["monthly_minimum"], "49.00");
    assert_eq!(acme["minimum_adjustment"], "23.88");
    assert_eq!(acme["total"], "49.00");

    let (content_type, body) = &first[&keys.unassigned];
    assert_eq!(content_type, "application/json");
    let unassigned = json_of(body);
    assert_eq!(unassigned["tenant"], "unassigned");
    assert_eq!(unassigned["plan"], "standard");
    assert_eq!(unassigned["currency"], "USD");
    let lines = unassigned["lines"].as_array().unwrap();
    assert_eq!(lines[0]["free_units_applied"], "1000");
    assert_eq!(lines[0]["billable_quantity"], "234");
    assert_eq!(lines[0]["amount"], "0.09");
    assert_eq!(lines[1]["amount"], "0.00");
    assert_eq!(unassigned["subtotal"], "0.09");
    assert_eq!(unassigned["monthly_minimum"], Value::Null);
    assert_eq!(unassigned["minimum_adjustment"], "0.00");
    assert_eq!(unassigned["total"], "0.09");

    // A tenant invoiced by an earlier run that has no usage now, and another month's file.
    let stale = format!("{}tenants/old.json", keys.folder);
    let september = format!(
        "{}year=2026/month=09/tenants/old.json",
        world.settings.invoices_prefix
    );
    world.put(&bucket, &stale, b"{}\n".to_vec()).await;
    world.put(&bucket, &september, b"{}\n".to_vec()).await;

    let again = world.bill(json!({"month": "2026-10"})).await;

    assert_eq!(again.files_written, 3);
    assert_eq!(again.files_deleted, 1);
    assert_eq!(again.totals, summary.totals);
    assert_ne!(again.query_execution_id, summary.query_execution_id);
    let second = world.invoices().await;
    let mut expected = first.clone();
    expected.insert(
        september.clone(),
        ("application/json".to_owned(), b"{}\n".to_vec()),
    );
    assert_eq!(
        second.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "old.json is gone, September untouched"
    );
    assert_eq!(second, expected, "the same bytes again");
    assert_eq!(world.executions().await.len(), 2);
}

#[tokio::test]
async fn a_scheduled_run_too_early_in_the_month_bills_nothing() {
    let world = World::new().await;
    let app = App::new(
        SdkAthena::new(athena_client_as(&world.server, &world.function).await),
        SdkS3::new(s3_client_as(&world.server, &world.function).await),
        world.settings.clone(),
    )
    .with_clock(|| {
        chrono::DateTime::parse_from_rfc3339("2026-11-01T00:10:05Z")
            .unwrap()
            .to_utc()
    });

    let err = app
        .handle(lambda_event(
            scheduled_event_at("2026-11-01T00:10:00Z"),
            Duration::from_secs(300),
        ))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "MonthNotComplete");
    assert_eq!(
        err.to_string(),
        "month 2026-10 cannot be billed before 2026-11-01T04:00:00Z: its late-arrival window \
         (late_arrival_hours = 3) ends at 2026-11-01T03:00:00Z and billing waits \
         BILLING_DELAY_MINUTES = 60 more for the last hour's compaction \
         (now 2026-11-01T00:10:05Z)"
    );
    assert!(world.executions().await.is_empty(), "no query started");
    assert!(world.invoices().await.is_empty(), "nothing written");
}

/// The rendered policy without the statement `sid`: what the function's role gets in a test
/// proving that a call needs it.
fn policy_without(sid: &str) -> Policy {
    function_policy()
        .without_statement(sid)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Access control is on, and S3 is checked by resource: without the module's `WriteInvoices`
/// statement the invoice PUTs are refused, though `QueryResults` still allows s3:PutObject
/// (on the query-results bucket).
#[tokio::test]
async fn without_write_invoices_no_invoice_can_be_written() {
    let policy = policy_without("WriteInvoices");
    assert!(
        policy.to_string().contains("s3:PutObject"),
        "another statement still allows s3:PutObject elsewhere: {policy}"
    );
    let world = World::with_policy(&policy).await;
    world
        .server
        .queue_athena_results(vec![query_result(&usage_rows())]);

    let err = world
        .try_bill(json!({"month": "2026-10"}))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "S3PutFailed", "{err}");
    let message = err.to_string();
    assert!(
        message.contains("could not write s3://")
            && message.contains("PutObject failed: AccessDenied"),
        "{message}"
    );
    assert!(world.invoices().await.is_empty(), "nothing written");
    assert_eq!(world.executions().await.len(), 1, "the usage query ran");
}

/// Without the module's `ReadUsageAndConfig` statement the function cannot read its config
/// object, though `QueryResults` still allows s3:GetObject (on the query-results bucket).
#[tokio::test]
async fn without_read_usage_and_config_the_config_cannot_be_read() {
    let world = World::with_policy(&policy_without("ReadUsageAndConfig")).await;

    let err = world
        .try_bill(json!({"month": "2026-10"}))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "ConfigReadFailed", "{err}");
    let config = &world.settings.config_object;
    let message = err.to_string();
    assert!(
        message.contains(&config.to_string()) && message.contains("AccessDenied"),
        "{message}"
    );
    assert!(world.executions().await.is_empty(), "no query started");
}

impl World {
    /// The keys under the months' lease prefix, read with the test's own credentials.
    async fn leases(&self) -> Vec<String> {
        let prefix = self.settings.lock_prefix.as_ref().expect("LOCK_PREFIX");
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(prefix.bucket())
            .prefix(prefix.key_prefix())
            .send()
            .await
            .unwrap();
        listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }
}

/// The month's lease is taken and released with the role's own permissions: with the module's
/// policy nothing is left under the lease prefix; without its `MonthLeases` statement the
/// lease is still taken (`QueryResults` allows PutObject in the results bucket) but cannot be
/// released (DeleteObject is refused), so it stays until it expires.
#[tokio::test]
async fn the_month_lease_is_taken_and_released_under_the_role() {
    let world = World::new().await;
    world
        .server
        .queue_athena_results(vec![query_result(&usage_rows())]);
    world.bill(json!({"month": "2026-10"})).await;
    assert!(world.leases().await.is_empty(), "the lease was released");

    let world = World::with_policy(&policy_without("MonthLeases")).await;
    world
        .server
        .queue_athena_results(vec![query_result(&usage_rows())]);
    world.bill(json!({"month": "2026-10"})).await;
    let leases = world.leases().await;
    assert_eq!(leases.len(), 1, "{leases:?}");
    assert!(leases[0].ends_with("/2026-10"), "{leases:?}");
}

// ---- completeness, under the function's role ----

const HOUR_03: &str = "year=2026/month=10/day=05/hour=03";
const HOUR_07: &str = "year=2026/month=10/day=05/hour=07";

impl World {
    /// A JSON object of `hour` (`year=…/hour=HH`) named `name`.
    async fn put_json(&self, hour: &str, name: &str) -> String {
        self.put_json_in(JSON_FOLDER, hour, name).await
    }

    /// A JSON object of `hour` in `folder` named `name`.
    async fn put_json_in(&self, folder: &str, hour: &str, name: &str) -> String {
        let key = format!("{folder}/{hour}/{name}");
        self.put(moto::BUCKET, &key, b"{}\n".to_vec()).await;
        key
    }

    /// The compaction's manifest of `hour`, listing `json_objects`.
    async fn put_manifest(&self, hour: &str, json_objects: &[String]) {
        self.put_manifest_in(MANIFEST_FOLDER, hour, json_objects)
            .await
    }

    /// A compaction's manifest of `hour` in `folder`, listing `json_objects`.
    async fn put_manifest_in(&self, folder: &str, hour: &str, json_objects: &[String]) {
        let manifest = lambda_support::manifest::Manifest {
            hour: hour.to_owned(),
            json_objects: json_objects.to_vec(),
            rows_in: 1,
            rows_out: 1,
            rows_malformed: 0,
            compacted_at_ms: 1,
        };
        let key = format!("{folder}/{hour}/manifest.json");
        self.put(moto::BUCKET, &key, manifest.to_bytes()).await;
    }
}

/// A stale hour (an object Firehose delivered after the compaction) and a missing one (its
/// compaction never finished): the month is refused before the usage query, nothing written.
#[tokio::test]
async fn a_month_with_a_stale_and_a_missing_hour_is_not_billed() {
    let world = World::new().await;
    let a = world.put_json(HOUR_03, "a.json").await;
    world.put_json(HOUR_03, "b-late.json").await;
    world.put_manifest(HOUR_03, &[a]).await;
    world.put_json(HOUR_07, "c.json").await;

    let err = world
        .try_bill(json!({"month": "2026-10"}))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "IncompleteMonth", "{err}");
    let BillingError::IncompleteMonth { hours, .. } = &err else {
        panic!("{err:?}")
    };
    let named: Vec<&str> = hours.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(named, ["2026-10-05T03", "2026-10-05T07"]);
    assert!(hours[0].1.starts_with("stale"), "{hours:?}");
    assert!(hours[1].1.starts_with("not compacted"), "{hours:?}");
    assert!(world.executions().await.is_empty(), "no usage query");
    assert!(world.invoices().await.is_empty(), "nothing written");
}

/// Every hour with JSON objects has a manifest listing them all (an expired object missing
/// from the folder is fine): the month is billed.
#[tokio::test]
async fn a_month_whose_hours_are_all_compacted_is_billed() {
    let world = World::new().await;
    let a = world.put_json(HOUR_03, "a.json").await;
    world
        .put_manifest(
            HOUR_03,
            &[a, format!("{JSON_FOLDER}/{HOUR_03}/expired.json")],
        )
        .await;
    // The previous month's last hour is in October's window too.
    let b = world
        .put_json("year=2026/month=09/day=30/hour=23", "b.json")
        .await;
    world
        .put_manifest("year=2026/month=09/day=30/hour=23", &[b])
        .await;
    world
        .server
        .queue_athena_results(vec![query_result(&usage_rows())]);

    let summary = world.bill(json!({"month": "2026-10"})).await;

    assert_eq!(summary.tenants_invoiced, 2);
}

/// Without the module's `ReadManifests` statement the manifests cannot be read, and the month
/// is not billed: a check that cannot be made never passes.
#[tokio::test]
async fn without_read_manifests_the_month_is_not_billed() {
    let world = World::with_policy(&policy_without("ReadManifests")).await;
    let a = world.put_json(HOUR_03, "a.json").await;
    world.put_manifest(HOUR_03, &[a]).await;

    let err = world
        .try_bill(json!({"month": "2026-10"}))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "CompletenessCheckFailed", "{err}");
    assert!(err.to_string().contains("AccessDenied"), "{err}");
    assert!(world.executions().await.is_empty(), "no usage query");
}

// ---- preview, under the function's role ----

const NOVEMBER_HOUR: &str = "year=2026/month=11/day=15/hour=11";

/// A preview of the current month runs the usage query and prices it, reports the hour whose
/// objects are not compacted yet instead of refusing the month, shows the test tenant's
/// usage without invoicing it, and writes nothing: no invoice file, no lease.
#[tokio::test]
async fn a_preview_of_the_current_month_writes_nothing() {
    let world = World::new().await;
    world.put_json(NOVEMBER_HOUR, "not-yet.json").await;
    let mut rows = usage_rows();
    rows.push(vec!["verify-3f9a", "5", "640"]);
    world
        .server
        .queue_athena_results(vec![query_result(&rows), query_result(&rows)]);

    let preview = world
        .respond(json!({"month": "2026-11", "preview": true}))
        .await
        .unwrap_or_else(|e| panic!("preview failed: {e}\n{}", world.server.log_tail()))
        .preview()
        .expect("a preview");

    assert_eq!(preview.month, "2026-11");
    assert!(preview.preview);
    let hours: Vec<&str> = preview
        .hours_not_compacted
        .iter()
        .map(|(h, _)| h.as_str())
        .collect();
    assert_eq!(hours, ["2026-11-15T11"]);
    let n = |d: u64| metering::JsonNumber(d.into());
    assert_eq!(preview.usage["verify-3f9a"]["requests"], n(5));
    assert_eq!(preview.usage["acme"]["requests"], n(150000));
    let invoiced: Vec<&str> = preview.invoices.iter().map(|i| i.tenant.as_str()).collect();
    assert_eq!(invoiced, ["acme", "unassigned"]);
    assert_eq!(preview.test_tenants, ["verify-3f9a"]);
    assert_eq!(preview.invoices[0].invoice.total.to_string(), "49.00");
    let november =
        metering::usage_query(&valid_config(), "2026-11".parse().unwrap(), DATABASE, TABLE)
            .unwrap();
    assert_eq!(
        world.executions().await,
        [(november, WORK_GROUP.to_owned())],
        "one usage query, of November"
    );
    assert!(world.invoices().await.is_empty(), "no invoice written");
    assert!(world.leases().await.is_empty(), "no lease taken");

    // One tenant: its usage and invoice only; a test tenant has usage and no invoice.
    let one = world
        .respond(json!({"month": "2026-11", "preview": true, "tenant": "verify-3f9a"}))
        .await
        .unwrap()
        .preview()
        .unwrap();
    assert_eq!(one.tenant.as_deref(), Some("verify-3f9a"));
    assert_eq!(
        one.usage,
        BTreeMap::from([(
            "verify-3f9a".to_owned(),
            BTreeMap::from([
                ("requests".to_owned(), n(5)),
                ("transfer".to_owned(), n(640))
            ])
        )])
    );
    assert!(one.invoices.is_empty());
    assert_eq!(one.test_tenants, ["verify-3f9a"]);
    assert!(world.invoices().await.is_empty(), "still nothing written");
}

// ---- usage events, under the function's role ----

impl World {
    /// The function as the billing module deploys it in a stack with usage events: its
    /// `EVENTS_*` environment and its policy (the events' folders listed, their manifests
    /// read), and a config with an events meter.
    async fn with_events() -> Self {
        let settings = moto::function_settings_with_events();
        assert!(settings.events.is_some(), "the module sets EVENTS_*");
        Self::build(
            moto::function_policy_with_events().json(),
            settings,
            events_config_bytes(),
        )
        .await
    }
}

/// An events meter billed end to end: while an hour of the usage events is not compacted the
/// month is refused before any query; once the events' compaction has written its manifest,
/// the usage query over both tables goes to Athena, and moto's answer (canned rows: moto runs
/// no SQL) is priced with the events meter.
#[tokio::test]
async fn an_events_meter_is_billed_once_its_hours_are_compacted() {
    let world = World::with_events().await;
    let keys = october_keys(&world.settings);
    let a = world.put_json(HOUR_03, "a.json").await;
    world.put_manifest(HOUR_03, &[a]).await;
    let e = world
        .put_json_in(EVENTS_JSON_FOLDER, HOUR_07, "e.json")
        .await;

    let err = world
        .try_bill(json!({"month": "2026-10"}))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "IncompleteMonth", "{err}");
    let BillingError::IncompleteMonth {
        hours,
        events_hours,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(hours.is_empty(), "{hours:?}");
    let named: Vec<&str> = events_hours.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(named, ["2026-10-05T07"]);
    assert!(
        err.to_string()
            .contains("usage events hour 2026-10-05T07 not compacted"),
        "{err}"
    );
    assert!(world.executions().await.is_empty(), "no usage query");
    assert!(world.invoices().await.is_empty(), "nothing written");

    world
        .put_manifest_in(EVENTS_MANIFEST_FOLDER, HOUR_07, &[e])
        .await;
    world
        .server
        .queue_athena_results(vec![query_result(&events_usage_rows())]);

    let summary = world.bill(json!({"month": "2026-10"})).await;

    assert_eq!(
        world.executions().await,
        [(october_events_query(), WORK_GROUP.to_owned())],
        "one usage query, over both tables"
    );
    assert_eq!(
        summary.totals,
        EVENTS_TOTALS
            .iter()
            .map(|(c, t)| (c.to_string(), t.to_string()))
            .collect()
    );
    let invoices = world.invoices().await;
    let acme = json_of(&invoices[&keys.acme].1);
    assert_eq!(
        acme["usage"][1],
        json!({"meter": "tokens", "aggregation": "sum", "raw": 3000000,
               "raw_unit": "tokens", "quantity": "3000000", "unit": "tokens"})
    );
    assert_eq!(acme["lines"][1]["amount"], "30.00");
    assert_eq!(acme["total"], "55.12");
}
