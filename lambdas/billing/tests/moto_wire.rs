//! The real SDK clients against moto's S3 and Athena server, over HTTP on loopback.
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

use aws_sdk_s3::primitives::ByteStream;
use billing::{App, SdkAthena, SdkS3, Summary};
use common::moto::{athena_client, query_result, s3_client};
use common::*;
use lambda_support::moto::{query_executions, MotoServer};
use lambda_support::testing::lambda_event;
use serde_json::{json, Value};

const FOLDER: &str = "invoices/year=2026/month=10/";
const ACME: &str = "invoices/year=2026/month=10/tenants/acme.json";
const UNASSIGNED: &str = "invoices/year=2026/month=10/tenants/unassigned.json";
const SUMMARY: &str = "invoices/year=2026/month=10/summary.csv";

struct World {
    server: MotoServer,
    athena: aws_sdk_athena::Client,
    s3: aws_sdk_s3::Client,
}

impl World {
    async fn new() -> Self {
        let server = MotoServer::start();
        let athena = athena_client(&server).await;
        let s3 = s3_client(&server).await;
        athena
            .create_work_group()
            .name(WORK_GROUP)
            .send()
            .await
            .expect("CreateWorkGroup on moto");
        for bucket in [CONFIG_BUCKET, INVOICES_BUCKET] {
            s3.create_bucket().bucket(bucket).send().await.unwrap();
        }
        Self { server, athena, s3 }
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

    /// Every invoice object: key → (content type, bytes).
    async fn invoices(&self) -> BTreeMap<String, (String, Vec<u8>)> {
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(INVOICES_BUCKET)
            .send()
            .await
            .unwrap();
        let mut objects = BTreeMap::new();
        for key in listed.contents().iter().filter_map(|o| o.key()) {
            let object = self
                .s3
                .get_object()
                .bucket(INVOICES_BUCKET)
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

    async fn app(&self) -> App<SdkAthena, SdkS3> {
        App::new(
            SdkAthena::new(athena_client(&self.server).await),
            SdkS3::new(s3_client(&self.server).await),
            settings(),
        )
        .with_backoff(fast_backoff())
        .with_clock(mid_november)
    }

    async fn bill(&self, payload: Value) -> Summary {
        self.app()
            .await
            .handle(lambda_event(payload, Duration::from_secs(300)))
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
    world.server.athena_transition(2);
    world.put(CONFIG_BUCKET, CONFIG_KEY, config_bytes()).await;
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
    assert_eq!(summary.location, format!("s3://{INVOICES_BUCKET}/{FOLDER}"));
    assert!(!summary.query_execution_id.is_empty());

    let first = world.invoices().await;
    let keys: Vec<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(keys, [SUMMARY, ACME, UNASSIGNED]);
    assert_eq!(first[SUMMARY].0, "text/csv");
    assert_eq!(
        String::from_utf8(first[SUMMARY].1.clone()).unwrap(),
        SUMMARY_CSV
    );

    let (content_type, body) = &first[ACME];
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

    let (content_type, body) = &first[UNASSIGNED];
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
    let stale = format!("{FOLDER}tenants/old.json");
    let september = "invoices/year=2026/month=09/tenants/old.json";
    world.put(INVOICES_BUCKET, &stale, b"{}\n".to_vec()).await;
    world
        .put(INVOICES_BUCKET, september, b"{}\n".to_vec())
        .await;

    let again = world.bill(json!({"month": "2026-10"})).await;

    assert_eq!(again.files_written, 3);
    assert_eq!(again.files_deleted, 1);
    assert_eq!(again.totals, summary.totals);
    assert_ne!(again.query_execution_id, summary.query_execution_id);
    let second = world.invoices().await;
    let mut expected = first.clone();
    expected.insert(
        september.to_owned(),
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
    world.put(CONFIG_BUCKET, CONFIG_KEY, config_bytes()).await;
    let app = App::new(
        SdkAthena::new(athena_client(&world.server).await),
        SdkS3::new(s3_client(&world.server).await),
        settings(),
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
