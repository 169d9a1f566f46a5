//! `bill`'s reading on several threads, and in ranges of large files, gives exactly what one
//! thread reading whole files gives: the usage, the counts and every line of the report
//! (malformed lines with file and line number), over duplicates across files, copies on both
//! sides of the month's start and end, copies with the same time in different files,
//! malformed and blank lines, CRLF endings, a gzip file, and spilling.

use metering::{Aggregator, Config, Month, Usage, ValidConfig};
use metering_gen::offline::logs::{self, ReadReport};
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::Path;

/// 2026-10-01T00:00:00Z and 2026-11-01T00:00:00Z in epoch milliseconds.
const OCT: i64 = 1_790_812_800_000;
const NOV: i64 = 1_793_491_200_000;
const HOUR: i64 = 3_600_000;

fn config() -> ValidConfig {
    let c: Config = serde_json::from_str(
        r#"{"late_arrival_hours": 2,
            "meters": {
              "calls": {"aggregation": "count", "filter": {"resource_paths": ["/random/*"], "status_classes": ["2xx"]}},
              "bytes": {"aggregation": "sum_response_bytes"},
              "users": {"aggregation": "unique_users"}},
            "pricing": {"default_plan": "p", "plans": {"p": {"currency": "EUR"}}}}"#,
    )
    .unwrap();
    c.validate().unwrap()
}

fn month() -> Month {
    "2026-10".parse().unwrap()
}

fn line(id: &str, time: i64, tenant: &str, sub: &str, status: u16, bytes: u64) -> String {
    format!(
        r#"{{"requestId": "{id}", "ip": "10.0.0.1", "user": "-", "requestTime": {time}, "httpMethod": "GET", "resourcePath": "/random/strings", "status": {status}, "protocol": "HTTP/1.1", "responseLength": {bytes}, "tenant": "{tenant}", "sub": "{sub}"}}"#
    )
}

fn folder(time: i64) -> String {
    chrono::DateTime::from_timestamp_millis(time)
        .unwrap()
        .format("year=%Y/month=%m/day=%d/hour=%H")
        .to_string()
}

fn put(root: &Path, relative: &str, text: &str) {
    let path = root.join("json-data").join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A month of files in about 40 hours of the window, and a few outside it.
fn logs(root: &Path) {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let hours: Vec<i64> = std::iter::once(OCT - HOUR)
        .chain((0..36).map(|i| OCT + i * 20 * HOUR))
        .chain([NOV, NOV + HOUR])
        .collect();
    let mut files: Vec<(String, String)> = Vec::new();
    for (h, &hour) in hours.iter().enumerate() {
        for part in 0..2 {
            let mut text = String::new();
            for i in 0..120 {
                let id = format!("r-{}", next(3_000));
                let time = hour + next(HOUR as u64) as i64 - 30_000;
                let tenant = ["acme", "globex", "-", "", "initech"][next(5) as usize];
                let sub = ["s1", "s2", "-", "s3"][next(4) as usize];
                let status = [200, 201, 404, 500][next(4) as usize];
                text.push_str(&line(&id, time, tenant, sub, status, next(1 << 40)));
                text.push_str(if i % 7 == 0 { "\r\n" } else { "\n" });
                if next(40) == 0 {
                    text.push_str(
                        ["{\"requestId\": \"r-x\", ", "\n", "   \n", "[1]\n"][next(4) as usize],
                    );
                    text.push('\n');
                }
            }
            files.push((format!("{}/part-{h:03}-{part}", folder(hour)), text));
        }
    }
    // Copies of one request on both sides of the month's start, and of another on both
    // sides of its end; each wins where its earliest copy is.
    files[0]
        .1
        .push_str(&(line("r-start", OCT - 1, "acme", "s9", 200, 5) + "\n"));
    files[2]
        .1
        .push_str(&(line("r-start", OCT + 10, "globex", "s9", 200, 7) + "\n"));
    let last = files.len() - 3;
    files[last]
        .1
        .push_str(&(line("r-end", NOV - 1, "initech", "s9", 200, 11) + "\n"));
    files[last + 2]
        .1
        .push_str(&(line("r-end", NOV, "globex", "s9", 200, 13) + "\n"));
    // The same request at the same time in two files: the one read first (path order) counts.
    files[5]
        .1
        .push_str(&(line("r-tie", OCT + 5 * HOUR, "tie-first", "-", 200, 1) + "\n"));
    files[40]
        .1
        .push_str(&(line("r-tie", OCT + 5 * HOUR, "tie-second", "-", 200, 1) + "\n"));
    // A large file, read in ranges, with malformed lines all along it and no final line break.
    let mut large = String::new();
    for i in 0..2_500 {
        if i % 97 == 0 {
            let _ = writeln!(
                large,
                "{{\"requestId\": \"bad-{i}\", \"requestTime\": 1.5}}"
            );
        }
        large.push_str(&line(
            &format!("r-{}", next(3_000)),
            OCT + next(30 * 24) as i64 * HOUR,
            ["acme", "globex"][next(2) as usize],
            "s4",
            200,
            next(1 << 20),
        ));
        large.push('\n');
    }
    large.push_str(&line("r-final", OCT + 3, "acme", "s5", 200, 3));
    // In the first folder, so that its malformed lines are among those shown.
    files.push((format!("{}/part-large", folder(OCT - HOUR)), large));

    for (relative, text) in &files {
        if relative.ends_with("part-010-1") {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(text.as_bytes()).unwrap();
            let path = root.join("json-data").join(relative);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, gz.finish().unwrap()).unwrap();
        } else {
            put(root, relative, text);
        }
    }
    put(root, &format!("{}/outside", folder(NOV + 5 * HOUR)), "{}\n");
    put(root, "notes.txt", "not a log\n");
}

fn read(root: &Path, threads: usize, chunk_bytes: u64, spill: Option<usize>) -> (Usage, String) {
    let mut aggregator = Aggregator::new(&config(), month()).with_threads(threads);
    if let Some(rows) = spill {
        aggregator = aggregator.with_spill_rows(rows);
    }
    let (usage, report) =
        logs::read_in_chunks(&root.join("json-data"), aggregator, chunk_bytes).unwrap();
    (usage, format!("{report:#?}"))
}

fn report_of(root: &Path) -> ReadReport {
    let aggregator = Aggregator::new(&config(), month()).with_threads(1);
    logs::read(&root.join("json-data"), aggregator).unwrap().1
}

#[test]
fn threads_and_ranges_read_what_one_thread_reads() {
    let dir = tempfile::tempdir().unwrap();
    logs(dir.path());
    let (usage, report) = read(dir.path(), 1, u64::MAX, None);

    // The fixture has what it is meant to have.
    let r = report_of(dir.path());
    assert!(r.malformed > 40, "{report}");
    assert_eq!(r.malformed_shown.len(), logs::SHOWN_MALFORMED);
    assert!(r.counts.duplicates > 500, "{report}");
    assert!(r.counts.outside_month > 1, "{report}");
    assert_eq!(r.files_outside_window, 1);
    assert_eq!(r.files_not_in_layout.len(), 1);
    assert!(
        r.malformed_shown
            .iter()
            .any(|m| m.file.ends_with("part-large") && m.line > 1_000),
        "{report}"
    );
    assert!(usage.tenants.contains_key("tie-first"));
    assert!(!usage.tenants.contains_key("tie-second"));

    for threads in [2, 3, 8] {
        for chunk_bytes in [97, 4_096, u64::MAX] {
            for spill in [None, Some(7), Some(1_000)] {
                let (u, rep) = read(dir.path(), threads, chunk_bytes, spill);
                let case =
                    format!("{threads} threads, ranges of {chunk_bytes} bytes, spill {spill:?}");
                assert_eq!(u, usage, "{case}");
                assert_eq!(rep, report, "{case}");
            }
        }
    }
}

#[test]
fn one_thread_in_ranges_reads_what_it_reads_whole() {
    let dir = tempfile::tempdir().unwrap();
    logs(dir.path());
    let whole = read(dir.path(), 1, u64::MAX, None);
    for chunk_bytes in [61, 333] {
        assert_eq!(
            read(dir.path(), 1, chunk_bytes, Some(64)),
            whole,
            "{chunk_bytes}"
        );
    }
}
