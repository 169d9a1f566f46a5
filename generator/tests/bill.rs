//! `metering-gen bill` and `usage` over hand-written logs whose invoices are computed by hand:
//! duplicates across folders, the month's last millisecond in the next month's folder, a
//! request of the previous month, tenants without a claim, gzip files, malformed lines.

mod common;

use assert_cmd::Command;
use serde_json::{json, Value};
use std::fs;
use std::io::Write;
use std::path::Path;

/// 2026-10-01T00:00:00Z and 2026-11-01T00:00:00Z in epoch milliseconds.
const OCT: i64 = 1_790_812_800_000;
const NOV: i64 = 1_793_491_200_000;

fn context() -> Value {
    let text = fs::read_to_string(common::workspace().join("examples/cdk.context.json")).unwrap();
    let mut ctx: Value = serde_json::from_str(&text).unwrap();
    ctx["metering"] = json!({
        "meters": {
            "calls": {"aggregation": "count", "filter": {"status_classes": ["2xx"], "resource_paths": ["/random/*"]}},
            "transfer": {"aggregation": "sum_response_bytes"},
            "users": {"aggregation": "unique_users"}
        },
        "pricing": {
            "default_plan": "basic",
            "plans": {
                "basic": {"currency": "EUR", "charges": {
                    "calls": {"model": "per_unit", "unit_price": "0.125"},
                    "transfer": {"model": "per_unit", "unit_price": "1000"}
                }},
                "pro": {"currency": "USD", "monthly_minimum": "10.00", "charges": {
                    "users": {"model": "per_unit", "unit_price": "1.50"}
                }}
            },
            "tenants": {"acme": "pro", "idle": "pro"}
        }
    });
    ctx
}

fn record(
    id: &str,
    time: i64,
    tenant: &str,
    sub: &str,
    path: &str,
    status: u16,
    bytes: u64,
) -> String {
    format!(
        r#"{{"requestId": "{id}", "ip": "10.0.0.1", "user": "u", "requestTime": {time}, "httpMethod": "GET", "resourcePath": "{path}", "status": {status}, "protocol": "HTTP/1.1", "responseLength": {bytes}, "tenant": "{tenant}", "sub": "{sub}"}}"#
    )
}

fn write(root: &Path, folder: &str, name: &str, lines: &[String]) {
    let dir = root.join("json-data").join(folder);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), lines.join("\n") + "\n").unwrap();
}

fn write_gzip(root: &Path, folder: &str, name: &str, lines: &[String]) {
    let dir = root.join("json-data").join(folder);
    fs::create_dir_all(&dir).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all((lines.join("\n") + "\n").as_bytes()).unwrap();
    fs::write(dir.join(name), gz.finish().unwrap()).unwrap();
}

/// The logs of October 2026 and the folders around it.
fn logs(root: &Path) {
    let first = "year=2026/month=10/day=01/hour=00";
    write(
        root,
        first,
        "s-1",
        &[
            // The previous month's last millisecond, arriving in October's first folder.
            record("r-sep", OCT - 1, "acme", "a1", "/random/strings", 200, 5),
            record(
                "r-1",
                OCT,
                "acme",
                "a1",
                "/random/strings",
                200,
                1_000_000_000,
            ),
            record("r-2", OCT + 1, "acme", "a2", "/random/strings", 404, 10),
            record(
                "r-1",
                OCT,
                "acme",
                "a1",
                "/random/strings",
                200,
                1_000_000_000,
            ),
            "{\"requestId\": \"r-broken\", \"requestTime\": ".to_string(),
        ],
    );
    write_gzip(
        root,
        "year=2026/month=10/day=15/hour=12",
        "s-2.gz",
        &[
            record(
                "r-3",
                OCT + 86_400_000 * 14,
                "globex",
                "g1",
                "/random/numbers",
                201,
                500_000_000,
            ),
            record("r-4", OCT + 86_400_000 * 14, "-", "-", "/health", 200, 7),
            record("r-5", OCT + 86_400_000 * 14, "", "-", "/random/x", 200, 3),
        ],
    );
    // A late copy of r-3 in another hour's folder.
    write(
        root,
        "year=2026/month=10/day=15/hour=13",
        "s-3",
        &[record(
            "r-3",
            OCT + 86_400_000 * 14,
            "globex",
            "g1",
            "/random/numbers",
            201,
            500_000_000,
        )],
    );
    // October's last millisecond arrives in November's first folder; November's first
    // request arrives in the same folder and is not October's.
    write(
        root,
        "year=2026/month=11/day=01/hour=00",
        "s-4",
        &[
            record("r-last", NOV - 1, "globex", "g2", "/random/strings", 200, 0),
            record("r-nov", NOV, "globex", "g2", "/random/strings", 200, 0),
        ],
    );
    // Beyond the late-arrival window (3 hours): not read at all.
    write(
        root,
        "year=2026/month=11/day=01/hour=05",
        "s-5",
        &[record(
            "r-x",
            NOV - 2,
            "globex",
            "g2",
            "/random/strings",
            200,
            0,
        )],
    );
    // Not in the hourly layout: ignored.
    fs::write(root.join("notes.txt"), "not a log\n").unwrap();
}

fn run(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("metering-gen")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .assert()
}

/// `command` over the test's logs, month and context, then `extra`.
fn run_on_logs(dir: &Path, command: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut args = vec![
        command,
        "--logs",
        "logs",
        "--month",
        "2026-10",
        "--context",
        "ctx.json",
    ];
    args.extend_from_slice(extra);
    run(dir, &args)
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("ctx.json"), context().to_string()).unwrap();
    logs(&dir.path().join("logs"));
    dir
}

fn invoice(dir: &Path, tenant: &str) -> Value {
    let path = dir.join(format!("invoices/year=2026/month=10/tenants/{tenant}.json"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(text.matches('\n').count(), 1, "one line of JSON: {text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn bills_a_month_by_hand() {
    let dir = setup();
    let assert = run_on_logs(dir.path(), "bill", &[]).success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    // 5 + 3 + 1 + 2 lines read; the folder of hour 05 is outside the window.
    assert!(stderr.contains("read 4 files, 11 lines"), "{stderr}");
    assert!(
        stderr.contains(
            "10 records, 2 duplicates counted once, 2 outside the month, 6 requests billed"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped 1 files of hours outside the month's window"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ignored 1 files outside the year=/month=/day=/hour= layout"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 malformed lines (not billed):"),
        "{stderr}"
    );
    assert!(
        stderr.contains("year=2026/month=10/day=01/hour=00/s-1:5: not a JSON access-log record"),
        "{stderr}"
    );

    // acme (pro, USD): r-1 and r-2 (r-sep is September's). users a1, a2: 2 × 1.50 = 3.00,
    // below the 10.00 minimum.
    let acme = invoice(dir.path(), "acme");
    assert_eq!(acme["plan"], "pro");
    assert_eq!(acme["currency"], "USD");
    let raw: Vec<(String, u64)> = acme["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["meter"].as_str().unwrap().to_string(),
                u["raw"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        raw,
        [
            ("calls".into(), 1),
            ("transfer".into(), 1_000_000_010),
            ("users".into(), 2)
        ]
    );
    assert_eq!(acme["usage"][1]["quantity"], "1.00000001");
    assert_eq!(acme["subtotal"], "3.00");
    assert_eq!(acme["minimum_adjustment"], "7.00");
    assert_eq!(acme["total"], "10.00");

    // globex (basic, EUR): r-3 once (201 on /random/numbers), r-last (200, 0 bytes); r-nov is
    // November's. calls 2 × 0.125 = 0.25; transfer 0.5 GB × 1000 = 500.00.
    let globex = invoice(dir.path(), "globex");
    assert_eq!(globex["usage"][0]["raw"], 2);
    assert_eq!(globex["usage"][1]["raw"], 500_000_000);
    assert_eq!(globex["usage"][2]["raw"], 2);
    assert_eq!(globex["total"], "500.25");

    // No tenant (`-` and ""): metered as `unassigned`, default plan. r-5 passes the calls
    // filter, r-4 (/health) does not; 10 bytes at 1000 EUR/GB = 0.00001 → 0.00; no users.
    let unassigned = invoice(dir.path(), "unassigned");
    assert_eq!(unassigned["usage"][0]["raw"], 1);
    assert_eq!(unassigned["usage"][1]["raw"], 10);
    assert_eq!(unassigned["usage"][2]["raw"], 0);
    // Each line is rounded on its own: 0.125 half-even → 0.12, and 0.00001 → 0.00 (rounding
    // the sum, 0.12501, would give 0.13).
    assert_eq!(unassigned["lines"][0]["amount"], "0.12");
    assert_eq!(unassigned["lines"][1]["amount"], "0.00");
    assert_eq!(unassigned["total"], "0.12");

    // idle has a plan but no usage: it still pays the minimum.
    assert_eq!(invoice(dir.path(), "idle")["total"], "10.00");

    let csv =
        fs::read_to_string(dir.path().join("invoices/year=2026/month=10/summary.csv")).unwrap();
    assert_eq!(
        csv,
        "tenant,period,plan,currency,calls_requests,transfer_gb,users_users,subtotal,minimum_adjustment,total\n\
         acme,2026-10,pro,USD,1,1.00000001,2,3.00,7.00,10.00\n\
         globex,2026-10,basic,EUR,2,0.5,2,500.25,0.00,500.25\n\
         idle,2026-10,pro,USD,0,0,0,0.00,10.00,10.00\n\
         unassigned,2026-10,basic,EUR,1,0.00000001,0,0.12,0.00,0.12\n"
    );
}

#[test]
fn a_rerun_replaces_the_month_exactly() {
    let dir = setup();
    run_on_logs(dir.path(), "bill", &[]).success();
    let month = dir.path().join("invoices/year=2026/month=10");
    let before = fs::read(month.join("tenants/acme.json")).unwrap();
    fs::write(month.join("tenants/gone.json"), "{}\n").unwrap();
    let other_month = dir.path().join("invoices/year=2026/month=09/summary.csv");
    fs::create_dir_all(other_month.parent().unwrap()).unwrap();
    fs::write(&other_month, "kept\n").unwrap();

    let out = run_on_logs(dir.path(), "bill", &[]).success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("5 files written, 1 stale files deleted"),
        "{stdout}"
    );
    assert!(!month.join("tenants/gone.json").exists());
    assert_eq!(fs::read(month.join("tenants/acme.json")).unwrap(), before);
    assert_eq!(fs::read_to_string(&other_month).unwrap(), "kept\n");
}

#[test]
fn strict_fails_on_malformed_lines_and_writes_nothing() {
    let dir = setup();
    let assert = run_on_logs(dir.path(), "bill", &["--strict"]).code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("1 malformed lines (--strict)"), "{stderr}");
    assert!(stderr.contains("s-1:5:"), "{stderr}");
    assert!(!dir.path().join("invoices").exists());
}

#[test]
fn usage_prints_a_table_in_billing_units() {
    let dir = setup();
    let out = run_on_logs(dir.path(), "usage", &[]).success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let lines: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        [
            "tenant",
            "calls",
            "(requests)",
            "transfer",
            "(GB)",
            "users",
            "(users)"
        ]
    );
    assert_eq!(lines[1], ["acme", "1", "1.00000001", "2"]);
    assert_eq!(lines[2], ["globex", "2", "0.5", "2"]);
    assert_eq!(lines[3], ["unassigned", "1", "0.00000001", "0"]);
    assert_eq!(lines.len(), 4);
}

#[test]
fn a_context_without_plans_cannot_bill() {
    let dir = setup();
    let ctx = common::workspace().join("examples/cdk.context.json");
    let assert = run(
        dir.path(),
        &[
            "bill",
            "--logs",
            "logs",
            "--month",
            "2026-10",
            "--context",
            ctx.to_str().unwrap(),
        ],
    )
    .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("cdk.context.json: at `metering`: no meters and pricing"),
        "{stderr}"
    );
    let bad_month = run(
        dir.path(),
        &[
            "bill",
            "--logs",
            "logs",
            "--month",
            "2026-13",
            "--context",
            "ctx.json",
        ],
    )
    .code(2);
    let stderr = String::from_utf8_lossy(&bad_month.get_output().stderr).to_string();
    assert!(stderr.contains("`2026-13` is not a month"), "{stderr}");
}

/// The invoice of `tenant` for `month` (`YYYY-MM`) under `dir/invoices`.
fn invoice_of(dir: &Path, month: &str, tenant: &str) -> Value {
    let (year, number) = month.split_once('-').unwrap();
    let path = dir.join(format!(
        "invoices/year={year}/month={number}/tenants/{tenant}.json"
    ));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Firehose names an object after its oldest record's arrival: a buffer opened at 23:57 on
/// 30 September holding a request of 00:00:30 on 1 October is filed under September's last
/// hour. October's bill reads that folder and bills the request once; September's does not.
#[test]
fn a_buffer_filed_under_the_previous_months_last_hour_is_billed_to_its_requests_month() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("ctx.json"), context().to_string()).unwrap();
    let logs = dir.path().join("logs");
    let sep_2357 = OCT - 180_000;
    write(
        &logs,
        "year=2026/month=09/day=30/hour=23",
        "amazon-apigateway-random-gen-1-2026-09-30-23-57-00-0c6b7f36-7d1e-4d7c-9a53-1f2b3c4d5e6f",
        &[
            record(
                "r-sep",
                sep_2357,
                "globex",
                "g1",
                "/random/strings",
                200,
                100,
            ),
            record(
                "r-oct",
                OCT + 30_000,
                "globex",
                "g2",
                "/random/strings",
                200,
                1_000_000,
            ),
        ],
    );

    let out = run(
        dir.path(),
        &[
            "bill",
            "--logs",
            "logs",
            "--month",
            "2026-10",
            "--context",
            "ctx.json",
        ],
    )
    .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("read 1 files, 2 lines"), "{stderr}");
    assert!(
        stderr.contains(
            "2 records, 0 duplicates counted once, 1 outside the month, 1 requests billed"
        ),
        "{stderr}"
    );
    let globex = invoice_of(dir.path(), "2026-10", "globex");
    assert_eq!(globex["usage"][0]["raw"], 1, "{globex}");
    assert_eq!(globex["usage"][1]["raw"], 1_000_000);
    assert_eq!(globex["usage"][2]["raw"], 1);

    // September: its own request of 23:57, not October's.
    run(
        dir.path(),
        &[
            "bill",
            "--logs",
            "logs",
            "--month",
            "2026-09",
            "--context",
            "ctx.json",
        ],
    )
    .success();
    let globex = invoice_of(dir.path(), "2026-09", "globex");
    assert_eq!(globex["usage"][0]["raw"], 1, "{globex}");
    assert_eq!(globex["usage"][1]["raw"], 100);

    // `usage` agrees.
    let out = run(
        dir.path(),
        &[
            "usage",
            "--logs",
            "logs",
            "--month",
            "2026-10",
            "--context",
            "ctx.json",
        ],
    )
    .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows, [["globex", "1", "0.001", "1"]], "{stdout}");
}

#[test]
fn reading_reports_the_windows_folders_and_the_hours_without_files() {
    // The hand-written month: files in 4 of the window's 748 hours.
    let dir = setup();
    let out = run_on_logs(dir.path(), "usage", &[]).success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains(
            "window 2026-09-30T23..2026-11-01T02 (748 hours: 2026-09's last, 2026-10, \
             2026-11's first 3): 4 hours with files, 744 without\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "  hours without files: 2026-09-30T23, 2026-10-01T01..2026-10-15T11, \
             2026-10-15T14..2026-10-31T23, 2026-11-01T01..2026-11-01T02\n"
        ),
        "{stderr}"
    );

    // A file in every hour of the window but seven: five ranges shown, two counted.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("ctx.json"), context().to_string()).unwrap();
    let logs = dir.path().join("logs");
    let start = chrono::DateTime::from_timestamp_millis(OCT)
        .unwrap()
        .naive_utc()
        - chrono::Duration::hours(1);
    let missing = [
        "2026-10-02T05",
        "2026-10-02T06",
        "2026-10-02T07",
        "2026-10-09T00",
    ];
    let mut gaps = 0;
    for h in 0..748 {
        let t = start + chrono::Duration::hours(h);
        let hour = t.format("%Y-%m-%dT%H").to_string();
        // Single hours on the 20th to the 24th at noon, and the ones listed.
        let noon_gap = t.format("%H").to_string() == "12"
            && ["20", "21", "22", "23", "24"].contains(&t.format("%d").to_string().as_str())
            && t.format("%m").to_string() == "10";
        if missing.contains(&hour.as_str()) || noon_gap {
            gaps += 1;
            continue;
        }
        write(
            &logs,
            &t.format("year=%Y/month=%m/day=%d/hour=%H").to_string(),
            "f",
            &[],
        );
    }
    assert_eq!(gaps, 9);
    let out = run_on_logs(dir.path(), "usage", &[]).success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("): 739 hours with files, 9 without\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "  hours without files: 2026-10-02T05..2026-10-02T07, 2026-10-09T00, \
             2026-10-20T12, 2026-10-21T12, 2026-10-22T12, and 2 more ranges\n"
        ),
        "{stderr}"
    );

    // Every hour: nothing to list.
    for day in 20..=24 {
        write(
            &logs,
            &format!("year=2026/month=10/day={day}/hour=12"),
            "f",
            &[],
        );
    }
    for hour in missing {
        let (day, h) = (&hour[8..10], &hour[11..13]);
        write(
            &logs,
            &format!("year=2026/month=10/day={day}/hour={h}"),
            "f",
            &[],
        );
    }
    let out = run_on_logs(dir.path(), "usage", &[]).success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("): 748 hours with files, 0 without\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("hours without files"), "{stderr}");
}
