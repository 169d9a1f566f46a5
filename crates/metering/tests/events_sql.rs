//! The usage query over access logs and usage events, run in DuckDB over the tables the
//! compactions write, gives the usage the offline path measures from the raw files: the same
//! de-duplication by id, month of the event's own time, window, meters and property filters,
//! and the tenants of either source.
//!
//! The events table's rows are built here as the compaction of events writes them: each line
//! through [`metering::normalise`] (flagged lines keep their reason in `problem`), and an event
//! whose time no bill reads from its folder flagged too ([`metering::times_billed_from`]).
//!
//! One word of the query differs in DuckDB: Athena (Trino) reads a map's key with
//! `element_at(map, key)`, which DuckDB answers with a list; DuckDB's `map_extract_value` is
//! the same function there, and replaces it before the text is run.
//!
//! Needs a Python with the `duckdb` module, as `sql_semantics.rs`.

mod common;

use common::duckdb::{DuckDb, DATABASE, EVENTS_TABLE, TABLE};
use metering::{
    usage_query_with_events, Aggregator, Config, FolderHour, Month, Source, Table, Usage,
    ValidConfig,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use std::cell::RefCell;
use std::fs;
use std::path::Path;

const LATE_HOURS: u32 = 2;
const HOUR_MS: i64 = 3_600_000;

fn config() -> ValidConfig {
    let config: Config = serde_json::from_value(serde_json::json!({
        "late_arrival_hours": LATE_HOURS,
        "meters": {
            "calls": {"aggregation": "count", "filter": {"status_classes": ["2xx"]}},
            "bytes": {"aggregation": "sum_response_bytes"},
            "tokens": {"source": "events", "event_type": "tokens.generated", "aggregation": "sum"},
            "tokens_large": {"source": "events", "event_type": "tokens.generated", "aggregation": "sum",
                             "filter": {"properties": {"model": ["large", "xl"]}}},
            "jobs": {"source": "events", "event_type": "job.completed", "aggregation": "count"},
            "peak": {"source": "events", "event_type": "storage.gb", "aggregation": "max"},
            "models": {"source": "events", "event_type": "tokens.generated", "aggregation": "unique_count",
                       "property": "model"}
        },
        "pricing": {"default_plan": "p", "plans": {"p": {"currency": "EUR"}}}
    }))
    .unwrap();
    config.validate().unwrap()
}

fn month() -> Month {
    "2026-10".parse().unwrap()
}

fn folder_of(ms: i64) -> FolderHour {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
    FolderHour::new(t.year(), t.month(), t.day(), t.hour()).unwrap()
}

fn folder_path(f: FolderHour) -> String {
    format!(
        "year={}/month={:02}/day={:02}/hour={:02}",
        f.year, f.month, f.day, f.hour
    )
}

/// A line as it arrived, and the folder it was filed in.
#[derive(Debug, Clone)]
struct Filed {
    line: String,
    folder: FolderHour,
}

fn append(root: &Path, table: &str, folder: FolderHour, line: &str) {
    let dir = root.join(table).join(folder_path(folder));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("part-0");
    let mut text = fs::read_to_string(&path).unwrap_or_default();
    text.push_str(line);
    text.push('\n');
    fs::write(path, text).unwrap();
}

/// Writes the access logs as Firehose files and the events as the events table's rows.
fn write(root: &Path, requests: &[Filed], events: &[Filed]) {
    // The access-log view needs a file even when no request was made.
    let start = folder_of(month().start_ms());
    append(root, "json-data", start, "");
    for r in requests {
        append(root, "json-data", r.folder, &r.line);
    }
    // An empty file: the table exists, with no row, when no event was sent.
    let dir = root.join("events-table").join(folder_path(start));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("empty"), "").unwrap();
    for e in events {
        let canonical = metering::normalise(e.line.as_bytes());
        let row = match metering::Event::parse(&canonical) {
            Ok(event) => {
                let in_a_window =
                    metering::times_billed_from(e.folder, LATE_HOURS).contains(&event.time_ms);
                serde_json::json!({
                    "id": event.id, "tenant": event.tenant, "type": event.event_type,
                    "time": event.time_ms,
                    "value": event.value.map(|v| metering::amount_decimal(v).unwrap().to_string()),
                    "properties": event.properties,
                    "problem": (!in_a_window).then_some("time outside any window"),
                })
            }
            Err(problem) => serde_json::json!({"problem": problem.to_string()}),
        };
        append(root, "events-table", e.folder, &row.to_string());
    }
}

fn offline(config: &ValidConfig, requests: &[Filed], events: &[Filed]) -> Usage {
    let window = config.window(month());
    let mut logs = Aggregator::new(config, month());
    for r in requests.iter().filter(|r| window.reads_folder(r.folder)) {
        let _ = logs.add_line_in(r.line.as_bytes(), r.folder);
    }
    let mut usage_events = Aggregator::of(config, month(), Source::Events);
    for e in events.iter().filter(|e| window.reads_folder(e.folder)) {
        let _ = usage_events.add_line_in(e.line.as_bytes(), e.folder);
    }
    Usage::join(
        config,
        [logs.finish().unwrap().0, usage_events.finish().unwrap().0],
    )
}

fn in_duckdb(duckdb: &mut DuckDb, config: &ValidConfig, root: &Path) -> Result<Usage, String> {
    let sql = usage_query_with_events(
        config,
        month(),
        Table {
            database: DATABASE,
            table: TABLE,
        },
        Some(Table {
            database: DATABASE,
            table: EVENTS_TABLE,
        }),
    )
    .unwrap();
    let duck = sql.replace(
        "element_at(\"properties\", ",
        "map_extract_value(\"properties\", ",
    );
    let (columns, rows) = duckdb.query(root, &duck)?;
    Usage::from_rows(config, month(), &columns, rows)
}

fn request(id: u32, time: i64, tenant: &str, status: u16, bytes: u32) -> String {
    format!(
        r#"{{"requestId": "r-{id}", "requestTime": {time}, "httpMethod": "GET", "resourcePath": "/x", "status": {status}, "responseLength": {bytes}, "tenant": "{tenant}", "sub": "s"}}"#
    )
}

/// Times around the month's two edges and inside it.
fn time() -> impl Strategy<Value = i64> {
    let (start, end) = (month().start_ms(), month().end_ms());
    prop_oneof![
        start - 2 * HOUR_MS..start + 2 * HOUR_MS,
        start..end,
        end - 2 * HOUR_MS..end + 2 * HOUR_MS,
    ]
}

/// How long after its time a record is filed: mostly within the hour, some hours late, some
/// filed far from any window.
fn delay() -> impl Strategy<Value = i64> {
    prop_oneof![
        8 => 0..HOUR_MS,
        2 => HOUR_MS..4 * HOUR_MS,
        1 => Just(40 * 24 * HOUR_MS),
    ]
}

fn event_line() -> impl Strategy<Value = (String, i64)> {
    (
        0u32..30,
        prop::sample::select(vec!["acme", "globex", "it's"]),
        prop::sample::select(vec!["tokens.generated", "job.completed", "storage.gb"]),
        time(),
        any::<bool>(),
        prop::option::of((0u64..5_000, 0u32..1000)),
        prop::option::of(prop::sample::select(vec!["small", "large", "xl"])),
        0u8..20,
    )
        .prop_map(|(id, tenant, kind, t, rfc, value, model, defect)| {
            let time = if rfc {
                let d = chrono::DateTime::from_timestamp_millis(t).unwrap();
                format!("\"{}\"", d.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
            } else {
                t.to_string()
            };
            let mut e = format!(
                r#"{{"id": "e-{id}", "tenant": "{tenant}", "type": "{kind}", "time": {time}"#
            );
            if let Some((whole, thousandths)) = value {
                e.push_str(&format!(r#", "value": "{whole}.{thousandths:03}""#));
            }
            if let Some(m) = model {
                e.push_str(&format!(r#", "properties": {{"model": "{m}"}}"#));
            }
            e.push('}');
            let line = match defect {
                0 => e.replace(r#""id": "#, r#""di": "#),
                1 => e.replace(r#""value": ""#, r#""value": "x"#),
                2 => "{not json".to_string(),
                _ => e,
            };
            (line, t)
        })
}

#[test]
fn the_query_and_the_offline_path_agree_over_both_sources() {
    let duckdb = RefCell::new(DuckDb::start());
    let config = config();
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 40,
        ..ProptestConfig::default()
    });
    let strategy = (
        prop::collection::vec(
            (
                0u32..20,
                time(),
                delay(),
                prop::sample::select(vec!["acme", "globex", "initech"]),
                prop::sample::select(vec![200u16, 404]),
                0u32..1000,
            ),
            0..30,
        ),
        prop::collection::vec((event_line(), delay()), 0..60),
    );
    runner
        .run(&strategy, |(requests, events)| {
            let requests: Vec<Filed> = requests
                .into_iter()
                .map(|(id, t, d, tenant, status, bytes)| Filed {
                    line: request(id, t, tenant, status, bytes),
                    folder: folder_of(t + d),
                })
                .collect();
            let events: Vec<Filed> = events
                .into_iter()
                .map(|((line, t), d)| Filed {
                    line,
                    folder: folder_of(t + d),
                })
                .collect();
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), &requests, &events);
            let expected = offline(&config, &requests, &events);
            let got = in_duckdb(&mut duckdb.borrow_mut(), &config, dir.path())
                .map_err(TestCaseError::fail)?;
            prop_assert_eq!(got, expected);
            Ok(())
        })
        .unwrap();
}

#[test]
fn hand_picked_events_and_requests() {
    let mut duckdb = DuckDb::start();
    let config = config();
    let noon = month().start_ms() + 6 * 24 * HOUR_MS + 12 * HOUR_MS;
    let f = folder_of;
    let requests = vec![Filed {
        line: request(1, noon, "acme", 200, 10),
        folder: f(noon),
    }];
    let events: Vec<Filed> = [
        // A retried batch: once.
        (r#"{"id": "a", "tenant": "acme", "type": "tokens.generated", "time": "2026-10-07T12:00:00Z", "value": "10.5", "properties": {"model": "large"}}"#, noon),
        (r#"{"id": "a", "tenant": "acme", "type": "tokens.generated", "time": "2026-10-07T12:00:00Z", "value": "10.5", "properties": {"model": "large"}}"#, noon + HOUR_MS),
        (r#"{"id": "b", "tenant": "acme", "type": "tokens.generated", "time": "2026-10-07T12:00:01Z", "value": 0.25, "properties": {"model": "small"}}"#, noon),
        (r#"{"id": "c", "tenant": "acme", "type": "storage.gb", "time": "2026-10-07T12:00:02Z", "value": 7}"#, noon),
        (r#"{"id": "d", "tenant": "acme", "type": "storage.gb", "time": "2026-10-07T12:00:03Z", "value": "7.000000001"}"#, noon),
        // A tenant with events only, one of them without a value.
        (r#"{"id": "e", "tenant": "it's", "type": "job.completed", "time": "2026-10-07T12:00:04Z"}"#, noon),
        (r#"{"id": "g", "tenant": "it's", "type": "tokens.generated", "time": "2026-10-07T12:00:05Z"}"#, noon),
        // Outside any window: sent in August, filed in October.
        (r#"{"id": "h", "tenant": "acme", "type": "tokens.generated", "time": "2026-08-07T12:00:00Z", "value": 99}"#, noon),
    ]
    .into_iter()
    .map(|(line, at)| Filed {
        line: line.to_string(),
        folder: f(at),
    })
    .collect();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &requests, &events);
    let got = in_duckdb(&mut duckdb, &config, dir.path()).unwrap();
    assert_eq!(got, offline(&config, &requests, &events));
    let acme = &got.tenants["acme"];
    assert_eq!(acme["tokens"].to_string(), "10.75");
    assert_eq!(acme["tokens_large"].to_string(), "10.5");
    assert_eq!(acme["peak"].to_string(), "7.000000001");
    assert_eq!(acme["models"].to_string(), "2");
    assert_eq!(acme["calls"].to_string(), "1");
    let other = &got.tenants["it's"];
    assert_eq!(other["jobs"].to_string(), "1");
    assert_eq!(other["tokens"].to_string(), "0");
    assert_eq!(other["calls"].to_string(), "0");
}
