//! `simulate`: synthetic access logs, checked by re-reading every file it wrote.

use access_log::{FieldType, FIELDS};
use metering::{FolderHour, Month, Request, UNASSIGNED};
use simulate::{simulate, SimulateOptions, SimulateSummary, TenantTruth};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const FOLDER: &str = "json-data";
const STREAM: &str = "amazon-apigateway-random-gen";
const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

fn options(month: &str, tenants: u32, requests: u64, seed: u64) -> SimulateOptions {
    SimulateOptions {
        tenants,
        requests,
        month: month.parse().unwrap(),
        seed,
        gzip: false,
        folder: FOLDER.into(),
        stream_name: STREAM.into(),
        events_folder: None,
    }
}

fn run(options: &SimulateOptions) -> (tempfile::TempDir, SimulateSummary) {
    let dir = tempfile::tempdir().unwrap();
    let summary = simulate(options, dir.path()).unwrap();
    (dir, summary)
}

/// One file of the tree: its path under `out`, its size and its lines (decompressed).
struct LogFile {
    path: PathBuf,
    size: u64,
    text: Vec<u8>,
}

impl LogFile {
    fn lines(&self) -> impl Iterator<Item = &[u8]> {
        assert!(
            self.text.is_empty() || self.text.ends_with(b"\n"),
            "{}: last line without a newline",
            self.path.display()
        );
        self.text
            .split(|b| *b == b'\n')
            .take(self.text.iter().filter(|b| **b == b'\n').count())
    }

    fn folder(&self) -> FolderHour {
        FolderHour::from_path(&self.path).unwrap()
    }
}

/// Every file under `out/<FOLDER>`, in path order.
fn scan(out: &Path) -> Vec<LogFile> {
    scan_in(out, FOLDER)
}

/// Every file under `out/<folder>`, in path order.
fn scan_in(out: &Path, folder: &str) -> Vec<LogFile> {
    let mut files: Vec<LogFile> = walkdir::WalkDir::new(out.join(folder))
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let raw = std::fs::read(e.path()).unwrap();
            let text = if e.path().extension().is_some_and(|x| x == "gz") {
                let mut text = Vec::new();
                flate2::read::GzDecoder::new(&raw[..])
                    .read_to_end(&mut text)
                    .unwrap();
                text
            } else {
                raw.clone()
            };
            LogFile {
                path: e.path().strip_prefix(out).unwrap().to_path_buf(),
                size: raw.len() as u64,
                text,
            }
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Every file under `out` (the summary too), raw bytes.
fn tree(out: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(out)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(out).unwrap().to_path_buf(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn folder_start_ms(f: FolderHour) -> i64 {
    chrono::NaiveDate::from_ymd_opt(f.year, f.month, f.day)
        .unwrap()
        .and_hms_opt(f.hour, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

/// The line as the access-log format writes the record's values: the catalogue's fields in
/// its order, `"key": value`, strings quoted, separated by `, `.
fn render(v: &serde_json::Value) -> String {
    let members: Vec<String> = FIELDS
        .iter()
        .map(|f| match f.field_type {
            FieldType::String => format!("\"{}\": \"{}\"", f.name, v[f.name].as_str().unwrap()),
            FieldType::Int | FieldType::BigInt => {
                format!("\"{}\": {}", f.name, v[f.name].as_i64().unwrap())
            }
        })
        .collect();
    format!("{{{}}}", members.join(", "))
}

/// A record's line and where each copy of it was found (folder, file).
type Copies = (Vec<u8>, Vec<(FolderHour, PathBuf)>);

/// Re-reads a tree: every line checked, and the truth recomputed.
#[derive(Debug, Default)]
struct Rescan {
    files: u64,
    bytes: u64,
    line_bytes: u64,
    lines: u64,
    malformed: u64,
    duplicates: u64,
    tenants: BTreeMap<String, TenantTruth>,
    /// By requestId: the distinct requests of the month.
    copies: HashMap<String, Copies>,
    times: Vec<i64>,
    /// Records of the previous month (in the file that straddles the month's start).
    previous_month: u64,
    /// Files holding a record of the previous month.
    previous_month_files: BTreeSet<PathBuf>,
}

fn rescan(out: &Path, month: Month) -> Rescan {
    let mut r = Rescan::default();
    let mut subs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in scan(out) {
        let name = file.path.file_name().unwrap().to_str().unwrap();
        let folder = file.folder();
        let f = format!(
            "{STREAM}-1-{:04}-{:02}-{:02}-{:02}-",
            folder.year, folder.month, folder.day, folder.hour
        );
        assert!(name.starts_with(&f), "{name} is not named after {f}…");
        let rest = name[f.len()..].trim_end_matches(".gz");
        assert!(
            rest.len() == 42 && rest.as_bytes()[2] == b'-' && rest.as_bytes()[5] == b'-',
            "{name}"
        );
        assert!(is_uuid(&rest[6..]), "{name}");
        assert!(!file.text.is_empty(), "{name} is empty");
        r.files += 1;
        r.bytes += file.size;
        r.line_bytes += file.text.len() as u64;
        for line in file.lines() {
            r.lines += 1;
            let Ok(req) = Request::parse(line) else {
                r.malformed += 1;
                assert!(!line.is_empty());
                continue;
            };
            // The exact format: key order, spacing, quoting.
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
            assert_eq!(keys, FIELDS.iter().map(|f| f.name).collect::<Vec<_>>());
            assert_eq!(render(&v), std::str::from_utf8(line).unwrap());
            assert!(is_uuid(&req.request_id));
            assert!(is_uuid(v["requestId"].as_str().unwrap()));
            assert_eq!(v["protocol"], "HTTP/1.1");
            let user = v["user"].as_str().unwrap();
            let tenant = v["tenant"].as_str().unwrap();
            let sub = v["sub"].as_str().unwrap();
            let status = req.status.unwrap();
            if user == "-" {
                assert_eq!((status, tenant, sub), (401, "-", "-"), "{v}");
            } else {
                assert_ne!(status, 401);
                assert!(is_uuid(sub), "{v}");
                let expected_prefix = match tenant {
                    "-" => "user-0000-".to_string(),
                    t => format!("user-{}-", t.strip_prefix("tenant-").unwrap()),
                };
                assert!(user.starts_with(&expected_prefix), "{v}");
            }
            // The previous month's last minutes, only in its last hour's folder (the file
            // that straddles the month's start), each once.
            let t = req.request_time;
            if t < month.start_ms() {
                assert!(
                    t >= month.start_ms() - 4 * MINUTE_MS,
                    "{t}: before the previous month's last minutes"
                );
                assert_eq!(folder_start_ms(folder), month.start_ms() - HOUR_MS);
                r.previous_month += 1;
                r.previous_month_files.insert(file.path.clone());
                continue;
            }
            // Inside the month; arrived at or after the request's hour, at most one later, or
            // (the month's first minute) filed under the previous hour with the buffer that
            // the previous month's last records opened.
            assert!(t < month.end_ms(), "{t} outside {month}");
            let lateness = folder_start_ms(folder) - t.div_euclid(HOUR_MS) * HOUR_MS;
            let straddling = lateness == -HOUR_MS && t < month.start_ms() + MINUTE_MS;
            assert!(
                lateness == 0 || lateness == HOUR_MS || straddling,
                "request at {t} in folder {folder:?}"
            );

            let entry = r
                .copies
                .entry(req.request_id.to_string())
                .or_insert_with(|| (line.to_vec(), Vec::new()));
            assert_eq!(entry.0, line, "copies of a request differ");
            entry.1.push((folder, file.path.clone()));
            if entry.1.len() > 1 {
                r.duplicates += 1;
                continue;
            }
            r.times.push(t);
            let truth = r.tenants.entry(req.tenant.to_string()).or_default();
            truth.requests += 1;
            truth.bytes += req.response_length.unwrap() as u64;
            truth.status_2xx += u64::from((200..300).contains(&status));
            if let Some(sub) = req.sub {
                subs.entry(req.tenant.to_string())
                    .or_default()
                    .insert(sub.to_string());
            }
        }
    }
    for (tenant, truth) in &mut r.tenants {
        truth.subs = subs.get(tenant).map_or(0, |s| s.len() as u64);
    }
    r
}

#[test]
fn the_same_seed_writes_the_same_bytes_and_another_seed_others() {
    let (a, _) = run(&options("2026-10", 50, 2_000, 7));
    let (b, _) = run(&options("2026-10", 50, 2_000, 7));
    let (c, _) = run(&options("2026-10", 50, 2_000, 8));
    let (ta, tb, tc) = (tree(a.path()), tree(b.path()), tree(c.path()));
    assert!(ta.len() > 100, "{} files", ta.len());
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (path, bytes) in &ta {
        assert!(tb[path] == *bytes, "{} differs", path.display());
    }
    let same_names = ta.keys().filter(|p| tc.contains_key(*p)).count();
    assert_eq!(same_names, 1, "only simulation.json shares its name");
    assert_ne!(
        ta[Path::new("simulation.json")],
        tc[Path::new("simulation.json")]
    );
}

/// A digest of a small tree, pinned: output must not depend on the machine (or change by
/// accident). If the generator is changed on purpose, update the digest.
#[test]
fn a_small_tree_is_pinned() {
    let (out, _) = run(&options("2025-02", 7, 1_000, 1));
    let mut all = Vec::new();
    for (path, bytes) in tree(out.path()) {
        let names: Vec<&str> = path.iter().map(|c| c.to_str().unwrap()).collect();
        all.extend_from_slice(names.join("/").as_bytes());
        all.push(0);
        all.extend_from_slice(&bytes);
    }
    assert_eq!(
        metering_gen::artifacts::sha256_hex(&all),
        "4956789e6eb189bb016a6bed77c037bb06f0b68cbe2beee904bc84cd919dbc31",
        "the simulated tree changed"
    );
}

#[test]
fn every_line_is_an_access_log_record_of_the_month_in_its_arrival_folder() {
    let month: Month = "2026-12".parse().unwrap();
    let (out, summary) = run(&options("2026-12", 40, 10_000, 3));
    let r = rescan(out.path(), month);
    assert_eq!(r.lines, summary.lines);
    assert!(r.times.len() as u64 == summary.requests && summary.requests == 10_000);

    // The month's first and last milliseconds, and where they arrived.
    let first = &r
        .copies
        .values()
        .find(|(line, _)| Request::parse(line).unwrap().request_time == month.start_ms());
    let (_, places) = first.expect("a request at 00:00:00.000 on the 1st");
    // In the buffer that November's last records opened.
    assert_eq!(places[0].0, FolderHour::new(2026, 11, 30, 23).unwrap());
    let last = r
        .copies
        .values()
        .find(|(line, _)| Request::parse(line).unwrap().request_time == month.end_ms() - 1);
    let (_, places) = last.expect("a request at 23:59:59.999 on the 31st");
    assert_eq!(places[0].0, FolderHour::new(2027, 1, 1, 0).unwrap());
    assert!(places[0]
        .1
        .starts_with("json-data/year=2027/month=01/day=01/hour=00"));

    // Late arrivals: records of an hour in the next hour's folder.
    let late = r
        .copies
        .values()
        .filter(|(line, places)| {
            let t = Request::parse(line).unwrap().request_time;
            folder_start_ms(places[0].0) > t
        })
        .count();
    assert!(late > 20, "{late} late records");
    // Several files per folder.
    let folders: BTreeSet<FolderHour> = scan(out.path()).iter().map(|f| f.folder()).collect();
    assert!(summary.files as usize > 2 * folders.len());
    // November's last hour, December's, January's first.
    assert_eq!(folders.len(), 1 + 31 * 24 + 1);
}

#[test]
fn the_summary_is_the_truth_of_the_files() {
    let month: Month = "2026-10".parse().unwrap();
    let (out, summary) = run(&options("2026-10", 100, 10_000, 11));
    let r = rescan(out.path(), month);
    assert_eq!(summary.requests, 10_000);
    assert_eq!(r.copies.len() as u64, summary.requests);
    assert_eq!(r.duplicates, summary.duplicate_lines);
    assert_eq!(r.malformed, summary.malformed_lines);
    assert_eq!(r.lines, summary.lines);
    assert_eq!(r.previous_month, summary.previous_month_lines);
    assert_eq!(
        summary.lines,
        summary.requests
            + summary.duplicate_lines
            + summary.malformed_lines
            + summary.previous_month_lines
    );
    assert_eq!(r.files, summary.files);
    assert_eq!(r.bytes, summary.bytes);
    assert_eq!(r.line_bytes, summary.line_bytes);
    assert_eq!(summary.bytes, summary.line_bytes);
    assert_eq!(r.tenants, summary.tenants);
    assert_eq!(summary.month, "2026-10");
    assert_eq!(summary.seed, 11);

    // simulation.json: outside the log folder, the same truth, keys sorted.
    let text = std::fs::read_to_string(out.path().join("simulation.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json, serde_json::to_value(&summary).unwrap());
    fn sorted(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Object(m) => {
                m.keys().zip(m.keys().skip(1)).all(|(a, b)| a < b) && m.values().all(sorted)
            }
            _ => true,
        }
    }
    assert!(sorted(&json), "{text}");
    assert!(text.ends_with("}\n"));
    assert!(!scan(out.path())
        .iter()
        .any(|f| f.path.ends_with("simulation.json")));
}

#[test]
fn traffic_looks_like_a_saas_api() {
    let month: Month = "2026-10".parse().unwrap();
    let (out, summary) = run(&options("2026-10", 200, 20_000, 5));
    let r = rescan(out.path(), month);

    // Every tenant, skewed: a few big ones.
    let tenants = &summary.tenants;
    assert_eq!(tenants.len(), 201);
    assert!(tenants.contains_key(UNASSIGNED));
    assert!(tenants.contains_key("tenant-0001") && tenants.contains_key("tenant-0200"));
    let mut sizes: Vec<u64> = tenants
        .iter()
        .filter(|(k, _)| *k != UNASSIGNED)
        .map(|(_, t)| t.requests)
        .collect();
    sizes.sort_unstable();
    assert!(sizes[0] >= 1);
    assert!(sizes[199] > 20 * sizes[100], "{sizes:?}");
    assert!(tenants.values().all(|t| t.subs <= 50));
    assert!(tenants.values().any(|t| t.subs >= 20));

    // About 1 % without a tenant plus 0.5 % unauthenticated.
    let unassigned = tenants[UNASSIGNED].requests;
    assert!((200..450).contains(&unassigned), "{unassigned}");
    let mut statuses: BTreeMap<i64, u64> = BTreeMap::new();
    let mut methods: BTreeMap<String, u64> = BTreeMap::new();
    let mut paths: BTreeSet<String> = BTreeSet::new();
    let mut max_length = 0;
    for (line, _) in r.copies.values() {
        let req = Request::parse(line).unwrap();
        *statuses.entry(req.status.unwrap()).or_default() += 1;
        *methods
            .entry(req.http_method.unwrap().to_string())
            .or_default() += 1;
        paths.insert(req.resource_path.unwrap().to_string());
        max_length = max_length.max(req.response_length.unwrap());
    }
    assert!((60..150).contains(&statuses[&401]), "{statuses:?}");
    assert!(statuses[&200] > 17_000, "{statuses:?}");
    for s in [201, 204, 400, 403, 404, 429, 500, 502, 503] {
        assert!(statuses.contains_key(&s), "no {s}: {statuses:?}");
    }
    assert!(methods["GET"] > 15_000 && methods.len() == 4, "{methods:?}");
    assert_eq!(
        paths,
        BTreeSet::from(
            [
                "/random/strings",
                "/random/numbers",
                "/items",
                "/items/{id}",
                "/health"
            ]
            .map(String::from)
        )
    );
    assert!((50_000..=102_400).contains(&max_length), "{max_length}");

    // Busier afternoons than nights (UTC).
    let at = |hour: i64| {
        r.times
            .iter()
            .filter(|t| t.rem_euclid(86_400_000) / HOUR_MS == hour)
            .count()
    };
    assert!(at(13) > 3 * at(3), "{} vs {}", at(13), at(3));

    // Duplicates: about 0.5 %, byte-identical (checked by the rescan), in the same file, a
    // later file of the folder and the next folder.
    assert!((60..160).contains(&summary.duplicate_lines), "{summary:?}");
    let (mut same_file, mut same_folder, mut next_folder) = (0, 0, 0);
    for (_, places) in r.copies.values().filter(|(_, p)| p.len() > 1) {
        assert_eq!(places.len(), 2);
        let ((f0, p0), (f1, p1)) = (&places[0], &places[1]);
        if p0 == p1 {
            same_file += 1;
        } else if f0 == f1 {
            same_folder += 1;
        } else {
            next_folder += 1;
            // The next hour's folder; from the straddling file, up to two hours on.
            let gap = folder_start_ms(*f1) - folder_start_ms(*f0);
            let straddling = folder_start_ms(*f0) < month.start_ms();
            assert!(
                gap == HOUR_MS || (straddling && gap == 2 * HOUR_MS),
                "{f0:?} {f1:?}"
            );
        }
    }
    assert!(same_file > 0 && same_folder > 0 && next_folder > 0);
    assert!(summary.malformed_lines >= 1);
}

#[test]
fn gzip_holds_the_same_lines() {
    let plain = options("2026-02", 30, 3_000, 9);
    let gzip = SimulateOptions {
        gzip: true,
        ..plain.clone()
    };
    let (p, ps) = run(&plain);
    let (g, gs) = run(&gzip);
    let (pf, gf) = (scan(p.path()), scan(g.path()));
    assert_eq!(pf.len(), gf.len());
    for (a, b) in pf.iter().zip(&gf) {
        assert_eq!(
            format!("{}.gz", a.path.display()),
            b.path.display().to_string()
        );
        assert!(a.text == b.text, "{} differs", b.path.display());
    }
    assert!(gs.bytes < gs.line_bytes, "{gs:?}");
    let plain_names = |files: &[String]| -> Vec<String> {
        files
            .iter()
            .map(|f| f.strip_suffix(".gz").expect("a .gz name").to_string())
            .collect()
    };
    assert_eq!(
        SimulateSummary {
            bytes: ps.bytes,
            late_files: plain_names(&gs.late_files),
            straddling_files: plain_names(&gs.straddling_files),
            ..gs.clone()
        },
        ps
    );
    assert_eq!(rescan(g.path(), plain.month).tenants, gs.tenants);
}

#[test]
fn small_months() {
    // No requests: no files, an empty truth.
    let (out, s) = run(&options("2026-10", 3, 0, 1));
    assert_eq!((s.files, s.lines, s.requests), (0, 0, 0));
    assert!(s.tenants.is_empty());
    assert!(scan(out.path()).is_empty());

    // One request: the month's last millisecond, in the next month's first folder.
    let month: Month = "2026-10".parse().unwrap();
    let (out, s) = run(&options("2026-10", 3, 1, 1));
    let r = rescan(out.path(), month);
    assert_eq!(r.times, [month.end_ms() - 1]);
    assert_eq!((s.requests, s.malformed_lines), (1, 0));
    assert!(s.straddling_files.is_empty() && s.previous_month_lines == 0);
    assert!(scan(out.path())[0]
        .path
        .starts_with("json-data/year=2026/month=11/day=01/hour=00"));

    // As many requests as tenants: one each (bar the unauthenticated and unassigned).
    let (out, s) = run(&options("2026-10", 60, 60, 1));
    let r = rescan(out.path(), month);
    assert_eq!(r.tenants, s.tenants);
    assert_eq!(s.tenants.len(), 60);
    assert!(s.tenants.values().all(|t| t.requests == 1 && t.subs == 1));
    assert_eq!(r.times.first(), Some(&month.start_ms()));
    assert_eq!(r.times.last(), Some(&(month.end_ms() - 1)));

    // Fewer requests than tenants.
    let (out, s) = run(&options("2026-10", 100, 10, 1));
    assert_eq!(rescan(out.path(), month).tenants, s.tenants);
    assert_eq!(s.requests, 10);

    // 1000 requests: at least one malformed line.
    let (_, s) = run(&options("2026-10", 10, 1_000, 1));
    assert!(s.malformed_lines >= 1);
}

#[test]
fn other_folders_and_stream_names() {
    let o = SimulateOptions {
        folder: "logs/raw".into(),
        stream_name: "my-stream".into(),
        ..options("2026-10", 2, 500, 1)
    };
    let out = tempfile::tempdir().unwrap();
    let s = simulate(&o, out.path()).unwrap();
    let files = tree(out.path());
    assert!(files.contains_key(Path::new("simulation.json")));
    for path in files.keys().filter(|p| *p != Path::new("simulation.json")) {
        // October and November, and September's last hour (the straddling file).
        let text = path.to_str().unwrap();
        assert!(
            text.starts_with("logs/raw/year=2026/month=1")
                || text.starts_with("logs/raw/year=2026/month=09/day=30/hour=23/"),
            "{text}"
        );
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("my-stream-1-2026-1")
                || name.starts_with("my-stream-1-2026-09-30-23-"),
            "{name}"
        );
    }
    assert_eq!(s.straddling_files.len(), 1);
    assert!(s.straddling_files[0].starts_with("logs/raw/year=2026/month=09/day=30/hour=23/"));
    assert_eq!(files.len() as u64, s.files + 1);
}

#[test]
fn bad_options_and_used_folders_are_refused() {
    let out = tempfile::tempdir().unwrap();
    let good = options("2026-10", 2, 10, 1);
    for bad in [
        SimulateOptions {
            tenants: 0,
            ..good.clone()
        },
        SimulateOptions {
            folder: "".into(),
            ..good.clone()
        },
        SimulateOptions {
            folder: "../up".into(),
            ..good.clone()
        },
        SimulateOptions {
            folder: "/abs".into(),
            ..good.clone()
        },
        SimulateOptions {
            stream_name: "a/b".into(),
            ..good.clone()
        },
        SimulateOptions {
            stream_name: "".into(),
            ..good.clone()
        },
    ] {
        assert!(simulate(&bad, out.path()).is_err(), "{bad:?}");
    }
    assert!(
        tree(out.path()).is_empty(),
        "nothing written for bad options"
    );

    simulate(&good, out.path()).unwrap();
    let before = tree(out.path());
    let err = simulate(&good, out.path()).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(tree(out.path()), before);
}

/// The `YYYY-MM-DD-HH-MM-SS` of a file name `<stream>-1-<time>-<uuid>[.gz]`.
fn name_time(path: &Path) -> String {
    let name = path.file_name().unwrap().to_str().unwrap();
    name[STREAM.len() + 3..STREAM.len() + 3 + 19].to_string()
}

#[test]
fn the_month_start_straddles_a_file_and_late_deliveries_are_billed() {
    let month: Month = "2026-12".parse().unwrap();
    let (out, summary) = run(&options("2026-12", 40, 10_000, 3));
    let r = rescan(out.path(), month);
    let files = scan(out.path());
    let file = |path: &str| {
        files
            .iter()
            .find(|f| f.path == Path::new(path))
            .unwrap_or_else(|| panic!("{path} is not written"))
    };
    let requests = |f: &LogFile| -> Vec<(String, i64)> {
        f.lines()
            .filter_map(|l| Request::parse(l).ok())
            .map(|r| (r.request_id.to_string(), r.request_time))
            .collect()
    };

    // (a) One file in November's last hour folder, named after its oldest record (23:56 or
    // 23:57): November's last records, then every request of December's first minute.
    assert_eq!(summary.straddling_files.len(), 1, "{summary:?}");
    let straddling = file(&summary.straddling_files[0]);
    assert_eq!(
        straddling.folder(),
        FolderHour::new(2026, 11, 30, 23).unwrap()
    );
    assert!(name_time(&straddling.path).starts_with("2026-11-30-23-5"));
    let in_file = requests(straddling);
    let (november, december): (Vec<_>, Vec<_>) =
        in_file.iter().partition(|(_, t)| *t < month.start_ms());
    assert_eq!(november.len() as u64, summary.previous_month_lines);
    assert_eq!(summary.previous_month_lines, 2);
    assert_eq!(r.previous_month, 2);
    assert_eq!(
        r.previous_month_files,
        BTreeSet::from([straddling.path.clone()])
    );
    assert!(november
        .iter()
        .all(
            |(_, t)| (month.start_ms() - 4 * MINUTE_MS..month.start_ms() - 2 * MINUTE_MS)
                .contains(t)
        ));
    let december: BTreeSet<&(String, i64)> = december.into_iter().collect();
    let first_minute = r
        .times
        .iter()
        .filter(|t| **t < month.start_ms() + MINUTE_MS)
        .count();
    assert!(first_minute >= 1);
    assert_eq!(december.len(), first_minute);
    assert!(december.iter().any(|(_, t)| *t == month.start_ms()));
    // The only file of that folder.
    assert_eq!(
        files
            .iter()
            .filter(|f| f.folder() == straddling.folder())
            .count(),
        1
    );

    // (b) A late object in 10 December's 14:00 folder, which has other files: the latest
    // name there, holding requests of that hour.
    assert_eq!(summary.late_files.len(), 2, "{summary:?}");
    let late = file(&summary.late_files[0]);
    assert_eq!(late.folder(), FolderHour::new(2026, 12, 10, 14).unwrap());
    let others: Vec<&LogFile> = files
        .iter()
        .filter(|f| f.folder() == late.folder() && f.path != late.path)
        .collect();
    assert!(others.len() >= 2, "{} other files", others.len());
    assert!(others
        .iter()
        .all(|f| name_time(&f.path) < name_time(&late.path)));
    let hour = folder_start_ms(late.folder());
    let in_late = requests(late);
    assert!(!in_late.is_empty());
    assert!(in_late
        .iter()
        .all(|(_, t)| (hour..hour + HOUR_MS).contains(t)));

    // (c) 20 December's 11:00 folder: its only file is a late delivery.
    let only = file(&summary.late_files[1]);
    assert_eq!(only.folder(), FolderHour::new(2026, 12, 20, 11).unwrap());
    assert_eq!(
        files.iter().filter(|f| f.folder() == only.folder()).count(),
        1
    );
    let in_only = requests(only);
    assert!(!in_only.is_empty());

    // Their requests are the month's, in the truth.
    for (id, _) in december.iter().copied().chain(&in_late).chain(&in_only) {
        assert!(r.copies.contains_key(id), "{id} is not in the truth");
    }

    // `bill` reads them all: every request of the truth once, November's records outside.
    // The example's access-log meters: its events meter would want an events folder, and
    // this simulation writes none.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut context: serde_json::Value =
        serde_json::from_slice(&std::fs::read(workspace.join("examples/metering.json")).unwrap())
            .unwrap();
    let metering = &mut context["metering"];
    let events: Vec<String> = metering["meters"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, m)| m["source"] == "events")
        .map(|(name, _)| name.clone())
        .collect();
    assert!(!events.is_empty(), "the example has an events meter");
    for name in &events {
        metering["meters"].as_object_mut().unwrap().remove(name);
        for plan in metering["pricing"]["plans"]
            .as_object_mut()
            .unwrap()
            .values_mut()
        {
            if let Some(charges) = plan["charges"].as_object_mut() {
                charges.remove(name);
            }
        }
    }
    let access_logs_only = out.path().join("metering-access-logs.json");
    std::fs::write(&access_logs_only, context.to_string()).unwrap();
    let config = metering_gen::offline::bill::load_config(&access_logs_only).unwrap();
    let logs = out.path().join(FOLDER);
    let folders = metering_gen::offline::bill::Folders {
        logs: Some(&logs),
        events: None,
    };
    let (usage, reports) = metering_gen::offline::bill::measure(&config, folders, month).unwrap();
    let [report] = &reports[..] else {
        panic!("one source read: {reports:?}")
    };
    assert_eq!(report.counts.billed, summary.requests);
    assert_eq!(report.counts.outside_month, summary.previous_month_lines);
    assert_eq!(report.counts.duplicates, summary.duplicate_lines);
    assert_eq!(report.malformed, summary.malformed_lines);
    assert_eq!(
        usage.tenants.keys().collect::<Vec<_>>(),
        summary.tenants.keys().collect::<Vec<_>>()
    );
    for (tenant, truth) in &summary.tenants {
        assert_eq!(
            usage.tenants[tenant]["active_users"],
            truth.subs.into(),
            "{tenant}"
        );
    }
}

#[test]
fn the_binary_writes_what_the_library_writes() {
    let by_library = run(&SimulateOptions {
        gzip: true,
        folder: "logs".into(),
        stream_name: "s".into(),
        ..options("2026-03", 5, 800, 4)
    });
    let out = tempfile::tempdir().unwrap();
    let cli = Command::new(env!("CARGO_BIN_EXE_simulate"))
        .args([
            "--tenants",
            "5",
            "--requests",
            "800",
            "--month",
            "2026-03",
            "--seed",
            "4",
        ])
        .args(["--gzip", "--folder", "logs", "--stream-name", "s", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(cli.status.success(), "{cli:?}");
    assert_eq!(tree(out.path()), tree(by_library.0.path()));
    let stdout = String::from_utf8(cli.stdout).unwrap();
    let summary = &by_library.1;
    assert!(
        stdout.contains(&format!(
            ": {} files, {} lines ({} bytes): {} requests of {} tenants, ",
            summary.files,
            summary.lines,
            summary.bytes,
            summary.requests,
            summary.tenants.len()
        )),
        "{stdout}"
    );

    let again = Command::new(env!("CARGO_BIN_EXE_simulate"))
        .args(["--month", "2026-03", "--folder", "logs", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(3), "{again:?}");
    let stderr = String::from_utf8(again.stderr).unwrap();
    assert!(stderr.contains("not empty"), "{stderr}");
}

// Usage events: what the API's backend sends to a second Firehose stream.

const EVENTS: &str = "usage-events";
const EVENT_STREAM: &str = "amazon-apigateway-random-gen-events";
const DAY_MS: i64 = 24 * HOUR_MS;

fn with_events(o: SimulateOptions) -> SimulateOptions {
    SimulateOptions {
        events_folder: Some(EVENTS.into()),
        ..o
    }
}

/// Re-reads the usage events of a tree: every line checked, and the truth recomputed.
#[derive(Debug, Default)]
struct EventRescan {
    files: u64,
    bytes: u64,
    lines: u64,
    duplicates: u64,
    /// Bad events by what is wrong: `id`, `tenant`, `value` or `window`.
    bad: BTreeMap<&'static str, u64>,
    /// By id: the distinct good events, with where each copy was found.
    copies: HashMap<String, Copies>,
    /// Per tenant, the distinct events of the month: how many, and the sum of their values
    /// (units of 10^-9).
    tenants: BTreeMap<String, (u64, u128)>,
    /// Distinct events whose time is in the next month.
    next_month: u64,
    /// Distinct events by how their time, value and model are written.
    forms: BTreeMap<&'static str, u64>,
}

fn rescan_events(out: &Path, month: Month) -> EventRescan {
    use metering::{Event, EventError, Window};
    let window = |month| Window {
        month,
        late_arrival_hours: metering::DEFAULT_LATE_ARRIVAL_HOURS,
    };
    let mut r = EventRescan::default();
    for file in scan_in(out, EVENTS) {
        let name = file.path.file_name().unwrap().to_str().unwrap();
        let folder = file.folder();
        let f = format!(
            "{EVENT_STREAM}-1-{:04}-{:02}-{:02}-{:02}-",
            folder.year, folder.month, folder.day, folder.hour
        );
        assert!(name.starts_with(&f), "{name} is not named after {f}…");
        let rest = name[f.len()..].trim_end_matches(".gz");
        assert!(
            rest.len() == 42 && rest.as_bytes()[2] == b'-' && rest.as_bytes()[5] == b'-',
            "{name}"
        );
        assert!(is_uuid(&rest[6..]), "{name}");
        assert!(!file.text.is_empty(), "{name} is empty");
        // Every file is one the month's bill reads.
        assert!(window(month).reads_folder(folder), "{name}");
        r.files += 1;
        r.bytes += file.size;
        for line in file.lines() {
            r.lines += 1;
            let event = match Event::parse(line) {
                Ok(event) => event,
                Err(e) => {
                    let what = match e {
                        EventError::NoId => "id",
                        EventError::NoTenant => "tenant",
                        EventError::Value(_) => "value",
                        e => panic!("{e}: {}", String::from_utf8_lossy(line)),
                    };
                    *r.bad.entry(what).or_default() += 1;
                    continue;
                }
            };
            let time = event.time_ms;
            let of_time = Month::containing(time).unwrap();
            if !window(of_time).reads_folder(folder) {
                // Outside any window: long before its arrival.
                assert!(time < folder_start_ms(folder) - 31 * DAY_MS, "{event:?}");
                *r.bad.entry("window").or_default() += 1;
                continue;
            }

            // The exact format: key order, spacing, values.
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
            assert_eq!(
                keys,
                ["id", "tenant", "type", "time", "value", "properties"],
                "{v}"
            );
            let text = std::str::from_utf8(line).unwrap();
            assert!(text.starts_with("{\"id\": \""), "{text}");
            assert!(is_uuid(&event.id), "{text}");
            assert!(event.tenant.starts_with("tenant-"), "{text}");
            assert_eq!(event.event_type, "tokens.generated");
            assert_eq!(event.properties.len(), 1, "{text}");
            let model = &*event.properties["model"];
            assert!(model == "small" || model == "large", "{text}");
            // The time of a request of the month, up to 2 s later; arrived within a minute,
            // or (a retry) up to the end of the next hour.
            assert!(
                (month.start_ms()..month.end_ms() + 2_000).contains(&time),
                "{text}"
            );
            let lateness = folder_start_ms(folder) - time.div_euclid(HOUR_MS) * HOUR_MS;
            assert!(lateness == 0 || lateness == HOUR_MS, "{text} in {folder:?}");
            let value = event.value.expect("a value");
            assert!((1..=4_000_000_000_000).contains(&value), "{text}");
            assert_eq!(value % 1_000_000, 0, "at most 3 digits after the point");

            let entry = r
                .copies
                .entry(event.id.to_string())
                .or_insert_with(|| (line.to_vec(), Vec::new()));
            assert_eq!(entry.0, line, "copies of an event differ");
            entry.1.push((folder, file.path.clone()));
            if entry.1.len() > 1 {
                r.duplicates += 1;
                continue;
            }
            let forms = [
                if v["time"].is_u64() {
                    "epoch time"
                } else {
                    let t = v["time"].as_str().unwrap();
                    assert!(t.len() == 24 && t.ends_with('Z'), "{text}");
                    "rfc3339 time"
                },
                match (v["value"].is_string(), value % 1_000_000_000 == 0) {
                    (false, true) => "integer",
                    (true, true) => "integer text",
                    (false, false) => "decimal",
                    (true, false) => "decimal text",
                },
                if model == "small" { "small" } else { "large" },
            ];
            for form in forms {
                *r.forms.entry(form).or_default() += 1;
            }
            if month.end_ms() <= time {
                r.next_month += 1;
                continue;
            }
            let truth = r.tenants.entry(event.tenant.to_string()).or_default();
            truth.0 += 1;
            truth.1 += value;
        }
    }
    r
}

#[test]
fn usage_events_are_the_truth_of_their_files() {
    let month: Month = "2026-12".parse().unwrap();
    let (out, summary) = run(&with_events(options("2026-12", 40, 10_000, 3)));
    let r = rescan_events(out.path(), month);
    let events = summary.events.unwrap();
    let next_month = summary.next_month_events.unwrap();
    assert_eq!(Some(r.files), summary.event_files);
    assert_eq!(Some(r.bytes), summary.event_bytes);
    assert_eq!(Some(r.lines), summary.event_lines);
    assert_eq!(r.copies.len() as u64, events + next_month);
    assert_eq!(r.next_month, next_month);
    assert_eq!(Some(r.duplicates), summary.duplicate_event_lines);
    assert_eq!(Some(r.bad.values().sum::<u64>()), summary.bad_events);
    assert_eq!(
        summary.event_lines,
        Some(
            events
                + next_month
                + summary.duplicate_event_lines.unwrap()
                + summary.bad_events.unwrap()
        )
    );

    // Per tenant: the events of the month and the exact sum of their values.
    for (tenant, truth) in &summary.tenants {
        let (count, sum) = r.tenants.get(tenant).copied().unwrap_or_default();
        assert_eq!(truth.events, Some(count), "{tenant}");
        assert_eq!(truth.tokens, metering::amount_decimal(sum), "{tenant}");
        // One event per successful request, and only for tenants.
        if tenant == UNASSIGNED {
            assert_eq!(count, 0);
        } else {
            assert!(count <= truth.status_2xx, "{tenant}");
        }
    }
    assert!(r.tenants.keys().all(|t| summary.tenants.contains_key(t)));
    let successes: u64 = summary
        .tenants
        .iter()
        .filter(|(t, _)| *t != UNASSIGNED)
        .map(|(_, t)| t.status_2xx)
        .sum();
    assert_eq!(successes, events + next_month);
    assert!(events > 9_000, "{summary:?}");
    // Tokens are exact decimals, some with digits after the point; in the JSON as strings.
    let tokens: Vec<String> = summary
        .tenants
        .values()
        .map(|t| t.tokens.unwrap().to_string())
        .collect();
    assert!(tokens.iter().any(|t| t.contains('.')), "{tokens:?}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("simulation.json")).unwrap())
            .unwrap();
    assert_eq!(json, serde_json::to_value(&summary).unwrap());
    for (tenant, truth) in &summary.tenants {
        let shown = &json["tenants"][tenant];
        assert_eq!(shown["tokens"], truth.tokens.unwrap().to_string());
        assert_eq!(shown["events"], truth.events.unwrap());
    }
    assert_eq!(json["events"], events);
    assert_eq!(json["bad_events"], summary.bad_events.unwrap());

    // Both time forms, about half each; about 1 in 10 values a decimal, as a number or a
    // string; both models.
    let distinct = r.copies.len() as u64;
    let form = |name: &str| r.forms.get(name).copied().unwrap_or_default();
    assert_eq!(form("epoch time") + form("rfc3339 time"), distinct);
    assert!(
        (distinct * 4 / 10..distinct * 6 / 10).contains(&form("epoch time")),
        "{:?}",
        r.forms
    );
    let decimals = form("decimal") + form("decimal text");
    assert!(
        (distinct / 20..distinct * 3 / 20).contains(&decimals),
        "{:?}",
        r.forms
    );
    for name in [
        "integer",
        "integer text",
        "decimal",
        "decimal text",
        "small",
        "large",
    ] {
        assert!(form(name) > 0, "no {name}: {:?}", r.forms);
    }

    // Duplicates: about 0.5 %, byte-identical (checked by the rescan), in the same file, a
    // later file of the folder and the next folder.
    let duplicates = summary.duplicate_event_lines.unwrap();
    assert!(
        (distinct / 400..distinct / 100).contains(&duplicates),
        "{summary:?}"
    );
    let (mut same_file, mut same_folder, mut next_folder) = (0, 0, 0);
    for (_, places) in r.copies.values().filter(|(_, p)| p.len() > 1) {
        assert_eq!(places.len(), 2);
        let ((f0, p0), (f1, p1)) = (&places[0], &places[1]);
        if p0 == p1 {
            same_file += 1;
        } else if f0 == f1 {
            same_folder += 1;
        } else {
            next_folder += 1;
            assert_eq!(folder_start_ms(*f1) - folder_start_ms(*f0), HOUR_MS);
        }
    }
    assert!(
        same_file > 0 && same_folder > 0 && next_folder > 0,
        "{same_file} {same_folder} {next_folder}"
    );

    // At least one bad event of each kind.
    for what in ["id", "tenant", "value", "window"] {
        assert!(r.bad.get(what).is_some_and(|n| *n >= 1), "{:?}", r.bad);
    }
    assert!(summary.bad_events.unwrap() < 20, "{summary:?}");

    // Several files per folder, the month's and the next month's first hour (no straddling).
    let files = scan_in(out.path(), EVENTS);
    let folders: BTreeSet<FolderHour> = files.iter().map(|f| f.folder()).collect();
    assert!(summary.event_files.unwrap() as usize > 2 * folders.len());
    assert_eq!(folders.first(), FolderHour::new(2026, 12, 1, 0).as_ref());
    assert_eq!(folders.last(), FolderHour::new(2027, 1, 1, 0).as_ref());
}

#[test]
fn bill_finds_the_truth_of_the_usage_events() {
    let month: Month = "2026-12".parse().unwrap();
    let (out, summary) = run(&with_events(options("2026-12", 40, 10_000, 3)));
    let config: metering::Config = serde_json::from_str(
        r#"{"meters": {
                "tokens": {"source": "events", "event_type": "tokens.generated", "aggregation": "sum", "unit": "tokens"},
                "requests": {"aggregation": "count"}},
            "pricing": {"default_plan": "p", "plans": {"p": {"currency": "EUR"}}}}"#,
    )
    .unwrap();
    let config = config.validate().unwrap();
    let (logs, events) = (out.path().join(FOLDER), out.path().join(EVENTS));
    let folders = metering_gen::offline::bill::Folders {
        logs: Some(&logs),
        events: Some(&events),
    };
    let (usage, reports) = metering_gen::offline::bill::measure(&config, folders, month).unwrap();
    let [logs_report, events_report] = &reports[..] else {
        panic!("two sources read: {reports:?}")
    };
    assert_eq!(logs_report.source, metering::Source::AccessLog);
    assert_eq!(logs_report.counts.billed, summary.requests);
    assert_eq!(logs_report.malformed, summary.malformed_lines);

    let r = events_report;
    assert_eq!(r.source, metering::Source::Events);
    assert_eq!(Some(r.counts.billed), summary.events);
    assert_eq!(Some(r.counts.outside_month), summary.next_month_events);
    assert_eq!(Some(r.counts.duplicates), summary.duplicate_event_lines);
    assert_eq!(Some(r.malformed), summary.bad_events);
    assert_eq!(
        r.counts.records,
        r.counts.billed + r.counts.outside_month + r.counts.duplicates
    );
    assert_eq!(Some(r.lines), summary.event_lines);
    assert_eq!(Some(r.files_read), summary.event_files);
    assert_eq!(r.files_outside_window, 0);
    assert!(r.files_not_in_layout.is_empty());
    // Each kind of bad event, reported with its file and line.
    let reasons: Vec<&str> = r
        .malformed_shown
        .iter()
        .map(|m| m.reason.as_str())
        .collect();
    assert_eq!(reasons.len() as u64, r.malformed, "{reasons:?}");
    for reason in [
        "no `id`",
        "no `tenant`",
        "`value` \"abc\"",
        "no bill counts it",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(reason)),
            "no {reason}: {reasons:?}"
        );
    }
    assert!(r.malformed_shown.iter().all(|m| m.line >= 1
        && m.file.starts_with(&events)
        && m.file.to_str().unwrap().contains(EVENT_STREAM)));

    // Every tenant of the truth (and no other), with its requests and its exact tokens.
    assert_eq!(
        usage.tenants.keys().collect::<Vec<_>>(),
        summary.tenants.keys().collect::<Vec<_>>()
    );
    for (tenant, truth) in &summary.tenants {
        let billed = &usage.tenants[tenant];
        assert_eq!(billed["tokens"], truth.tokens.unwrap(), "{tenant}");
        assert_eq!(billed["requests"], truth.requests.into(), "{tenant}");
    }
    let total: metering::pricing::Decimal =
        summary.tenants.values().map(|t| t.tokens.unwrap()).sum();
    assert!(total > 1_000_000.into(), "{total}");
}

#[test]
fn usage_events_leave_the_access_logs_as_they_are() {
    let plain = options("2026-10", 50, 2_000, 7);
    let (a, sa) = run(&with_events(plain.clone()));
    let (b, sb) = run(&with_events(plain.clone()));
    let (p, sp) = run(&plain);
    let (ta, tb, tp) = (tree(a.path()), tree(b.path()), tree(p.path()));

    // The same options, the same bytes.
    assert_eq!(sa, sb);
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (path, bytes) in &ta {
        assert!(tb[path] == *bytes, "{} differs", path.display());
    }
    let event_files = ta.keys().filter(|p| p.starts_with(EVENTS)).count() as u64;
    assert!(event_files > 100, "{event_files} event files");
    assert_eq!(Some(event_files), sa.event_files);

    // The access logs are those of a run without events, byte for byte.
    let logs: BTreeMap<&PathBuf, &Vec<u8>> =
        ta.iter().filter(|(p, _)| p.starts_with(FOLDER)).collect();
    let plain_logs: BTreeMap<&PathBuf, &Vec<u8>> =
        tp.iter().filter(|(p, _)| p.starts_with(FOLDER)).collect();
    assert_eq!(logs.len() as u64, sp.files);
    assert!(logs == plain_logs, "the access logs differ");
    assert_eq!(tp.len() as u64, sp.files + 1);

    // So is the truth, but for the events' fields; without events, none of them.
    let without_events = SimulateSummary {
        bad_events: None,
        duplicate_event_lines: None,
        event_bytes: None,
        event_files: None,
        event_lines: None,
        events: None,
        next_month_events: None,
        tenants: sa
            .tenants
            .iter()
            .map(|(t, truth)| {
                let truth = TenantTruth {
                    events: None,
                    tokens: None,
                    ..truth.clone()
                };
                (t.clone(), truth)
            })
            .collect(),
        ..sa.clone()
    };
    assert_eq!(without_events, sp);
    let plain_json = String::from_utf8(tp[Path::new("simulation.json")].clone()).unwrap();
    assert!(
        !plain_json.contains("event") && !plain_json.contains("tokens"),
        "{plain_json}"
    );
    assert!(sa.tenants.values().all(|t| t.tokens.is_some()));

    // Another seed, other events.
    let (c, _) = run(&with_events(options("2026-10", 50, 2_000, 8)));
    let tc = tree(c.path());
    assert!(!ta
        .keys()
        .any(|p| p.starts_with(EVENTS) && tc.contains_key(p)));
}

#[test]
fn usage_events_of_small_months() {
    let month: Month = "2026-10".parse().unwrap();
    // No requests: no events, zeros in the truth.
    let (out, s) = run(&with_events(options("2026-10", 3, 0, 1)));
    assert_eq!(
        (s.events, s.event_files, s.event_lines, s.bad_events),
        (Some(0), Some(0), Some(0), Some(0))
    );
    assert!(scan_in(out.path(), EVENTS).is_empty());

    // A few requests: one event each for the successful ones of a tenant, perhaps a bad one.
    let (out, s) = run(&with_events(options("2026-10", 5, 300, 2)));
    let r = rescan_events(out.path(), month);
    assert_eq!(Some(r.copies.len() as u64 - r.next_month), s.events);
    assert_eq!(Some(r.lines), s.event_lines);
    for (tenant, truth) in &s.tenants {
        let (count, sum) = r.tenants.get(tenant).copied().unwrap_or_default();
        assert_eq!(
            (truth.events, truth.tokens),
            (Some(count), metering::amount_decimal(sum))
        );
    }
}

#[test]
fn the_binary_writes_usage_events_when_asked() {
    let by_library = run(&SimulateOptions {
        gzip: true,
        stream_name: "s".into(),
        events_folder: Some("ev/raw".into()),
        ..options("2026-03", 5, 800, 4)
    });
    let out = tempfile::tempdir().unwrap();
    let cli = Command::new(env!("CARGO_BIN_EXE_simulate"))
        .args([
            "--tenants",
            "5",
            "--requests",
            "800",
            "--month",
            "2026-03",
            "--seed",
            "4",
        ])
        .args(["--gzip", "--stream-name", "s", "--events-folder", "ev/raw"])
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(cli.status.success(), "{cli:?}");
    let written = tree(out.path());
    assert_eq!(written, tree(by_library.0.path()));
    let summary = &by_library.1;
    let event_files: Vec<&PathBuf> = written.keys().filter(|p| p.starts_with("ev/raw")).collect();
    assert_eq!(Some(event_files.len() as u64), summary.event_files);
    assert!(event_files.iter().all(|p| {
        let name = p.file_name().unwrap().to_str().unwrap();
        name.starts_with("s-events-1-2026-0") && name.ends_with(".gz")
    }));
    let stdout = String::from_utf8(cli.stdout).unwrap();
    assert!(
        stdout.contains(&format!(
            "; {}: {} files, {} lines ({} bytes): {} usage events billed in the month, {} in the next, {} duplicate lines, {} bad events; ",
            out.path().join("ev/raw").display(),
            summary.event_files.unwrap(),
            summary.event_lines.unwrap(),
            summary.event_bytes.unwrap(),
            summary.events.unwrap(),
            summary.next_month_events.unwrap(),
            summary.duplicate_event_lines.unwrap(),
            summary.bad_events.unwrap(),
        )),
        "{stdout}"
    );
}

#[test]
fn events_folders_are_checked() {
    let out = tempfile::tempdir().unwrap();
    let good = with_events(options("2026-10", 2, 10, 1));
    for (folder, events) in [
        (FOLDER, FOLDER),
        (FOLDER, "json-data/events"),
        ("logs/raw", "logs"),
        (FOLDER, ""),
        (FOLDER, "../events"),
        (FOLDER, "/events"),
    ] {
        let bad = SimulateOptions {
            folder: folder.into(),
            events_folder: Some(events.into()),
            ..good.clone()
        };
        assert!(simulate(&bad, out.path()).is_err(), "{bad:?}");
    }
    assert!(tree(out.path()).is_empty(), "nothing written");

    // A used events folder is refused before anything is written.
    std::fs::create_dir_all(out.path().join(EVENTS)).unwrap();
    std::fs::write(out.path().join(EVENTS).join("old"), "x").unwrap();
    let err = simulate(&good, out.path()).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(tree(out.path()).len(), 1);
    assert!(!out.path().join(FOLDER).exists());

    // Folders side by side are fine.
    let out = tempfile::tempdir().unwrap();
    let apart = SimulateOptions {
        folder: "data/logs".into(),
        events_folder: Some("data/events".into()),
        ..good
    };
    let s = simulate(&apart, out.path()).unwrap();
    assert!(s.events.is_some());
}
