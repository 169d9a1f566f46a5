//! `metering-gen bill` and `usage` over access logs and usage events together, with invoices
//! computed by hand: an API-call meter and a token meter, both under graduated pricing;
//! retried events, an event filed in the next month's folder, an event of the previous
//! month, bad events reported with file and line.

mod common;

use assert_cmd::Command;
use serde_json::{json, Value};
use std::fs;
use std::path::Path;

/// 2026-10-07T12:00:00Z in epoch milliseconds.
const OCT_7_NOON: i64 = 1_791_374_400_000;

fn context() -> Value {
    let text = fs::read_to_string(common::workspace().join("examples/cdk.context.json")).unwrap();
    let mut ctx: Value = serde_json::from_str(&text).unwrap();
    ctx["metering"] = json!({
        "meters": {
            "calls": {"aggregation": "count", "filter": {"status_classes": ["2xx"]}},
            "tokens": {"source": "events", "event_type": "tokens.generated", "aggregation": "sum", "unit": "tokens"}
        },
        "pricing": {
            "default_plan": "std",
            "plans": {
                "std": {"currency": "EUR", "charges": {
                    "calls": {"model": "graduated", "tiers": [
                        {"up_to": 2, "unit_price": "0.50"}, {"up_to": null, "unit_price": "0.25"}]},
                    "tokens": {"model": "graduated", "tiers": [
                        {"up_to": 1000, "unit_price": "0.001"}, {"up_to": null, "unit_price": "0.0005"}]}
                }}
            }
        }
    });
    ctx
}

fn request(id: &str, time: i64, tenant: &str, status: u16) -> String {
    format!(
        r#"{{"requestId": "{id}", "ip": "10.0.0.1", "user": "u", "requestTime": {time}, "httpMethod": "POST", "resourcePath": "/random/strings", "status": {status}, "protocol": "HTTP/1.1", "responseLength": 12, "tenant": "{tenant}", "sub": "s-{tenant}"}}"#
    )
}

fn write(root: &Path, folder: &str, name: &str, lines: &[String]) {
    let dir = root.join(folder);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), lines.join("\n") + "\n").unwrap();
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("ctx.json"), context().to_string()).unwrap();
    let noon = "year=2026/month=10/day=07/hour=12";
    write(
        &root.join("logs"),
        noon,
        "api-1",
        &[
            request("r-1", OCT_7_NOON, "acme", 200),
            request("r-2", OCT_7_NOON + 1, "acme", 200),
            request("r-3", OCT_7_NOON + 2, "acme", 201),
            request("r-4", OCT_7_NOON + 3, "acme", 500),
            request("r-5", OCT_7_NOON + 4, "globex", 200),
        ],
    );
    let events = root.join("events");
    write(
        &events,
        noon,
        "events-1",
        &[
            r#"{"id": "e-1", "tenant": "acme", "type": "tokens.generated", "time": 1791374400000, "value": 800}"#.into(),
            r#"{"id": "e-2", "tenant": "acme", "type": "tokens.generated", "time": "2026-10-07T14:00:01+02:00", "value": "700.5", "properties": {"model": "large"}}"#.into(),
            r#"{"id": "e-3", "tenant": "acme", "type": "tokens.generated", "time": "2026-10-07T12:00:02Z", "value": 0.25}"#.into(),
            r#"{"id": "e-4", "tenant": "globex", "type": "tokens.generated", "time": "2026-10-07T12:00:03Z", "value": "10"}"#.into(),
            r#"{"id": "e-5", "tenant": "acme", "type": "job.completed", "time": "2026-10-07T12:00:04Z"}"#.into(),
            r#"{"tenant": "acme", "type": "tokens.generated", "time": "2026-10-07T12:00:05Z", "value": 5}"#.into(),
            r#"{"id": "e-bad-value", "tenant": "acme", "type": "tokens.generated", "time": "2026-10-07T12:00:06Z", "value": "abc"}"#.into(),
            r#"{"id": "e-august", "tenant": "acme", "type": "tokens.generated", "time": "2026-08-15T09:00:00Z", "value": 5}"#.into(),
        ],
    );
    // A retry of e-1, delivered an hour later.
    write(
        &events,
        "year=2026/month=10/day=07/hour=13",
        "events-2",
        &[r#"{"id": "e-1", "tenant": "acme", "type": "tokens.generated", "time": 1791374400000, "value": 800}"#.into()],
    );
    // September's last millisecond in October's first folder: read, September's.
    write(
        &events,
        "year=2026/month=10/day=01/hour=00",
        "events-3",
        &[r#"{"id": "e-sep", "tenant": "acme", "type": "tokens.generated", "time": "2026-09-30T23:59:59.999Z", "value": 9}"#.into()],
    );
    // October's last millisecond in November's first folder: October's.
    write(
        &events,
        "year=2026/month=11/day=01/hour=00",
        "events-4",
        &[
            r#"{"id": "e-last", "tenant": "acme", "type": "tokens.generated", "time": "2026-10-31T23:59:59.999Z", "value": "100"}"#.into(),
            r#"{"id": "e-only", "tenant": "initech", "type": "tokens.generated", "time": "2026-10-31T23:59:59.999Z", "value": "2000.000000001"}"#.into(),
        ],
    );
    dir
}

fn run(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("metering-gen")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .assert()
}

const BILL: &[&str] = &[
    "bill",
    "--logs",
    "logs",
    "--events",
    "events",
    "--month",
    "2026-10",
    "--context",
    "ctx.json",
];

fn invoice_text(dir: &Path, tenant: &str) -> String {
    fs::read_to_string(dir.join(format!("invoices/year=2026/month=10/tenants/{tenant}.json")))
        .unwrap()
}

#[test]
fn bills_api_calls_and_tokens_by_hand() {
    let dir = setup();
    let assert = run(dir.path(), BILL).success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("read 1 files, 5 lines"),
        "the access logs: {stderr}"
    );
    assert!(
        stderr.contains("usage events: read 4 files, 12 lines ("),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "bytes): 9 records, 1 duplicates counted once, 1 outside the month, 7 events billed"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 bad usage events (not billed):"),
        "{stderr}"
    );
    for expected in [
        "day=07/hour=12/events-1:6: no `id`",
        "day=07/hour=12/events-1:7: `value` \"abc\" is not a decimal number",
        "day=07/hour=12/events-1:8: `time` 2026-08-15T09:00:00.000Z is in 2026-08, whose bill reads the folders 2026-07-31T23..2026-09-01T02, not 2026-10-07T12 where the event arrived: no bill counts it",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }

    // acme: calls r-1, r-2, r-3 (r-4 is a 500): 2 × 0.50 + 1 × 0.25 = 1.25.
    // tokens e-1 (once) 800 + e-2 700.5 + e-3 0.25 + e-last 100 = 1600.75 (e-sep is
    // September's, e-5 another type, the bad ones never): 1000 × 0.001 + 600.75 × 0.0005
    // = 1.000 + 0.300375 = 1.300375 → 1.30. Total 2.55.
    let acme: Value = serde_json::from_str(&invoice_text(dir.path(), "acme")).unwrap();
    assert_eq!(acme["usage"][0]["raw"], 3);
    assert_eq!(acme["usage"][1]["quantity"], "1600.75");
    assert_eq!(acme["usage"][1]["unit"], "tokens");
    assert_eq!(acme["usage"][1]["raw_unit"], "tokens");
    assert_eq!(acme["usage"][1]["aggregation"], "sum");
    assert!(
        invoice_text(dir.path(), "acme").contains(r#""raw":1600.75,"#),
        "raw is a JSON number with its exact digits"
    );
    assert_eq!(acme["lines"][0]["amount"], "1.25");
    assert_eq!(acme["lines"][1]["exact_amount"], "1.300375");
    assert_eq!(acme["lines"][1]["amount"], "1.30");
    assert_eq!(acme["total"], "2.55");

    // globex: 1 call = 0.50; 10 tokens = 0.01. Total 0.51.
    let globex: Value = serde_json::from_str(&invoice_text(dir.path(), "globex")).unwrap();
    assert_eq!(globex["total"], "0.51");

    // initech has events only: 2000.000000001 tokens = 1.000 + 1000.000000001 × 0.0005
    // = 1.5000000000005 → 1.50.
    let initech_text = invoice_text(dir.path(), "initech");
    assert!(
        initech_text.contains(r#""raw":2000.000000001,"#),
        "{initech_text}"
    );
    let initech: Value = serde_json::from_str(&initech_text).unwrap();
    assert_eq!(initech["usage"][0]["raw"], 0);
    assert_eq!(initech["total"], "1.50");

    let csv =
        fs::read_to_string(dir.path().join("invoices/year=2026/month=10/summary.csv")).unwrap();
    assert_eq!(
        csv,
        "tenant,period,plan,currency,calls_requests,tokens_tokens,subtotal,minimum_adjustment,total\n\
         acme,2026-10,std,EUR,3,1600.75,2.55,0.00,2.55\n\
         globex,2026-10,std,EUR,1,10,0.51,0.00,0.51\n\
         initech,2026-10,std,EUR,0,2000.000000001,1.50,0.00,1.50\n"
    );
}

#[test]
fn usage_prints_both_sources() {
    let dir = setup();
    let mut args = BILL.to_vec();
    args[0] = "usage";
    let assert = run(dir.path(), &args).success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert_eq!(
        stdout,
        "tenant   calls (requests)  tokens (tokens)\n\
         acme                    3          1600.75\n\
         globex                  1               10\n\
         initech                 0   2000.000000001\n"
    );
}

#[test]
fn an_events_meter_without_its_folder_is_refused() {
    let dir = setup();
    let assert = run(
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
    .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains(
            "the meters tokens read the events source: give its folder with --events DIR"
        ),
        "{stderr}"
    );
    assert!(!dir.path().join("invoices").exists());
}

#[test]
fn strict_fails_on_bad_events_and_writes_nothing() {
    let dir = setup();
    let mut args = BILL.to_vec();
    args.push("--strict");
    let assert = run(dir.path(), &args).code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("events: 3 bad usage events (--strict):"),
        "{stderr}"
    );
    assert!(!dir.path().join("invoices").exists());
}
