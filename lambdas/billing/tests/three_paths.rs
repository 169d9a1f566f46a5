//! One October holding every case of issue "bill every request exactly once", billed three
//! ways that must agree with the ground truth written down with the logs:
//!
//! - offline: [`metering::Aggregator`] over the window's files, as `metering-gen bill` reads
//!   them;
//! - SQL: the usage query's text run in DuckDB over the same files (as the Glue table reads
//!   them, malformed lines as rows of NULLs);
//! - the function: the billing Lambda against moto under its own role, with the files and the
//!   compaction's manifests in S3 and DuckDB's answer as Athena's.
//!
//! The cases: a buffer that straddles the month's start filed under September's last hour; a
//! request of October 31st at 23:59:59.999 in November's first folder; a duplicate delivered
//! into another hour; a malformed line; a late object in an hour compacted before it arrived;
//! an hour that was empty when compacted and filled later. While the late objects are not in
//! Parquet the function refuses the month; once the compaction has taken them in (their
//! manifests list them), it bills exactly the ground truth.
//!
//! Needs moto and DuckDB for the Python in `METERING_PYTHON` (default `python3`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use billing::{App, BillingError, Settings, Summary};
use common::moto::{
    athena_client, athena_client_as, function_policy, function_settings, query_result, s3_client,
    s3_client_as, BUCKET, FUNCTION_NAME,
};
use common::*;
use lambda_support::athena::SdkAthena;
use lambda_support::lease::LeaseLock;
use lambda_support::manifest::Manifest;
use lambda_support::moto::MotoServer;
use lambda_support::s3::SdkS3;
use lambda_support::testing::lambda_event;
use metering::{Aggregator, FolderHour, Window};
use serde_json::{json, Value};

/// 2026-10-01T00:00:00Z in epoch milliseconds.
const OCTOBER: i64 = 1_790_812_800_000;
const NOVEMBER: i64 = 1_793_491_200_000;
const MINUTE: i64 = 60_000;

fn record(id: &str, at: i64, tenant: &str, status: u16) -> String {
    json!({
        "requestId": id, "ip": "192.0.2.1", "user": "u", "requestTime": at,
        "httpMethod": "GET", "resourcePath": "/random", "status": status,
        "protocol": "HTTP/1.1", "responseLength": 100, "tenant": tenant, "sub": "s-1"
    })
    .to_string()
}

/// (hour folder, file name, lines, listed in the manifest written when the hour was first
/// compacted)
type File = (&'static str, &'static str, Vec<String>, bool);

fn files() -> Vec<File> {
    let h = |hours: i64| OCTOBER + hours * 60 * MINUTE;
    vec![
        // September's last hour: one September request and two of October's first minute.
        (
            "year=2026/month=09/day=30/hour=23",
            "straddling.json",
            vec![
                record("sep-1", OCTOBER - 3 * MINUTE, "acme", 200),
                record("oct-1", OCTOBER + 10_000, "acme", 200),
                record("oct-2", OCTOBER + 30_000, "beta", 200),
            ],
            true,
        ),
        (
            "year=2026/month=10/day=01/hour=00",
            "a.json",
            vec![
                record("oct-3", OCTOBER + 5 * MINUTE, "acme", 200),
                record("oct-4", OCTOBER + 6 * MINUTE, "acme", 500),
                "{\"requestId\":\"cut".to_owned(),
            ],
            true,
        ),
        // oct-3 delivered again, into the next hour.
        (
            "year=2026/month=10/day=01/hour=01",
            "a.json",
            vec![
                record("oct-3", OCTOBER + 5 * MINUTE, "acme", 200),
                record("oct-5", h(1) + MINUTE, "beta", 200),
            ],
            true,
        ),
        // Compacted from `a.json`; `b-late.json` came after.
        (
            "year=2026/month=10/day=10/hour=14",
            "a.json",
            vec![record("oct-6", h(9 * 24 + 14), "acme", 200)],
            true,
        ),
        (
            "year=2026/month=10/day=10/hour=14",
            "b-late.json",
            vec![
                record("oct-7", h(9 * 24 + 14) + 50 * MINUTE, "acme", 200),
                record("oct-8", h(9 * 24 + 14) + 55 * MINUTE, "gamma", 200),
            ],
            false,
        ),
        // Empty when compacted; its only object came later.
        (
            "year=2026/month=10/day=20/hour=11",
            "late.json",
            vec![record("oct-9", h(19 * 24 + 11), "beta", 200)],
            false,
        ),
        // The month's last millisecond, and a November request, in November's first folder.
        (
            "year=2026/month=11/day=01/hour=00",
            "a.json",
            vec![
                record("oct-10", NOVEMBER - 1, "gamma", 200),
                record("nov-1", NOVEMBER + MINUTE, "gamma", 200),
            ],
            true,
        ),
    ]
}

/// Requests per tenant that pass the `requests` meter (2xx), by hand from [`files`]: October's
/// ids once each, September's and November's left out, the 500 not counted.
fn ground_truth() -> BTreeMap<String, u64> {
    BTreeMap::from([
        ("acme".to_owned(), 4),  // oct-1, oct-3, oct-6, oct-7 (oct-4 is a 500)
        ("beta".to_owned(), 3),  // oct-2, oct-5, oct-9
        ("gamma".to_owned(), 2), // oct-8, oct-10
    ])
}

fn write_files(root: &Path) {
    for (hour, name, lines, _) in files() {
        let folder = root.join(JSON_FOLDER).join(hour);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(name), lines.join("\n") + "\n").unwrap();
    }
}

fn requests(usage: &metering::Usage) -> BTreeMap<String, u64> {
    usage
        .tenants
        .iter()
        .map(|(tenant, meters)| {
            let n: u64 = meters["requests"].to_string().parse().expect("a count");
            (tenant.clone(), n)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// The offline path: every line of every file of the window's folders.
fn offline(root: &Path) -> metering::Usage {
    let config = valid_config();
    let window: Window = config.window(october());
    let mut aggregator = Aggregator::new(&config, october());
    let mut paths = Vec::new();
    for (hour, name, _, _) in files() {
        paths.push(root.join(JSON_FOLDER).join(hour).join(name));
    }
    paths.sort();
    paths.dedup();
    for path in paths {
        let hour = FolderHour::from_path(&path).unwrap();
        if !window.reads_folder(hour) {
            continue;
        }
        for line in std::fs::read(&path).unwrap().split(|b| *b == b'\n') {
            let _ = aggregator.add_line(line);
        }
    }
    aggregator.finish().unwrap().0
}

const DUCKDB: &str = r#"
import json, sys
import duckdb
root, database, table, sql = sys.argv[1:5]
con = duckdb.connect(config={"threads": 1})
con.execute('CREATE SCHEMA "%s"' % database)
columns = ("{'requestId': 'VARCHAR', 'ip': 'VARCHAR', 'user': 'VARCHAR', "
           "'requestTime': 'BIGINT', 'httpMethod': 'VARCHAR', 'resourcePath': 'VARCHAR', "
           "'status': 'INTEGER', 'protocol': 'VARCHAR', 'responseLength': 'BIGINT', "
           "'tenant': 'VARCHAR', 'sub': 'VARCHAR'}")
con.execute(
    "CREATE VIEW \"%s\".\"%s\" AS SELECT * FROM read_json('%s/*/*/*/*/*', "
    "format='newline_delimited', ignore_errors=true, hive_partitioning=true, "
    "hive_types={'year': INTEGER, 'month': INTEGER, 'day': INTEGER, 'hour': INTEGER}, "
    "columns=%s)" % (database, table, root.replace("'", "''"), columns))
cursor = con.execute(sql)
header = [d[0] for d in cursor.description]
rows = [[None if v is None else str(v) for v in r] for r in cursor.fetchall()]
print(json.dumps([header] + rows))
"#;

/// The usage query run in DuckDB over the JSON files: header row, then one row per tenant.
fn duckdb(root: &Path) -> Vec<Vec<Option<String>>> {
    let python = std::env::var("METERING_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let root = root.join(JSON_FOLDER);
    let output = Command::new(python)
        .args([
            "-c",
            DUCKDB,
            root.to_str().unwrap(),
            DATABASE,
            TABLE,
            &october_query(),
        ])
        .output()
        .expect("running Python with DuckDB");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

struct World {
    server: MotoServer,
    s3: aws_sdk_s3::Client,
    function: aws_sdk_athena::config::Credentials,
    settings: Settings,
}

impl World {
    async fn new() -> Self {
        let server = MotoServer::start();
        let function = server.role_credentials(FUNCTION_NAME, function_policy().json());
        let settings = function_settings();
        let athena = athena_client(&server).await;
        let s3 = s3_client(&server).await;
        athena
            .create_work_group()
            .name(&settings.work_group)
            .send()
            .await
            .unwrap();
        for bucket in [BUCKET, common::moto::RESULTS_BUCKET] {
            s3.create_bucket().bucket(bucket).send().await.unwrap();
        }
        let world = Self {
            server,
            s3,
            function,
            settings,
        };
        let config = &world.settings.config_object;
        world.put(&config.key, config_bytes()).await;
        world
    }

    async fn put(&self, key: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }

    /// The JSON files, and each hour's manifest as the compaction wrote it: listing the
    /// objects that were there (`all`: every object, as after the repair).
    async fn upload(&self, root: &Path, all: bool) {
        let mut listed: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (hour, name, _, first) in files() {
            let key = format!("{JSON_FOLDER}/{hour}/{name}");
            let body = std::fs::read(root.join(JSON_FOLDER).join(hour).join(name)).unwrap();
            self.put(&key, body).await;
            if first || all {
                listed.entry(hour).or_default().push(key);
            }
        }
        for (hour, keys) in listed {
            let manifest = Manifest {
                hour: hour.to_owned(),
                json_objects: keys,
                rows_in: 1,
                rows_out: 1,
                rows_malformed: 0,
                compacted_at_ms: 1,
            };
            let key = format!("{MANIFEST_FOLDER}/{hour}/manifest.json");
            self.put(&key, manifest.to_bytes()).await;
        }
    }

    async fn try_bill(&self) -> Result<Summary, BillingError> {
        let s3 = SdkS3::new(s3_client_as(&self.server, &self.function).await);
        let lock = self.settings.lock_prefix.clone().unwrap();
        App::new(
            SdkAthena::new(athena_client_as(&self.server, &self.function).await),
            s3.clone(),
            self.settings.clone(),
        )
        .with_lock(LeaseLock::new(s3, lock))
        .with_backoff(fast_backoff())
        .with_clock(mid_november)
        .handle(lambda_event(
            json!({"month": "2026-10"}),
            Duration::from_secs(300),
        ))
        .await
        .map(|response| response.billed().expect("a billing event bills"))
    }

    /// Requests per tenant in the invoice files the function wrote.
    async fn invoiced(&self) -> BTreeMap<String, u64> {
        let prefix = format!(
            "{}year=2026/month=10/tenants/",
            self.settings.invoices_prefix
        );
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(BUCKET)
            .prefix(&prefix)
            .send()
            .await
            .unwrap();
        let mut out = BTreeMap::new();
        for key in listed.contents().iter().filter_map(|o| o.key()) {
            let object = self
                .s3
                .get_object()
                .bucket(BUCKET)
                .key(key)
                .send()
                .await
                .unwrap();
            let invoice: Value =
                serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
            let requests = invoice["usage"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["meter"] == "requests")
                .and_then(|u| u["raw"].as_u64())
                .unwrap();
            if requests > 0 {
                out.insert(invoice["tenant"].as_str().unwrap().to_owned(), requests);
            }
        }
        out
    }
}

#[tokio::test]
async fn offline_duckdb_and_the_function_bill_the_ground_truth() {
    let root = tempfile::tempdir().unwrap();
    write_files(root.path());
    let truth = ground_truth();

    let offline = offline(root.path());
    assert_eq!(requests(&offline), truth, "offline");

    let rows = duckdb(root.path());
    let header: Vec<String> = rows[0].iter().map(|c| c.clone().unwrap()).collect();
    let sql = metering::Usage::from_rows(&valid_config(), october(), &header, rows[1..].to_vec())
        .unwrap();
    assert_eq!(sql, offline, "DuckDB and offline, every meter");

    let world = World::new().await;
    // Before the compaction took the late objects in: refused, nothing written.
    world.upload(root.path(), false).await;
    let err = world.try_bill().await.unwrap_err();
    let BillingError::IncompleteMonth { hours, .. } = &err else {
        panic!("{err:?}\n{}", world.server.log_tail())
    };
    let named: Vec<&str> = hours.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(named, ["2026-10-10T14", "2026-10-20T11"]);
    assert!(world.invoiced().await.is_empty());

    // After it: billed, with DuckDB's answer as Athena's.
    world.upload(root.path(), true).await;
    let table: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| r.iter().map(|v| v.as_deref().unwrap_or("")).collect())
        .collect();
    world
        .server
        .queue_athena_results(vec![query_result(&table)]);
    let summary = world
        .try_bill()
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", world.server.log_tail()));
    assert_eq!(summary.tenants_invoiced, 3);
    assert_eq!(world.invoiced().await, truth, "the function's invoices");
}
