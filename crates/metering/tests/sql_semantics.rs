//! The usage query that the billing Lambda runs in Athena and the offline [`Aggregator`] of
//! `metering-gen bill` apply the same rules: both run here over the same log files, the query
//! in DuckDB, and must give the same [`Usage`]. Hand-picked edge cases (duplicates within a
//! file, across hours and across the month boundary, the months' first and last
//! milliseconds, the late-arrival window, a buffer filed under the previous month's last hour,
//! missing fields, malformed lines, tenants without a name), then generated logs with many
//! duplicates near both ends of the month, copies filed an hour early and malformed lines.
//!
//! Needs a Python with the `duckdb` module: `$METERING_PYTHON`, else `python3`. `make tools`
//! installs it into `build/venv` and `make test` points `METERING_PYTHON` there. Without it
//! the tests fail; they are never skipped.

mod common;

const HOUR_MS: i64 = 3_600_000;

use chrono::{DateTime, Datelike, NaiveDate, Timelike};
use common::duckdb::{DuckDb, DATABASE, TABLE};
use metering::pricing::Decimal;
use metering::{
    usage_query, AddError, Aggregator, Config, Counts, FolderHour, Month, Request, Usage,
    ValidConfig, Window,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestError, TestRunner};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// The offline path, as `metering-gen bill` reads a folder (without depending on it).

/// Feeds the lines of every file whose hour folder the month's window reads, in path order,
/// skipping unusable lines as `bill` does; `spill_rows` forces spilling to temporary files.
fn offline(
    config: &ValidConfig,
    month: Month,
    root: &Path,
    spill_rows: Option<usize>,
) -> (Usage, Counts) {
    let window = Window {
        month,
        late_arrival_hours: config.late_arrival_hours(),
    };
    let mut aggregator = Aggregator::new(config, month);
    if let Some(rows) = spill_rows {
        aggregator = aggregator.with_spill_rows(rows);
    }
    let logs = root.join("json-data");
    let mut files = Vec::new();
    list_files(&logs, &mut files);
    files.sort();
    for file in files {
        let relative = file.strip_prefix(&logs).expect("below the logs folder");
        let hour = FolderHour::from_path(relative)
            .unwrap_or_else(|| panic!("{} is not in the hourly layout", file.display()));
        if !window.reads_folder(hour) {
            continue;
        }
        let bytes = std::fs::read(&file).expect("reading a log file");
        for line in bytes.split(|b| *b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            match aggregator.add_line(line) {
                Ok(()) | Err(AddError::Line(_)) => {}
                Err(e) => panic!("{e}"),
            }
        }
    }
    aggregator.finish().expect("aggregating")
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("listing the logs") {
        let path = entry.expect("listing the logs").path();
        if path.is_dir() {
            list_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration, log files and comparison.

/// Meters of every aggregation, with filters on exact paths, `/x/*` paths (one with an `_`,
/// a LIKE wildcard), `/*`, methods and status classes.
fn config(late_arrival_hours: u32) -> ValidConfig {
    let config: Config = serde_json::from_value(json!({
        "late_arrival_hours": late_arrival_hours,
        "meters": {
            "all_requests": {"aggregation": "count"},
            "api_requests": {"aggregation": "count",
                "filter": {"resource_paths": ["/random/*"], "status_classes": ["2xx"]}},
            "any_path": {"aggregation": "count", "filter": {"resource_paths": ["/*"]}},
            "snake_calls": {"aggregation": "count",
                "filter": {"resource_paths": ["/snake_case/*", "/exact"]}},
            "writes": {"aggregation": "count", "filter": {"methods": ["POST", "PUT", "DELETE"]}},
            "errors": {"aggregation": "count", "filter": {"status_classes": ["4xx", "5xx"]}},
            "bytes_all": {"aggregation": "sum_response_bytes"},
            "bytes_ok": {"aggregation": "sum_response_bytes",
                "filter": {"methods": ["GET"], "status_classes": ["2xx"]}},
            "users": {"aggregation": "unique_users"},
            "snake_users": {"aggregation": "unique_users",
                "filter": {"resource_paths": ["/snake_case/*"], "status_classes": ["2xx", "3xx"]}}
        },
        "pricing": {"default_plan": "std", "plans": {"std": {"currency": "EUR",
            "charges": {"all_requests": {"model": "per_unit", "unit_price": "0.001"}}}}}
    }))
    .expect("a metering config");
    config.validate().expect("a valid metering config")
}

/// Log lines by file, relative to the root.
#[derive(Default)]
struct Logs {
    files: BTreeMap<PathBuf, String>,
}

impl Logs {
    /// Appends a record to `file` in the folder of the hour that contains `arrival_ms`.
    fn add(&mut self, arrival_ms: i64, file: &str, record: &Value) {
        self.add_line(arrival_ms, file, &record.to_string());
    }

    /// Appends a line as it is (e.g. a malformed one) to `file` in the folder of the hour
    /// that contains `arrival_ms`.
    fn add_line(&mut self, arrival_ms: i64, file: &str, line: &str) {
        let t = DateTime::from_timestamp_millis(arrival_ms).expect("a time");
        let path = PathBuf::from(format!(
            "json-data/year={:04}/month={:02}/day={:02}/hour={:02}/{file}",
            t.year(),
            t.month(),
            t.day(),
            t.hour()
        ));
        let text = self.files.entry(path).or_default();
        text.push_str(line);
        text.push('\n');
    }

    fn write(&self, root: &Path) {
        for (relative, text) in &self.files {
            let path = root.join(relative);
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
            std::fs::write(path, text).expect("writing logs");
        }
    }
}

/// The differences between two usages, one tenant a line.
fn differences(sql: &Usage, offline: &Usage) -> String {
    let tenants: BTreeSet<&String> = sql.tenants.keys().chain(offline.tenants.keys()).collect();
    let mut out = String::new();
    for t in tenants {
        let (a, b) = (sql.tenants.get(t), offline.tenants.get(t));
        if a != b {
            out.push_str(&format!(
                "  {t:?}:\n    sql:     {a:?}\n    offline: {b:?}\n"
            ));
        }
    }
    out
}

/// Both paths over the logs under `root`, offline in memory and, with `spill_rows`, also
/// spilling every so many rows: the usage they agree on, or what differs.
fn compare(
    duckdb: &mut DuckDb,
    config: &ValidConfig,
    month: Month,
    root: &Path,
    spill_rows: Option<usize>,
) -> Result<(Usage, Counts), String> {
    let (in_memory, counts) = offline(config, month, root, None);
    if let Some(rows) = spill_rows {
        let (spilled, spilled_counts) = offline(config, month, root, Some(rows));
        if (&spilled, spilled_counts) != (&in_memory, counts) {
            return Err(format!(
                "{month}: the aggregator spilling every {rows} rows differs:\n{}{counts:?}\n\
                 {spilled_counts:?}",
                differences(&spilled, &in_memory)
            ));
        }
    }
    let sql = duckdb.usage(config, month, root)?;
    if sql != in_memory {
        return Err(format!(
            "{month}: the usage query and the aggregator differ:\n{}",
            differences(&sql, &in_memory)
        ));
    }
    Ok((in_memory, counts))
}

fn ms(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, milli: u32) -> i64 {
    NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|d| d.and_hms_milli_opt(h, mi, s, milli))
        .expect("a real time")
        .and_utc()
        .timestamp_millis()
}

/// A complete record: GET /random/strings, 200, 17 bytes, user `s-1`.
fn record(id: &str, time: i64, tenant: &str) -> Value {
    json!({"requestId": id, "ip": "10.0.0.1", "user": "u", "requestTime": time,
           "httpMethod": "GET", "resourcePath": "/random/strings", "status": 200,
           "protocol": "HTTP/1.1", "responseLength": 17, "tenant": tenant, "sub": "s-1"})
}

fn with(mut record: Value, key: &str, value: Value) -> Value {
    record[key] = value;
    record
}

fn without(mut record: Value, key: &str) -> Value {
    record.as_object_mut().expect("an object").remove(key);
    record
}

// ---------------------------------------------------------------------------------------------
// Hand-picked cases.

#[test]
fn edge_cases_agree_and_are_billed_as_documented() {
    let mut duckdb = DuckDb::start();
    let config = config(3);
    let dec: Month = "2026-12".parse().unwrap();
    let mut logs = Logs::default();
    let mid = ms(2026, 12, 10, 12, 0, 0, 0);
    let last_ms = dec.end_ms() - 1; // 2026-12-31T23:59:59.999Z
    let jan_00 = dec.end_ms(); // the first folder of January, 2027-01-01 hour 00

    // The same request twice in one file.
    let r = record("dup-file", mid, "same-file");
    logs.add(mid, "a", &r);
    logs.add(mid, "a", &r);
    // The same request in two hour folders.
    let t = ms(2026, 12, 10, 12, 59, 59, 500);
    let r = record("dup-hours", t, "two-hours");
    logs.add(t, "a", &r);
    logs.add(t + HOUR_MS, "a", &r);
    // Two copies with different times: the earliest counts, wherever it arrived.
    logs.add(
        mid,
        "b",
        &with(
            with(record("dup-times", mid, "earliest"), "status", json!(500)),
            "responseLength",
            json!(100),
        ),
    );
    let earlier = mid - HOUR_MS;
    logs.add(
        mid + HOUR_MS,
        "b",
        &with(
            record("dup-times", earlier, "earliest"),
            "responseLength",
            json!(7),
        ),
    );
    // The month's last millisecond, in the last folder of the month and the next month's first.
    let r = record("dup-boundary", last_ms, "boundary");
    logs.add(last_ms, "a", &r);
    logs.add(jan_00, "a", &r);
    // The month's last millisecond, arriving only in the next month's first folder.
    logs.add(jan_00, "b", &record("last-ms", last_ms, "last-ms"));
    // The previous month's last millisecond, arriving in the month's first folder.
    let nov_last = dec.start_ms() - 1;
    logs.add(
        dec.start_ms(),
        "a",
        &record("prev-last-ms", nov_last, "prev-last-ms"),
    );
    // A copy of November's last request in each month's folder.
    let r = record("dup-nov", nov_last, "dup-nov");
    logs.add(nov_last, "a", &r);
    logs.add(dec.start_ms(), "a", &r);
    // The next month's first millisecond.
    logs.add(
        jan_00,
        "c",
        &record("next-first-ms", jan_00, "next-first-ms"),
    );
    // A December request that arrived after the late window (3 hours: folders 00 to 02).
    let t = ms(2026, 12, 31, 23, 59, 0, 0);
    logs.add(
        jan_00 + 3 * HOUR_MS,
        "a",
        &record("too-late", t, "too-late"),
    );
    // The last folder read: hour 02 of the next month's first day.
    logs.add(
        jan_00 + 2 * HOUR_MS,
        "a",
        &record("last-folder", t, "last-folder"),
    );
    // The earliest copy arrived too late: the earliest copy that was read counts.
    let r = with(
        record("late-dup", t - 60_000, "late-dup"),
        "responseLength",
        json!(1),
    );
    logs.add(jan_00 + 5 * HOUR_MS, "a", &r);
    let r = with(
        record("late-dup", t, "late-dup"),
        "responseLength",
        json!(45),
    );
    logs.add(jan_00 + HOUR_MS, "a", &r);
    // No status (key missing, or null): fails every status filter, still a request.
    logs.add(
        mid,
        "c",
        &without(record("no-status-1", mid, "no-status"), "status"),
    );
    logs.add(
        mid,
        "c",
        &with(
            record("no-status-2", mid, "no-status"),
            "status",
            Value::Null,
        ),
    );
    // No resource path: fails every path filter, even `/*`.
    logs.add(
        mid,
        "c",
        &without(record("no-path", mid, "no-path"), "resourcePath"),
    );
    // No tenant: `-`, `""`, missing, null, and one that calls itself so.
    logs.add(mid, "d", &record("t-dash", mid, "-"));
    logs.add(mid, "d", &record("t-empty", mid, ""));
    logs.add(mid, "d", &without(record("t-missing", mid, "x"), "tenant"));
    logs.add(
        mid,
        "d",
        &with(record("t-null", mid, "x"), "tenant", Value::Null),
    );
    logs.add(mid, "d", &record("t-named", mid, "unassigned"));
    // Paths: `_` is a LIKE wildcard, `/x/*` is `/x` and below, `/exact` is only itself.
    for (i, path) in [
        "/snake_case",
        "/snake_case/x",
        "/snake_case/",
        "/snakeXcase/x",
        "/snake_case_b/x",
        "/snake_case%/x",
        "/exact",
        "/exact/sub",
        "/Exact",
    ]
    .iter()
    .enumerate()
    {
        logs.add(
            mid,
            "e",
            &with(
                with(
                    record(&format!("path-{i}"), mid, "paths"),
                    "resourcePath",
                    json!(path),
                ),
                "sub",
                json!(format!("p-{}", i % 3)),
            ),
        );
    }
    // Methods.
    for (i, method) in [json!("POST"), json!("PUT"), json!("DELETE"), json!("GET")]
        .into_iter()
        .enumerate()
    {
        logs.add(
            mid,
            "e",
            &with(
                record(&format!("method-{i}"), mid, "methods"),
                "httpMethod",
                method,
            ),
        );
    }
    logs.add(
        mid,
        "e",
        &without(record("method-none", mid, "methods"), "httpMethod"),
    );
    logs.add(
        mid,
        "e",
        &with(
            record("method-lower", mid, "methods"),
            "httpMethod",
            json!("post"),
        ),
    );
    // Status classes at their edges.
    for status in [100, 199, 200, 299, 300, 399, 400, 499, 500, 599] {
        logs.add(
            mid,
            "f",
            &with(
                record(&format!("status-{status}"), mid, "statuses"),
                "status",
                json!(status),
            ),
        );
    }
    // Users: the same twice, none (`-`, `""`, missing), and one shared with another tenant.
    for (i, sub) in [
        json!("s-1"),
        json!("s-1"),
        json!("s-2"),
        json!("-"),
        json!(""),
    ]
    .into_iter()
    .enumerate()
    {
        logs.add(
            mid,
            "g",
            &with(record(&format!("user-{i}"), mid, "users"), "sub", sub),
        );
    }
    logs.add(mid, "g", &without(record("user-none", mid, "users"), "sub"));
    // Bytes: a missing length adds nothing; a tenant whose lengths are all missing has 0.
    for (i, n) in [json!(10), Value::Null, json!(0), json!(5)]
        .into_iter()
        .enumerate()
    {
        let r = with(
            record(&format!("bytes-{i}"), mid, "bytes"),
            "responseLength",
            n,
        );
        logs.add(mid, "h", &r);
    }
    logs.add(
        mid,
        "h",
        &without(record("bytes-none", mid, "no-bytes"), "responseLength"),
    );
    // Records that cannot be metered, in both paths: no request id (`-`, `""`, missing), no
    // request time, a negative length.
    logs.add(mid, "i", &record("-", mid, "unusable"));
    logs.add(mid, "i", &record("", mid, "unusable"));
    logs.add(
        mid,
        "i",
        &without(record("x", mid, "unusable"), "requestId"),
    );
    logs.add(
        mid,
        "i",
        &without(record("no-time", mid, "unusable"), "requestTime"),
    );
    logs.add(
        mid,
        "i",
        &with(
            record("negative", mid, "unusable"),
            "responseLength",
            json!(-5),
        ),
    );
    // Lines that are not a JSON object, next to a record: rows of NULLs in Athena, reported
    // and skipped offline.
    for line in malformed_lines("unusable", mid) {
        logs.add_line(mid, "i", &line);
    }
    logs.add(
        mid,
        "i",
        &record("beside-malformed", mid, "beside-malformed"),
    );

    let dir = tempfile::tempdir().unwrap();
    logs.write(dir.path());
    let mut usage = BTreeMap::new();
    for month in [dec.previous(), dec, dec.next()] {
        let (u, _) = compare(&mut duckdb, &config, month, dir.path(), Some(3))
            .unwrap_or_else(|e| panic!("{e}"));
        usage.insert(month, u);
    }

    // What both paths agreed on is what the rules say.
    let get = |month: Month, tenant: &str, meter: &str| -> Option<u64> {
        usage[&month]
            .tenants
            .get(tenant)
            .map(|m| m[meter].to_string().parse().expect("a count"))
    };
    let all = |month: Month, tenant: &str| get(month, tenant, "all_requests");
    let (nov, jan) = (dec.previous(), dec.next());
    for tenant in [
        "same-file",
        "two-hours",
        "earliest",
        "boundary",
        "last-ms",
        "late-dup",
        "last-folder",
    ] {
        assert_eq!(all(dec, tenant), Some(1), "{tenant}");
    }
    assert_eq!(get(dec, "earliest", "errors"), Some(0));
    assert_eq!(get(dec, "earliest", "bytes_all"), Some(7));
    assert_eq!(get(dec, "late-dup", "bytes_all"), Some(45));
    for tenant in ["prev-last-ms", "dup-nov"] {
        assert_eq!(all(dec, tenant), None, "{tenant}");
        assert_eq!(all(nov, tenant), Some(1), "{tenant}");
    }
    assert_eq!(all(dec, "next-first-ms"), None);
    assert_eq!(all(jan, "next-first-ms"), Some(1));
    for month in [dec, jan] {
        assert_eq!(all(month, "too-late"), None);
        assert_eq!(all(month, "boundary"), (month == dec).then_some(1));
        assert_eq!(all(month, "unusable"), None);
    }
    assert_eq!(all(dec, "beside-malformed"), Some(1));
    assert_eq!(all(dec, "no-status"), Some(2));
    assert_eq!(get(dec, "no-status", "api_requests"), Some(0));
    assert_eq!(get(dec, "no-status", "errors"), Some(0));
    assert_eq!(get(dec, "no-status", "bytes_all"), Some(34));
    assert_eq!(get(dec, "no-status", "bytes_ok"), Some(0));
    assert_eq!(get(dec, "no-path", "any_path"), Some(0));
    assert_eq!(get(dec, "no-path", "all_requests"), Some(1));
    assert_eq!(all(dec, "unassigned"), Some(5));
    for tenant in ["-", "", "x"] {
        assert_eq!(all(dec, tenant), None, "{tenant:?}");
    }
    // /snake_case, /snake_case/x, /snake_case/ and /exact.
    assert_eq!(get(dec, "paths", "snake_calls"), Some(4));
    assert_eq!(get(dec, "paths", "snake_users"), Some(3));
    assert_eq!(get(dec, "methods", "writes"), Some(3));
    assert_eq!(get(dec, "statuses", "errors"), Some(4));
    assert_eq!(get(dec, "statuses", "api_requests"), Some(2));
    assert_eq!(get(dec, "users", "users"), Some(2));
    assert_eq!(get(dec, "bytes", "bytes_all"), Some(15));
    assert_eq!(get(dec, "no-bytes", "bytes_all"), Some(0));
    assert_eq!(get(dec, "no-bytes", "bytes_ok"), Some(0));
}

/// Lines that are not an access-log record however they are read: a record of `tenant` at
/// `time` cut short before its closing brace, one cut in the middle of a value, and valid
/// JSON that is not an object.
fn malformed_lines(tenant: &str, time: i64) -> Vec<String> {
    let whole = record("cut-short", time, tenant).to_string();
    vec![
        whole[..whole.len() - 1].to_string(),
        format!(
            "{{\"requestId\": \"cut-in-value\", \"requestTime\": {time}, \"tenant\": \"{}",
            &tenant[..2]
        ),
        "42".to_string(),
        "\"a string\"".to_string(),
        "null".to_string(),
        "true".to_string(),
    ]
}

#[test]
fn malformed_lines_are_rows_of_nulls_and_billed_alike() {
    let mut duckdb = DuckDb::start();
    let config = config(3);
    let dec: Month = "2026-12".parse().unwrap();
    let t = ms(2026, 12, 10, 14, 0, 0, 0);
    let broken = malformed_lines("broken", t);
    // Every one of them is malformed offline: `bill` reports it with file and line.
    for line in &broken {
        assert!(Request::parse(line.as_bytes()).is_err(), "{line}");
    }
    let mut logs = Logs::default();
    logs.add(t, "j", &record("before", t, "around-malformed"));
    for line in &broken {
        logs.add_line(t, "j", line);
    }
    logs.add(t, "j", &record("after", t + 1, "around-malformed"));
    let dir = tempfile::tempdir().unwrap();
    logs.write(dir.path());

    // The harness reads each malformed line as Athena does with ignore.malformed.json: a row
    // whose columns are all NULL, and the query does not fail.
    let (_, rows) = duckdb
        .query(
            dir.path(),
            &format!(
                "SELECT count(*), count(requestid), count(requesttime), count(tenant) \
                 FROM \"{DATABASE}\".\"{TABLE}\" WHERE year = 2026 AND month = 12 AND day = 10 \
                 AND hour = 14"
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let n = |k: usize| Some(k.to_string());
    assert_eq!(rows, [vec![n(broken.len() + 2), n(2), n(2), n(2)]]);

    // Both paths bill the two records around them, and nothing else.
    let (usage, counts) =
        compare(&mut duckdb, &config, dec, dir.path(), Some(1)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        usage.tenants.keys().collect::<Vec<_>>(),
        ["around-malformed"]
    );
    assert_eq!(
        usage.tenants["around-malformed"]["all_requests"],
        Decimal::from(2)
    );
    assert_eq!((counts.records, counts.billed), (2, 2));
}

/// Firehose files an object under the hour of its *oldest* record's arrival: a request at
/// 00:00:30 on the 1st that shares a buffer with a record from 23:57 is in the previous
/// month's last hour folder. Both paths bill it once, to the month of its own `requestTime`;
/// the previous month does not.
#[test]
fn a_buffer_straddling_the_month_start_is_billed_to_the_requests_month() {
    let mut duckdb = DuckDb::start();
    let config = config(3);
    let dec: Month = "2026-12".parse().unwrap();
    let nov = dec.previous();
    let nov_2357 = ms(2026, 11, 30, 23, 57, 0, 0);
    let dec_000030 = ms(2026, 12, 1, 0, 0, 30, 0);
    let dec_000040 = ms(2026, 12, 1, 0, 0, 40, 0);
    let mut logs = Logs::default();
    // One object, named after its oldest record (arrived 23:57:00.200).
    let arrived = nov_2357 + 200;
    logs.add(
        arrived,
        "straddle",
        &record("nov-2357", nov_2357, "straddle"),
    );
    let r = with(
        record("dec-000030", dec_000030, "straddle"),
        "sub",
        json!("s-2"),
    );
    logs.add(arrived, "straddle", &r);
    // A third request in the same object, also delivered again (a retry) into the month's
    // first folder: counted once.
    let r = with(
        with(
            record("dec-000040", dec_000040, "straddle"),
            "sub",
            json!("s-3"),
        ),
        "responseLength",
        json!(1000),
    );
    logs.add(arrived, "straddle", &r);
    logs.add(dec_000040 + 500, "retry", &r);
    assert!(logs.files.contains_key(Path::new(
        "json-data/year=2026/month=11/day=30/hour=23/straddle"
    )));
    let dir = tempfile::tempdir().unwrap();
    logs.write(dir.path());

    let (usage, counts) =
        compare(&mut duckdb, &config, dec, dir.path(), Some(2)).unwrap_or_else(|e| panic!("{e}"));
    let straddle = &usage.tenants["straddle"];
    assert_eq!(straddle["all_requests"], Decimal::from(2), "{usage:?}");
    assert_eq!(straddle["users"], Decimal::from(2));
    assert_eq!(straddle["bytes_all"], Decimal::from(17 + 1000));
    assert_eq!(
        counts,
        Counts {
            records: 4,
            duplicates: 1,
            outside_month: 1,
            billed: 2
        }
    );

    // November bills its own request of 23:57 and neither of December's.
    let (usage, counts) =
        compare(&mut duckdb, &config, nov, dir.path(), None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        usage.tenants["straddle"]["all_requests"],
        Decimal::from(1),
        "{usage:?}"
    );
    assert_eq!(usage.tenants["straddle"]["bytes_all"], Decimal::from(17));
    assert_eq!((counts.outside_month, counts.billed), (2, 1));
}

// ---------------------------------------------------------------------------------------------
// Generated logs.

const MONTHS: [&str; 3] = ["2026-10", "2026-12", "2028-02"];
const METHODS: [Option<&str>; 5] = [Some("GET"), Some("POST"), Some("PUT"), Some("DELETE"), None];
const PATHS: [Option<&str>; 11] = [
    Some("/random/strings"),
    Some("/random"),
    Some("/randomness"),
    Some("/snake_case"),
    Some("/snake_case/x"),
    Some("/snakeXcase/x"),
    Some("/snake_case_b/x"),
    Some("/exact"),
    Some("/exact/sub"),
    Some("/"),
    None,
];
const STATUSES: [Option<i64>; 9] = [
    Some(200),
    Some(204),
    Some(299),
    Some(301),
    Some(404),
    Some(500),
    Some(199),
    Some(100),
    None,
];
/// `None`: no `tenant` key; the others are written as they are (JSON null for `Null`).
const TENANTS: [Option<&str>; 8] = [
    Some("acme"),
    Some("globex"),
    Some("initech"),
    Some("-"),
    Some(""),
    Some("null"),
    Some("unassigned"),
    None,
];
const SUBS: [Option<&str>; 7] = [
    Some("s-1"),
    Some("s-2"),
    Some("s-3"),
    Some("s-4"),
    Some("-"),
    Some(""),
    None,
];

/// One request and where its copies arrived.
#[derive(Debug, Clone)]
struct Draw {
    /// `r-<id>`, or `-` (no request id) for 255.
    id: u8,
    /// From the month's end (else its start), in milliseconds.
    near_end: bool,
    offset_ms: i64,
    method: usize,
    path: usize,
    status: usize,
    /// `None`: no `responseLength` key.
    length: Option<i64>,
    tenant: usize,
    sub: usize,
    /// Each copy: hours after the request's own hour that it arrived (-1: filed under the
    /// hour before, as in a buffer opened by an older record), and file 0 or 1.
    copies: Vec<(i64, u8)>,
    /// A malformed line next to the first copy: none, cut short, or JSON that is not an object.
    broken: Option<u8>,
}

#[derive(Debug, Clone)]
struct Case {
    month: usize,
    late_arrival_hours: u32,
    /// Also run the aggregator spilling every so many rows (not every case: files are slow).
    spill_rows: Option<usize>,
    draws: Vec<Draw>,
}

fn draw() -> impl Strategy<Value = Draw> {
    let id = prop_oneof![60 => 0u8..40, 1 => Just(255u8)];
    let time = prop_oneof![
        3 => (Just(false), -3 * HOUR_MS..3 * HOUR_MS),
        3 => (Just(true), -3 * HOUR_MS..26 * HOUR_MS),
        2 => (any::<bool>(), -1i64..=0),
        // Mid-month, in two hours only: every hour folder is files to create and read.
        1 => (
            Just(false),
            prop::sample::select(vec![9 * 24 * HOUR_MS, 26 * 24 * HOUR_MS + 23 * HOUR_MS])
                .prop_flat_map(|hour| hour..hour + HOUR_MS)
        ),
    ];
    // A negative length makes the line malformed: both paths leave it out.
    let length = prop_oneof![
        16 => (0i64..100_000).prop_map(Some),
        2 => Just(None),
        1 => (-50i64..0).prop_map(Some),
    ];
    let copy = (
        prop_oneof![6 => Just(0i64), 3 => Just(1i64), 1 => Just(-1i64), 1 => 2i64..30],
        0u8..2,
    );
    let broken = prop_oneof![30 => Just(None), 1 => (0u8..3).prop_map(Some)];
    let copies = prop_oneof![
        3 => prop::collection::vec(copy.clone(), 1..=1),
        1 => prop::collection::vec(copy, 2..=3),
    ];
    (
        id,
        time,
        0..METHODS.len(),
        0..PATHS.len(),
        0..STATUSES.len(),
        length,
        0..TENANTS.len(),
        0..SUBS.len(),
        (copies, broken),
    )
        .prop_map(
            |(
                id,
                (near_end, offset_ms),
                method,
                path,
                status,
                length,
                tenant,
                sub,
                (copies, broken),
            )| Draw {
                id,
                near_end,
                offset_ms,
                method,
                path,
                status,
                length,
                tenant,
                sub,
                copies,
                broken,
            },
        )
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..MONTHS.len(),
        prop::sample::select(vec![1u32, 3, 22]),
        prop::option::weighted(0.25, 1usize..64),
        prop::collection::vec(draw(), 100..300),
    )
        .prop_map(|(month, late_arrival_hours, spill_rows, draws)| Case {
            month,
            late_arrival_hours,
            spill_rows,
            draws,
        })
}

/// Writes the case's logs under `root`: the month and the number of malformed lines. Copies
/// of one request id with the same time are the same record (as Firehose's duplicates are):
/// which of two copies with the same id and time but different fields comes first is left
/// undefined by both paths.
fn write_case(case: &Case, root: &Path) -> (Month, u64) {
    let month: Month = MONTHS[case.month].parse().unwrap();
    let mut records: HashMap<(String, i64), Value> = HashMap::new();
    let mut logs = Logs::default();
    let mut malformed = 0;
    for d in &case.draws {
        let id = if d.id == 255 {
            "-".to_string()
        } else {
            format!("r-{}", d.id)
        };
        let anchor = if d.near_end {
            month.end_ms()
        } else {
            month.start_ms()
        };
        let time = anchor + d.offset_ms;
        let record = records.entry((id.clone(), time)).or_insert_with(|| {
            let mut r = json!({"requestId": id, "ip": "10.0.0.1", "user": "u",
                               "requestTime": time, "protocol": "HTTP/1.1"});
            let set = |r: &mut Value, key: &str, value: Option<Value>| {
                if let Some(v) = value {
                    r[key] = v;
                }
            };
            set(&mut r, "httpMethod", METHODS[d.method].map(|m| json!(m)));
            set(&mut r, "resourcePath", PATHS[d.path].map(|p| json!(p)));
            set(&mut r, "status", STATUSES[d.status].map(|s| json!(s)));
            set(&mut r, "responseLength", d.length.map(|n| json!(n)));
            set(
                &mut r,
                "tenant",
                TENANTS[d.tenant].map(|t| if t == "null" { Value::Null } else { json!(t) }),
            );
            set(&mut r, "sub", SUBS[d.sub].map(|s| json!(s)));
            r
        });
        let hour_start = time.div_euclid(HOUR_MS) * HOUR_MS;
        for (delay, file) in &d.copies {
            logs.add(
                hour_start + delay * HOUR_MS,
                &format!("part-{file}"),
                record,
            );
        }
        if let Some(kind) = d.broken {
            let whole = record.to_string();
            let line = match kind {
                0 => whole[..whole.len() / 2].to_string(),
                1 => "\"text\"".to_string(),
                _ => "-1".to_string(),
            };
            let (delay, file) = d.copies[0];
            logs.add_line(hour_start + delay * HOUR_MS, &format!("part-{file}"), &line);
            malformed += 1;
        }
    }
    logs.write(root);
    (month, malformed)
}

#[test]
fn generated_logs_agree() {
    let duckdb = RefCell::new(DuckDb::start());
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(32);
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        // No regression file in the source tree.
        failure_persistence: None,
        // Each step runs DuckDB: shrink for half a minute at most.
        max_shrink_time: 30_000,
        ..ProptestConfig::default()
    });
    let totals = Cell::new((0u64, 0u64, 0u64));
    let malformed_total = Cell::new(0u64);
    let result = runner.run(&case(), |case| {
        let dir = tempfile::tempdir().unwrap();
        let (month, malformed) = write_case(&case, dir.path());
        malformed_total.set(malformed_total.get() + malformed);
        let config = config(case.late_arrival_hours);
        let (_, counts) = compare(
            &mut duckdb.borrow_mut(),
            &config,
            month,
            dir.path(),
            case.spill_rows,
        )
        .map_err(TestCaseError::fail)?;
        let (billed, duplicates, outside) = totals.get();
        totals.set((
            billed + counts.billed,
            duplicates + counts.duplicates,
            outside + counts.outside_month,
        ));
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => {
            panic!("{reason}\nminimal failing case: {case:#?}")
        }
        Err(e) => panic!("{e}"),
    }
    // The cases did exercise the rules.
    let (billed, duplicates, outside) = totals.get();
    assert!(
        billed > 0 && duplicates > 0 && outside > 0 && malformed_total.get() > 0,
        "{billed} billed, {duplicates} duplicates, {outside} outside the month, {} malformed \
         lines",
        malformed_total.get()
    );
}

// ---------------------------------------------------------------------------------------------
// Reserved words as meter names.

/// The reserved keywords of Trino, Athena's engine for SELECT: trinodb/trino
/// `docs/src/main/sphinx/language/reserved.md` ("Keywords and identifiers", commit 0e38028),
/// which Trino's build checks against its grammar `SqlBase.g4`
/// (`io.trino.sql.ReservedIdentifiers validateDocs`). "These reserved keywords must be quoted
/// (using double quotes) in order to be used as an identifier."
const TRINO_RESERVED: &str = "\
    alter and as auto between by case cast constraint create cross cube current_catalog \
    current_date current_path current_role current_schema current_time current_timestamp \
    current_user deallocate delete describe distinct drop else end escape except exists \
    extract false for from full group grouping having in inner insert intersect into is \
    join json_array json_exists json_object json_query json_table json_value left like \
    listagg localtime localtimestamp natural normalize not null on or order outer prepare \
    primary recursive right rollup select skip table then trim true uescape union unnest \
    using values when where with";

/// Athena's own list for SELECT statements, where it differs from Trino's: the Athena User
/// Guide, "Reserved keywords" (`reserved-words.html`, "Reserved keywords to escape in SQL
/// SELECT statements"; "enclose them in double quotes").
const ATHENA_DML_RESERVED_MORE: &str = "execute first last unescape";

/// Both lists, in order, once each.
fn reserved_words() -> Vec<&'static str> {
    let words: BTreeSet<&str> = TRINO_RESERVED
        .split_whitespace()
        .chain(ATHENA_DML_RESERVED_MORE.split_whitespace())
        .collect();
    words.into_iter().collect()
}

/// Where the query breaks Trino's rule that a reserved word is an identifier only between
/// double quotes, in the place a name follows `AS` (a column or relation alias). DuckDB cannot
/// tell: like PostgreSQL it takes any keyword as a label after `AS` (`SELECT 1 AS order`),
/// which Trino (`selectItem: expression (AS? identifier)?`) rejects.
fn bare_reserved_aliases(sql: &str) -> Vec<String> {
    let reserved = reserved_words();
    let mut words: Vec<Option<String>> = Vec::new(); // None: anything but a bare word
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '\'' | '"' => {
                // A literal or a quoted identifier; a doubled quote stays inside.
                while let Some(d) = chars.next() {
                    if d == c {
                        if chars.peek() == Some(&c) {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
                words.push(None);
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut word = c.to_string();
                while let Some(&d) = chars.peek() {
                    if d.is_ascii_alphanumeric() || d == '_' {
                        word.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                words.push(Some(word));
            }
            c if c.is_whitespace() => {}
            _ => words.push(None),
        }
    }
    words
        .windows(2)
        .filter_map(|w| match (&w[0], &w[1]) {
            (Some(a), Some(b))
                if a.eq_ignore_ascii_case("as")
                    && reserved.contains(&b.to_ascii_lowercase().as_str()) =>
            {
                Some(format!("AS {b}"))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_trino_rule_check_sees_bare_reserved_aliases() {
    assert_eq!(
        bare_reserved_aliases("SELECT a AS \"order\", 'x AS end' AS b -- AS table\n, c AS group"),
        ["AS group"]
    );
}

/// Meters named `names`, of every aggregation and filter in turn.
fn config_named(names: &[&str]) -> ValidConfig {
    let kinds = [
        json!({"aggregation": "count"}),
        json!({"aggregation": "count", "filter": {"methods": ["POST"]}}),
        json!({"aggregation": "sum_response_bytes"}),
        json!({"aggregation": "unique_users", "filter": {"status_classes": ["2xx"]}}),
        json!({"aggregation": "count", "filter": {"status_classes": ["4xx", "5xx"]}}),
        json!({"aggregation": "sum_response_bytes", "filter": {"resource_paths": ["/random/*"]}}),
        json!({"aggregation": "unique_users"}),
    ];
    let meters: serde_json::Map<String, Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| (name.to_string(), kinds[i % kinds.len()].clone()))
        .collect();
    let config: Config = serde_json::from_value(json!({
        "meters": meters,
        "pricing": {"default_plan": "std", "plans": {"std": {"currency": "EUR"}}}
    }))
    .expect("a metering config");
    config.validate().expect("a valid metering config")
}

/// A few tenants' requests in December 2026: methods, statuses, paths, users, a duplicate.
fn small_logs(root: &Path) -> Month {
    let dec: Month = "2026-12".parse().unwrap();
    let mid = ms(2026, 12, 10, 12, 0, 0, 0);
    let mut logs = Logs::default();
    let requests = [
        ("acme", "GET", "/random/strings", 200, "s-1"),
        ("acme", "POST", "/random/strings", 201, "s-2"),
        ("acme", "GET", "/other", 404, "s-1"),
        ("globex", "POST", "/other", 500, "-"),
        ("globex", "GET", "/random", 200, "s-3"),
        ("-", "GET", "/random/strings", 200, "s-4"),
    ];
    for (i, (tenant, method, path, status, sub)) in requests.into_iter().enumerate() {
        let r = json!({"requestId": format!("r-{i}"), "ip": "10.0.0.1", "user": "u",
                       "requestTime": mid + i as i64, "httpMethod": method,
                       "resourcePath": path, "status": status, "protocol": "HTTP/1.1",
                       "responseLength": 10 * (i + 1), "tenant": tenant, "sub": sub});
        logs.add(mid, "a", &r);
        if i == 0 {
            logs.add(mid + HOUR_MS, "a", &r);
        }
    }
    logs.write(root);
    dec
}

/// The usage query for `names` passes Trino's rule for reserved words and gives, in DuckDB,
/// the aggregator's usage, read by the result's header as the billing Lambda reads it.
fn reserved_names_agree(duckdb: &mut DuckDb, names: &[&str]) -> Usage {
    let config = config_named(names);
    let dir = tempfile::tempdir().unwrap();
    let month = small_logs(dir.path());
    let sql = usage_query(&config, month, DATABASE, TABLE).unwrap();
    let bare = bare_reserved_aliases(&sql);
    assert!(
        bare.is_empty(),
        "Trino rejects reserved words as bare identifiers: {bare:?}\n{sql}"
    );
    let (usage, _) =
        compare(duckdb, &config, month, dir.path(), None).unwrap_or_else(|e| panic!("{e}"));
    usage
}

#[test]
fn reserved_words_are_meter_names() {
    let mut duckdb = DuckDb::start();
    let usage = reserved_names_agree(&mut duckdb, &["order", "group", "values", "end", "table"]);
    // `order` counts every request, `group` POSTs, `values` sums bytes, `end` counts users
    // with a 2xx, `table` 4xx and 5xx.
    assert_eq!(
        usage.tenants["acme"],
        BTreeMap::from([
            ("end".to_string(), Decimal::from(2)),
            ("group".to_string(), Decimal::from(1)),
            ("order".to_string(), Decimal::from(3)),
            ("table".to_string(), Decimal::from(1)),
            ("values".to_string(), Decimal::from(60)),
        ])
    );
    assert_eq!(usage.tenants["globex"]["table"], Decimal::from(1));
}

#[test]
fn every_reserved_word_of_trino_and_athena_is_a_meter_name() {
    let mut duckdb = DuckDb::start();
    let words = reserved_words();
    assert!(words.len() > metering::MAX_METERS);
    for chunk in words.chunks(metering::MAX_METERS) {
        let usage = reserved_names_agree(&mut duckdb, chunk);
        assert_eq!(usage.tenants.len(), 3);
    }
}
