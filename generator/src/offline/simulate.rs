//! Synthetic access logs in Firehose's folder layout.
//!
//! [`simulate`] writes what the stack's Firehose delivery stream would have written to S3 for
//! one month of traffic, for demos, tests and benchmarks of `metering-gen bill`:
//!
//! ```text
//! <out>/<folder>/year=YYYY/month=MM/day=DD/hour=HH/<stream>-1-YYYY-MM-DD-HH-MM-SS-<uuid>[.gz]
//! <out>/simulation.json      the ground truth (a SimulateSummary), outside <folder>
//! ```
//!
//! Each file holds one API Gateway access-log record per line, in the format the stack's
//! access-log setting produces:
//!
//! ```text
//! {"requestId": "…", "ip": "…", "user": "…", "requestTime": 1764291600123, "httpMethod": "GET", "resourcePath": "/random/strings", "status": 200, "protocol": "HTTP/1.1", "responseLength": 1234, "tenant": "tenant-0003", "sub": "…"}
//! ```
//!
//! The model:
//! - request times are spread over the month minute by minute following a daily rhythm
//!   (UTC; quieter nights and weekends, a little noise per day and hour); the month always
//!   holds a request at 00:00:00.000 on its first day and one at 23:59:59.999 on its last;
//! - a record *arrives* 0.1–300 s after its request time (skewed to short delays) and lands in
//!   the file of the 5-minute Firehose buffer interval it arrived in, in the folder of that
//!   interval's hour, so the last minutes of an hour partly land in the next hour's folder and
//!   the month's last requests in the next month's `day=01/hour=00`; a buffer that reaches
//!   5 MiB is written out early, as Firehose does;
//! - a file is named after the arrival time of its earliest record (to the second) and a
//!   UUID drawn from the seed, as Firehose names objects ("the approximate arrival timestamp
//!   of the oldest record", Firehose Developer Guide, "Custom prefixes for Amazon S3
//!   objects"), and filed in the folder of that hour;
//! - the buffer open at midnight straddles the month's start (when `requests >= 2`): it was
//!   opened by [`PREVIOUS_MONTH_RECORDS`] records of the previous month's last minutes
//!   (23:56–23:58, not the month's: they are counted apart, in `previous_month_lines`) and
//!   takes every record of the month's first minute (the request at 00:00:00.000 included), so
//!   its file is in the previous month's last hour folder (`straddling_files`);
//! - late deliveries (`late_files`): the records that arrive in the last quarter of
//!   [`LATE_OBJECT_HOUR`] go to a second object of that hour's folder, named after its own
//!   oldest record and so later than every other file there (the shape of a delivery made
//!   after the hour was compacted); and [`LATE_ONLY_HOUR`] has no file but one such object
//!   that holds every record arriving in that hour (as if the hour had been delivered late
//!   in one piece; a second one past 5 MiB);
//! - tenants `tenant-0001`… have Zipf-distributed (s = 1, ranks shuffled) request counts and
//!   1–50 users each (skewed), each user with a stable name `user-TTTT-UUUU`, `sub` (a UUID)
//!   and source IP (mostly; some requests come from elsewhere). When `requests >= tenants`
//!   every tenant makes at least one request;
//! - about 1 % of requests carry no tenant claim (`"tenant": "-"`, from a pool of users
//!   `user-0000-UUUU` without one) and about 0.5 % are unauthenticated 401s (`user`, `sub` and
//!   `tenant` all `-`);
//! - about 0.5 % of records are written twice, byte for byte (a Firehose retry): in the same
//!   file, a later file of the hour, or the next hour's folder;
//! - about 1 line in 100 000 (at least one when `requests >= 1000`) is malformed: a truncated
//!   copy of a record (which is also written whole) or a line that is not JSON.
//!
//! Output depends on the options only: a ChaCha8 generator seeded with `seed`, integer
//! arithmetic only (no floating point, whose functions differ between platforms) and no
//! hash-map iteration, so the same options give byte-identical files on every machine.
//! Memory does not grow with `requests`: the month is generated in time order and only the
//! buffers of the next couple of hours are held.

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Datelike, NaiveDate, Weekday};
use flate2::write::GzEncoder;
use flate2::Compression;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulateOptions {
    /// Tenants `tenant-0001`…; at least 1.
    pub tenants: u32,
    /// Distinct requests in the month (duplicates and malformed lines come on top).
    pub requests: u64,
    pub month: metering::Month,
    pub seed: u64,
    /// Compress each file with gzip and add `.gz`, as Firehose's GZIP delivery does.
    pub gzip: bool,
    /// The Firehose output folder under `out`, e.g. `json-data`: a relative path.
    pub folder: String,
    /// The delivery stream's name, the start of every file name.
    pub stream_name: String,
}

/// The truth about one tenant's distinct requests of the month.
///
/// Fields are in alphabetical order so that `simulation.json` has sorted keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TenantTruth {
    /// Sum of `responseLength`.
    pub bytes: u64,
    pub requests: u64,
    /// Requests whose status is 2xx.
    pub status_2xx: u64,
    /// Distinct `sub`s (`-` not counted).
    pub subs: u64,
}

/// What [`simulate`] wrote: the ground truth `bill` should find.
///
/// Fields are in alphabetical order so that `simulation.json` has sorted keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimulateSummary {
    /// Bytes of the files as stored (compressed when gzip).
    pub bytes: u64,
    /// Second copies of records (each duplicated record is written exactly twice).
    pub duplicate_lines: u64,
    pub files: u64,
    /// Files written as late deliveries (paths below `out`, `/`-separated): the second object
    /// of [`LATE_OBJECT_HOUR`] and the only one of [`LATE_ONLY_HOUR`], when those hours have
    /// records. Their requests are among `requests`.
    pub late_files: Vec<String>,
    /// Bytes of the lines, newlines included (uncompressed).
    pub line_bytes: u64,
    /// Lines written: requests + duplicate lines + malformed lines + previous month lines.
    pub lines: u64,
    /// Lines that are not a usable record.
    pub malformed_lines: u64,
    /// `YYYY-MM`.
    pub month: String,
    /// Records of the previous month's last minutes in the straddling file: not the month's
    /// requests (a bill of the month counts them outside it), each written once.
    pub previous_month_lines: u64,
    /// Distinct requests, all inside the month.
    pub requests: u64,
    pub seed: u64,
    /// The file that straddles the month's start (a path below `out`): in the previous
    /// month's last hour folder, with the previous month's last records and the month's
    /// first minute's. Empty when `requests < 2`.
    pub straddling_files: Vec<String>,
    /// Per tenant with at least one request; requests without a tenant (`"tenant": "-"`,
    /// 401s included) under [`metering::UNASSIGNED`].
    pub tenants: BTreeMap<String, TenantTruth>,
}

/// The summary's file name in `out`.
pub const SUMMARY_FILE: &str = "simulation.json";

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
/// Firehose's buffer interval: one file per interval that has records.
const FILE_SPAN_MS: i64 = 300_000;
/// Firehose's buffer size: a buffer this big is written out before its interval ends.
const FILE_MAX_BYTES: usize = 5 << 20;
const MIN_DELAY_MS: u64 = 100;
const MAX_DELAY_MS: u64 = 300_000;
/// How late a retried copy may come after the original (capped at the end of the hour after
/// the request's hour).
const MAX_RETRY_MS: u64 = 900_000;
const MAX_USERS: u64 = 50;
const UNASSIGNED_USERS: u32 = 20;
/// Records of the previous month (23:56–23:58 on its last day) that open the buffer that
/// straddles the month's start.
pub const PREVIOUS_MONTH_RECORDS: u64 = 2;
/// (day of the month, hour), UTC: the hour whose records arriving in its last
/// [`LATE_OBJECT_MS`] go to a second, later object of its folder.
pub const LATE_OBJECT_HOUR: (u32, u32) = (10, 14);
const LATE_OBJECT_MS: i64 = 15 * MINUTE_MS;
/// (day of the month, hour), UTC: the hour whose only file is a late delivery.
pub const LATE_ONLY_HOUR: (u32, u32) = (20, 11);

// Rates in parts per million.
const PPM: u64 = 1_000_000;
const UNAUTHENTICATED_PPM: u64 = 5_000;
const NO_TENANT_PPM: u64 = 10_000;
const DUPLICATE_PPM: u64 = 5_000;
const MALFORMED_PPM: u64 = 10;
const ROAMING_PPM: u64 = 100_000;

/// Relative traffic per hour of the day, UTC.
const HOUR_OF_DAY: [u64; 24] = [
    22, 18, 15, 14, 14, 16, 22, 35, 55, 75, 88, 95, 100, 98, 95, 96, 94, 90, 80, 68, 55, 45, 35, 28,
];

/// (method, resource path, weight in ppm).
const ROUTES: [(&str, &str, u64); 8] = [
    ("GET", "/random/strings", 400_000),
    ("GET", "/random/numbers", 250_000),
    ("GET", "/items", 120_000),
    ("POST", "/items", 60_000),
    ("GET", "/items/{id}", 90_000),
    ("PUT", "/items/{id}", 30_000),
    ("DELETE", "/items/{id}", 20_000),
    ("GET", "/health", 30_000),
];

/// (error status, weight in ppm, weight in ppm for `/items/{id}`).
const ERRORS: [(u16, u64, u64); 7] = [
    (400, 8_000, 8_000),
    (403, 3_000, 3_000),
    (404, 4_000, 50_000),
    (429, 7_000, 7_000),
    (500, 2_000, 2_000),
    (502, 1_000, 1_000),
    (503, 2_000, 2_000),
];

/// Lines a misconfigured or failing writer could leave in a log.
const NOT_JSON: [&str; 4] = [
    "Internal Server Error",
    "<html><body><h1>502 Bad Gateway</h1></body></html>",
    "203.0.113.7 - - [01/Oct/2026:00:00:00 +0000] \"GET /random/strings HTTP/1.1\" 200 1234",
    "requestId=unknown status=500 message=\"Execution failed due to configuration error\"",
];

/// Writes one month of synthetic access logs under `out` (see the module documentation) and
/// the ground truth to `out/simulation.json`, and returns that truth.
///
/// Refuses to write into a `<out>/<folder>` that exists and is not empty, so that the truth
/// always describes every file in it.
pub fn simulate(options: &SimulateOptions, out: &Path) -> Result<SimulateSummary> {
    check(options)?;
    let root = out.join(&options.folder);
    if root.is_dir()
        && fs::read_dir(&root)
            .with_context(|| format!("reading {}", root.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty: simulate writes into an empty folder only, so that {SUMMARY_FILE} describes every file in it",
            root.display()
        );
    }
    fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;

    let mut sim = Simulation::new(options, root);
    sim.run()?;
    let summary = sim.summary();

    let mut json = serde_json::to_string_pretty(&summary).context("serialising the summary")?;
    json.push('\n');
    let path = out.join(SUMMARY_FILE);
    fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    Ok(summary)
}

fn check(options: &SimulateOptions) -> Result<()> {
    if options.tenants == 0 {
        bail!("tenants must be at least 1");
    }
    let folder = Path::new(&options.folder);
    if options.folder.is_empty()
        || !folder
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    {
        bail!(
            "folder `{}` must be a relative path of plain names (no `.`, `..` or root)",
            options.folder
        );
    }
    let name = &options.stream_name;
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', '\0']) {
        bail!(
            "stream name `{name}` must be a non-empty file name without `/`, `\\` or a leading `.`"
        );
    }
    Ok(())
}

/// The seeded generator, read through integer helpers only.
struct Dice(ChaCha8Rng);

impl Dice {
    fn new(seed: u64, stream: u64) -> Dice {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Dice(rng)
    }

    /// Uniform in `0..n` (0 when `n` is 0); the bias is below 2^-64 · n.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.0.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// In `lo..=hi`, small values much more likely than large ones: a uniform draw below a
    /// uniform draw below a uniform draw (density ~ ln²(span / (value − lo)), mean span / 8).
    fn skewed(&mut self, lo: u64, hi: u64) -> u64 {
        let x = self.below(hi - lo + 1);
        let x = self.below(x + 1);
        lo + self.below(x + 1)
    }

    fn ppm(&mut self, rate: u64) -> bool {
        self.below(PPM) < rate
    }

    /// A random (version 4) UUID in its 36-character text form.
    fn uuid(&mut self) -> [u8; 36] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.0.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.0.next_u64().to_le_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [b'-'; 36];
        let mut at = 0;
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1;
            }
            text[at] = HEX[usize::from(b >> 4)];
            text[at + 1] = HEX[usize::from(b & 0x0f)];
            at += 2;
        }
        text
    }

    /// A source address in the documentation ranges (RFC 5737, RFC 3849).
    fn ip(&mut self, into: &mut Vec<u8>) {
        let r = self.below(100);
        if r < 5 {
            into.extend_from_slice(b"2001:db8:");
            push_hex(into, self.below(0x1_0000));
            into.extend_from_slice(b"::");
            push_hex(into, 1 + self.below(0xffff));
        } else {
            let prefix: &[u8] = match r % 3 {
                0 => b"192.0.2.",
                1 => b"198.51.100.",
                _ => b"203.0.113.",
            };
            into.extend_from_slice(prefix);
            push_u64(into, 1 + self.below(254));
        }
    }
}

fn push_u64(into: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    into.extend_from_slice(&digits[at..]);
}

/// `n` with at least `width` digits, zero-padded.
fn push_padded(into: &mut Vec<u8>, n: u64, width: usize) {
    let digits = n.checked_ilog10().unwrap_or(0) as usize + 1;
    into.resize(into.len() + width.saturating_sub(digits), b'0');
    push_u64(into, n);
}

fn push_hex(into: &mut Vec<u8>, n: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = HEX[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    into.extend_from_slice(&digits[at..]);
}

struct User {
    sub: [u8; 36],
    ip: Vec<u8>,
}

/// Tenants (index 0: no tenant) and their users.
struct Population {
    /// Cumulative Zipf weights of tenants 1..=T, in tenant order.
    cumulative: Vec<u64>,
    /// Users of tenant `k` are `users[first_user[k]..first_user[k + 1]]`.
    first_user: Vec<usize>,
    users: Vec<User>,
}

impl Population {
    fn new(tenants: u32, dice: &mut Dice) -> Population {
        let t = tenants as usize;
        // Ranks 1..=T shuffled over the tenants (Fisher–Yates), weight 1/rank.
        let mut ranks: Vec<u64> = (1..=u64::from(tenants)).collect();
        for i in (1..t).rev() {
            let j = dice.below(i as u64 + 1) as usize;
            ranks.swap(i, j);
        }
        let mut cumulative = Vec::with_capacity(t);
        let mut sum = 0u64;
        for rank in &ranks {
            sum += 1_000_000_000 / rank;
            cumulative.push(sum);
        }
        let mut first_user = Vec::with_capacity(t + 2);
        let mut users = Vec::new();
        for k in 0..=t {
            first_user.push(users.len());
            let count = if k == 0 {
                u64::from(UNASSIGNED_USERS)
            } else {
                let r = dice.below(MAX_USERS);
                1 + r * r / (MAX_USERS - 1)
            };
            for _ in 0..count {
                let sub = dice.uuid();
                let mut ip = Vec::new();
                dice.ip(&mut ip);
                users.push(User { sub, ip });
            }
        }
        first_user.push(users.len());
        Population {
            cumulative,
            first_user,
            users,
        }
    }

    /// A tenant 1..=T, by weight.
    fn draw_tenant(&self, dice: &mut Dice) -> usize {
        let total = *self.cumulative.last().expect("at least one tenant");
        let x = dice.below(total);
        1 + self.cumulative.partition_point(|c| *c <= x)
    }

    /// A global user index of tenant `k`, the first users more active than the last.
    fn draw_user(&self, k: usize, dice: &mut Dice) -> usize {
        let n = (self.first_user[k + 1] - self.first_user[k]) as u64;
        let j = dice.below(n);
        self.first_user[k] + dice.below(j + 1) as usize
    }
}

/// What a buffer's file is, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Regular,
    /// Opened by the previous month's last records, with the month's first minute's.
    Straddling,
    /// A late delivery: [`LATE_OBJECT_HOUR`]'s second object or [`LATE_ONLY_HOUR`]'s only one.
    Late,
}

/// Where a record goes: the buffer's key (its 5-minute interval, and 1 for a late buffer),
/// when the buffer is written and what its file is.
#[derive(Debug, Clone, Copy)]
struct Destination {
    key: (i64, u8),
    closes_at: i64,
    kind: Kind,
}

impl Destination {
    /// The buffer of the Firehose interval that `arrival` falls in.
    fn regular(arrival: i64) -> Destination {
        let interval = arrival.div_euclid(FILE_SPAN_MS);
        Destination {
            key: (interval, 0),
            closes_at: (interval + 1) * FILE_SPAN_MS,
            kind: Kind::Regular,
        }
    }
}

/// One buffer of an hour folder.
struct Buffer {
    lines: Vec<u8>,
    /// Arrival time of the earliest record in `lines` (names the file).
    first_arrival: i64,
    /// Written once no record made at this time or later can go to it.
    closes_at: i64,
    kind: Kind,
}

/// Writes buffers as files.
struct Sink {
    root: PathBuf,
    /// `root` below `out`, for the paths in the summary.
    folder: String,
    stream_name: String,
    gzip: bool,
    names: Dice,
    made_dirs: BTreeSet<i64>,
    compressed: Vec<u8>,
    files: u64,
    bytes: u64,
    line_bytes: u64,
}

impl Sink {
    /// Writes a file; its path below `out`.
    fn write(&mut self, lines: &[u8], first_arrival: i64) -> Result<String> {
        let hour = first_arrival.div_euclid(HOUR_MS);
        let time = DateTime::from_timestamp_millis(first_arrival)
            .context("arrival time out of range")?
            .naive_utc();
        let hour_folder = time.format("year=%Y/month=%m/day=%d/hour=%H").to_string();
        let dir = self.root.join(&hour_folder);
        if self.made_dirs.insert(hour) {
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let uuid = self.names.uuid();
        let mut name = format!(
            "{}-1-{}-{}",
            self.stream_name,
            time.format("%Y-%m-%d-%H-%M-%S"),
            std::str::from_utf8(&uuid).expect("hex")
        );
        let data = if self.gzip {
            name.push_str(".gz");
            self.compressed.clear();
            let mut gz = GzEncoder::new(&mut self.compressed, Compression::fast());
            gz.write_all(lines).context("compressing")?;
            gz.finish().context("compressing")?;
            &self.compressed[..]
        } else {
            lines
        };
        let path = dir.join(&name);
        let mut file =
            fs::File::create_new(&path).with_context(|| format!("creating {}", path.display()))?;
        file.write_all(data)
            .with_context(|| format!("writing {}", path.display()))?;
        self.files += 1;
        self.bytes += data.len() as u64;
        self.line_bytes += lines.len() as u64;
        Ok(format!("{}/{hour_folder}/{name}", self.folder))
    }
}

/// Open buffers by key, and the sink they are written to.
struct Buffers {
    open: BTreeMap<(i64, u8), Buffer>,
    spare: Vec<Vec<u8>>,
    sink: Sink,
    late_files: Vec<String>,
    straddling_files: Vec<String>,
}

impl Buffers {
    fn push(&mut self, to: Destination, arrival: i64, line: &[u8]) -> Result<()> {
        let spare = &mut self.spare;
        let buffer = self.open.entry(to.key).or_insert_with(|| Buffer {
            lines: spare.pop().unwrap_or_default(),
            first_arrival: i64::MAX,
            closes_at: to.closes_at,
            kind: to.kind,
        });
        buffer.lines.extend_from_slice(line);
        buffer.first_arrival = buffer.first_arrival.min(arrival);
        if buffer.lines.len() >= FILE_MAX_BYTES {
            let (lines, first, kind) = (&buffer.lines, buffer.first_arrival, buffer.kind);
            let path = self.sink.write(lines, first)?;
            match kind {
                Kind::Regular => {}
                Kind::Straddling => self.straddling_files.push(path),
                Kind::Late => self.late_files.push(path),
            }
            buffer.lines.clear();
            buffer.first_arrival = i64::MAX;
        }
        Ok(())
    }

    /// Writes, in key order, the buffers that close at or before `time`: no record made at
    /// `time` or later can go to them.
    fn close_before(&mut self, time: i64) -> Result<()> {
        if !self.open.values().any(|b| b.closes_at <= time) {
            return Ok(());
        }
        let ready: Vec<(i64, u8)> = self
            .open
            .iter()
            .filter(|(_, b)| b.closes_at <= time)
            .map(|(k, _)| *k)
            .collect();
        for key in ready {
            let buffer = self.open.remove(&key).expect("listed");
            if !buffer.lines.is_empty() {
                let path = self.sink.write(&buffer.lines, buffer.first_arrival)?;
                match buffer.kind {
                    Kind::Regular => {}
                    Kind::Straddling => self.straddling_files.push(path),
                    Kind::Late => self.late_files.push(path),
                }
            }
            let mut lines = buffer.lines;
            lines.clear();
            self.spare.push(lines);
        }
        Ok(())
    }
}

/// The start of `(day, hour)` of `month`, in epoch milliseconds.
fn hour_of_month(month: metering::Month, (day, hour): (u32, u32)) -> i64 {
    NaiveDate::from_ymd_opt(month.year(), month.month(), day)
        .and_then(|d| d.and_hms_opt(hour, 0, 0))
        .expect("days 1 to 28 exist in every month")
        .and_utc()
        .timestamp_millis()
}

#[derive(Default)]
struct Truth {
    requests: u64,
    bytes: u64,
    status_2xx: u64,
    subs: u64,
}

struct Simulation<'a> {
    options: &'a SimulateOptions,
    dice: Dice,
    population: Population,
    buffers: Buffers,
    /// Per tenant index (0: no tenant).
    truth: Vec<Truth>,
    /// Per global user index: made a request.
    seen: Vec<bool>,
    line: Vec<u8>,
    broken: Vec<u8>,
    /// Index of the next request in time order.
    index: u64,
    /// The month's first minute goes to the buffer that straddles its start.
    straddling: bool,
    /// The starts of [`LATE_OBJECT_HOUR`] and [`LATE_ONLY_HOUR`] in the month (epoch ms).
    late_object_hour: i64,
    late_only_hour: i64,
    previous_month_lines: u64,
    /// The next tenant given a request of its own (when `requests >= tenants`).
    next_forced: u64,
    duplicates: u64,
    malformed: u64,
}

impl<'a> Simulation<'a> {
    fn new(options: &'a SimulateOptions, root: PathBuf) -> Simulation<'a> {
        let mut dice = Dice::new(options.seed, 0);
        let population = Population::new(options.tenants, &mut dice);
        let users = population.users.len();
        Simulation {
            options,
            dice,
            population,
            buffers: Buffers {
                open: BTreeMap::new(),
                spare: Vec::new(),
                late_files: Vec::new(),
                straddling_files: Vec::new(),
                sink: Sink {
                    root,
                    folder: options.folder.clone(),
                    stream_name: options.stream_name.clone(),
                    gzip: options.gzip,
                    names: Dice::new(options.seed, 1),
                    made_dirs: BTreeSet::new(),
                    compressed: Vec::new(),
                    files: 0,
                    bytes: 0,
                    line_bytes: 0,
                },
            },
            truth: (0..=options.tenants).map(|_| Truth::default()).collect(),
            seen: vec![false; users],
            line: Vec::with_capacity(512),
            broken: Vec::with_capacity(512),
            index: 0,
            straddling: false,
            late_object_hour: hour_of_month(options.month, LATE_OBJECT_HOUR),
            late_only_hour: hour_of_month(options.month, LATE_ONLY_HOUR),
            previous_month_lines: 0,
            next_forced: 0,
            duplicates: 0,
            malformed: 0,
        }
    }

    /// Relative traffic of each hour of the month.
    fn hour_weights(&mut self) -> Vec<u64> {
        let month = self.options.month;
        let first = NaiveDate::from_ymd_opt(month.year(), month.month(), 1).expect("a month");
        let hours = (month.end_ms() - month.start_ms()) / HOUR_MS;
        let mut weights = Vec::with_capacity(hours as usize);
        for day in first.iter_days().take((hours / 24) as usize) {
            let weekday = match day.weekday() {
                Weekday::Sat => 65,
                Weekday::Sun => 60,
                _ => 100,
            };
            let day_noise = self.dice.between(85, 115);
            for of_day in HOUR_OF_DAY {
                weights.push(of_day * weekday * day_noise * self.dice.between(90, 110));
            }
        }
        weights
    }

    fn run(&mut self) -> Result<()> {
        let n = self.options.requests;
        let start = self.options.month.start_ms();
        let weights = self.hour_weights();
        let minutes = weights.len() as i64 * 60;
        // The requests at 00:00:00.000 and 23:59:59.999 are placed by hand, the others by
        // weight: minute m gets floor(k·C(m)/W) − floor(k·C(m−1)/W), exactly k in all.
        let fixed = n.min(2);
        let spread = u128::from(n - fixed);
        let total: u128 = weights.iter().map(|w| u128::from(*w) * 60).sum();
        let mut cumulative = 0u128;
        let mut placed = 0u64;
        let mut offsets: Vec<u64> = Vec::new();
        if n >= 2 {
            self.previous_month_tail()?;
        }
        for minute in 0..minutes {
            cumulative += u128::from(weights[(minute / 60) as usize]);
            let upto = (spread * cumulative / total) as u64;
            offsets.clear();
            for _ in placed..upto {
                offsets.push(self.dice.below(MINUTE_MS as u64));
            }
            placed = upto;
            if minute == 0 && n >= 2 {
                offsets.push(0);
            }
            if minute == minutes - 1 && n >= 1 {
                offsets.push(MINUTE_MS as u64 - 1);
            }
            offsets.sort_unstable();
            for offset in &offsets {
                self.request(start + minute * MINUTE_MS + *offset as i64)?;
            }
        }
        self.buffers.close_before(i64::MAX)
    }

    /// The records of the previous month's last minutes that open the buffer straddling the
    /// month's start: written there, counted apart, not part of the month's truth.
    fn previous_month_tail(&mut self) -> Result<()> {
        let start = self.options.month.start_ms();
        let straddle = self.straddling_buffer();
        for i in 0..PREVIOUS_MONTH_RECORDS as i64 {
            // 23:56, 23:57, …: one a minute, the last before 23:58.
            let time =
                start - 4 * MINUTE_MS + i * MINUTE_MS + self.dice.below(MINUTE_MS as u64) as i64;
            self.compose(time, false);
            // Arrived before 23:58:30, in the previous month's last interval.
            let arrival = time + self.dice.skewed(MIN_DELAY_MS, 30_000) as i64;
            self.buffers.push(straddle, arrival, &self.line)?;
            self.previous_month_lines += 1;
        }
        self.straddling = true;
        Ok(())
    }

    /// The buffer of the previous month's last 5-minute interval, which straddles the month's
    /// start: open until the month's first minute is over.
    fn straddling_buffer(&self) -> Destination {
        let start = self.options.month.start_ms();
        Destination {
            key: ((start - 1).div_euclid(FILE_SPAN_MS), 0),
            closes_at: start + MINUTE_MS,
            kind: Kind::Straddling,
        }
    }

    /// Where a record arriving at `arrival` goes (but for the straddling buffer, which the
    /// caller chooses): a late object, or the buffer of its Firehose interval.
    fn destination(&self, arrival: i64) -> Destination {
        let late_object_end = self.late_object_hour + HOUR_MS;
        let late_object_start = late_object_end - LATE_OBJECT_MS;
        if (late_object_start..late_object_end).contains(&arrival) {
            return Destination {
                key: (late_object_start.div_euclid(FILE_SPAN_MS), 1),
                closes_at: late_object_end,
                kind: Kind::Late,
            };
        }
        let late_only = self.late_only_hour;
        if (late_only..late_only + HOUR_MS).contains(&arrival) {
            return Destination {
                key: (late_only.div_euclid(FILE_SPAN_MS), 1),
                closes_at: late_only + HOUR_MS,
                kind: Kind::Late,
            };
        }
        Destination::regular(arrival)
    }

    /// Generates, writes and counts the request made at `time` (in time order).
    fn request(&mut self, time: i64) -> Result<()> {
        self.buffers.close_before(time)?;
        let (tenant, user, status, length) = self.compose(time, true);
        let n = self.options.requests;

        // Where and how often it is written.
        let arrival = time + self.dice.skewed(MIN_DELAY_MS, MAX_DELAY_MS) as i64;
        // The month's first minute is in the buffer that the previous month's last records
        // opened; other records in their own interval's (or a late object).
        let to = if self.straddling && time < self.options.month.start_ms() + MINUTE_MS {
            self.straddling_buffer()
        } else {
            self.destination(arrival)
        };
        let dice = &mut self.dice;
        let line = &self.line;
        let malformed = if n >= 1000 && self.index == n / 2 {
            true
        } else {
            dice.ppm(MALFORMED_PPM)
        };
        if malformed {
            let broken = &mut self.broken;
            broken.clear();
            if dice.below(2) == 0 {
                // A write cut short (then retried whole): never valid JSON without its `}`.
                let cut = dice.between(1, line.len() as u64 - 3) as usize;
                broken.extend_from_slice(&line[..cut]);
            } else {
                broken.extend_from_slice(
                    NOT_JSON[dice.below(NOT_JSON.len() as u64) as usize].as_bytes(),
                );
            }
            broken.push(b'\n');
            self.buffers.push(to, arrival, broken)?;
            self.malformed += 1;
        }
        self.buffers.push(to, arrival, line)?;
        if dice.ppm(DUPLICATE_PPM) {
            // A retry: the same file, a later one, or the next hour's folder, never later than
            // the end of the hour after the request's.
            let latest = (time.div_euclid(HOUR_MS) + 2) * HOUR_MS - 1;
            let (again, to) = if dice.below(100) < 40 {
                (arrival, to)
            } else {
                let again = (arrival + dice.between(1_000, MAX_RETRY_MS) as i64).min(latest);
                (again, self.destination(again))
            };
            self.buffers.push(to, again, line)?;
            self.duplicates += 1;
        }

        // The truth.
        let truth = &mut self.truth[tenant];
        truth.requests += 1;
        truth.bytes += length;
        truth.status_2xx += u64::from((200..300).contains(&status));
        if let Some(u) = user {
            if !self.seen[u] {
                self.seen[u] = true;
                self.truth[tenant].subs += 1;
            }
        }
        self.index += 1;
        Ok(())
    }

    /// Writes the record of a request made at `time` into `self.line`: its tenant (0: none),
    /// user, status and response length. `may_force`: the month's requests, which give
    /// every tenant one when `requests >= tenants`.
    fn compose(&mut self, time: i64, may_force: bool) -> (usize, Option<usize>, u16, u64) {
        let dice = &mut self.dice;
        let tenants = u64::from(self.options.tenants);
        let n = self.options.requests;

        // Who: a tenant's user, a user without a tenant, or nobody (401).
        let forced = may_force
            && n >= tenants
            && self.next_forced < tenants
            && u128::from(self.index)
                == u128::from(self.next_forced) * u128::from(n) / u128::from(tenants);
        let (tenant, user) = if forced {
            self.next_forced += 1;
            let k = self.next_forced as usize;
            (k, Some(self.population.draw_user(k, dice)))
        } else {
            let r = dice.below(PPM);
            if r < UNAUTHENTICATED_PPM {
                (0, None)
            } else if r < UNAUTHENTICATED_PPM + NO_TENANT_PPM {
                (0, Some(self.population.draw_user(0, dice)))
            } else {
                let k = self.population.draw_tenant(dice);
                (k, Some(self.population.draw_user(k, dice)))
            }
        };

        // What.
        let mut x = dice.below(PPM);
        let (mut method, mut path) = (ROUTES[0].0, ROUTES[0].1);
        for (m, p, weight) in ROUTES {
            if x < weight {
                (method, path) = (m, p);
                break;
            }
            x -= weight;
        }
        let status: u16 = if user.is_none() {
            401
        } else if path == "/health" {
            200
        } else {
            let by_id = path == "/items/{id}";
            let mut x = dice.below(PPM);
            let error = ERRORS.iter().find(|(_, weight, id_weight)| {
                let w = if by_id { *id_weight } else { *weight };
                let hit = x < w;
                x = x.saturating_sub(w);
                hit
            });
            match (error, method) {
                (Some((status, _, _)), _) => *status,
                (None, "POST") => 201,
                (None, "DELETE") => 204,
                (None, _) => 200,
            }
        };
        let length = match status {
            204 => 0,
            401 => 26,
            200 | 201 => match path {
                "/health" => 15,
                "/random/strings" => dice.skewed(64, 102_400),
                "/random/numbers" => dice.skewed(16, 8_192),
                "/items" if method == "GET" => dice.skewed(2, 65_536),
                _ => dice.between(60, 900),
            },
            _ => dice.between(20, 160),
        };

        // The line.
        let line = &mut self.line;
        line.clear();
        line.extend_from_slice(b"{\"requestId\": \"");
        line.extend_from_slice(&dice.uuid());
        line.extend_from_slice(b"\", \"ip\": \"");
        match user {
            Some(u) if !dice.ppm(ROAMING_PPM) => {
                line.extend_from_slice(&self.population.users[u].ip)
            }
            _ => dice.ip(line),
        }
        line.extend_from_slice(b"\", \"user\": \"");
        match user {
            Some(u) => {
                let k = tenant;
                line.extend_from_slice(b"user-");
                push_padded(line, k as u64, 4);
                line.push(b'-');
                push_padded(line, (u - self.population.first_user[k] + 1) as u64, 4);
            }
            None => line.push(b'-'),
        }
        line.extend_from_slice(b"\", \"requestTime\": ");
        push_u64(line, time as u64);
        line.extend_from_slice(b", \"httpMethod\": \"");
        line.extend_from_slice(method.as_bytes());
        line.extend_from_slice(b"\", \"resourcePath\": \"");
        line.extend_from_slice(path.as_bytes());
        line.extend_from_slice(b"\", \"status\": ");
        push_u64(line, u64::from(status));
        line.extend_from_slice(b", \"protocol\": \"HTTP/1.1\", \"responseLength\": ");
        push_u64(line, length);
        line.extend_from_slice(b", \"tenant\": \"");
        if tenant == 0 {
            line.push(b'-');
        } else {
            line.extend_from_slice(b"tenant-");
            push_padded(line, tenant as u64, 4);
        }
        line.extend_from_slice(b"\", \"sub\": \"");
        match user {
            Some(u) => line.extend_from_slice(&self.population.users[u].sub),
            None => line.push(b'-'),
        }
        line.extend_from_slice(b"\"}\n");
        (tenant, user, status, length)
    }

    fn summary(&self) -> SimulateSummary {
        let tenants = self
            .truth
            .iter()
            .enumerate()
            .filter(|(_, t)| t.requests > 0)
            .map(|(k, t)| {
                let name = if k == 0 {
                    metering::UNASSIGNED.to_string()
                } else {
                    format!("tenant-{k:04}")
                };
                let truth = TenantTruth {
                    bytes: t.bytes,
                    requests: t.requests,
                    status_2xx: t.status_2xx,
                    subs: t.subs,
                };
                (name, truth)
            })
            .collect();
        let sink = &self.buffers.sink;
        SimulateSummary {
            bytes: sink.bytes,
            duplicate_lines: self.duplicates,
            files: sink.files,
            late_files: self.buffers.late_files.clone(),
            line_bytes: sink.line_bytes,
            lines: self.index + self.duplicates + self.malformed + self.previous_month_lines,
            malformed_lines: self.malformed,
            month: self.options.month.to_string(),
            previous_month_lines: self.previous_month_lines,
            requests: self.index,
            seed: self.options.seed,
            straddling_files: self.buffers.straddling_files.clone(),
            tenants,
        }
    }
}
