//! Synthetic access logs (and usage events) in Firehose's folder layout: a development tool,
//! not part of the generated stack.
//!
//! [`simulate`] writes what the stack's Firehose delivery stream would have written to S3 for
//! one month of traffic, for demos, tests and benchmarks of `metering-gen bill`, and, with
//! [`SimulateOptions::events_folder`], what the API's backend would have sent to a second
//! stream as usage events:
//!
//! ```text
//! <out>/<folder>/year=YYYY/month=MM/day=DD/hour=HH/<stream>-1-YYYY-MM-DD-HH-MM-SS-<uuid>[.gz]
//! <out>/<events_folder>/year=YYYY/…/hour=HH/<stream>-events-1-YYYY-MM-DD-HH-MM-SS-<uuid>[.gz]
//! <out>/simulation.json      the ground truth (a SimulateSummary), outside the folders
//! ```
//!
//! Each file holds one API Gateway access-log record per line, in the format the stack's
//! access-log setting produces: the fields of `access_log::FIELDS`, in its order, quoted as
//! it types them:
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
//! Usage events (when `events_folder` is given), one JSON object per line, as
//! `metering::Event` reads them:
//!
//! ```text
//! {"id": "…", "tenant": "tenant-0003", "type": "tokens.generated", "time": 1764291600123, "value": 1532, "properties": {"model": "large"}}
//! ```
//!
//! - every successful (2xx) request of the month that carries a tenant makes the backend send
//!   one `tokens.generated` event: its own id (a UUID), the request's tenant, a time 0–2 s
//!   after the request's (so the month's last requests may give events of the next month:
//!   `next_month_events`, not billed in the month), as epoch milliseconds for about half
//!   and as an RFC 3339 string (`2026-10-07T12:00:00.250Z`) for the others; a value of
//!   1–4000 tokens (skewed), for about 1 in 10 events a decimal with 1–3 digits after the
//!   point (a JSON number or a string, half each; integers mostly numbers); and
//!   `properties.model` `small` (about 70 %) or `large`;
//! - an event arrives 0.1–60 s after its time (skewed to short delays) and is buffered and
//!   filed as the access logs are (5-minute buffers, 5 MiB at most, a file named after its
//!   oldest record), without straddling or late files;
//! - about 0.5 % of events are written twice, byte for byte (a retried `PutRecordBatch`): in
//!   the same file, a later file of the hour, or the next hour's folder;
//! - about 1 event in 20 000, and one of each kind when `requests >= 1000` (at 1/8, 3/8, 5/8
//!   and 7/8 of the month's requests), comes with a bad event that no bill counts
//!   (`bad_events`): one without `id`, one without `tenant`, one with `"value": "abc"`, and
//!   one whose time is 32–90 days before its arrival, in a month whose bill does not read the
//!   folder it arrived in ("outside any window");
//! - the truth per tenant: `events`, the distinct good events of the month, and `tokens`,
//!   the exact sum of their values.
//!
//! Output depends on the options only: a ChaCha8 generator seeded with `seed`, integer
//! arithmetic only (no floating point, whose functions differ between platforms) and no
//! hash-map iteration, so the same options give byte-identical files on every machine. The
//! events draw from their own streams of that generator, so they change no byte of the
//! access logs.
//! Memory does not grow with `requests`: the month is generated in time order and only the
//! buffers of the next couple of hours are held.

mod buffers;
mod dice;
mod digits;
mod events;
mod population;
mod record;
mod simulation;
mod traffic;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use simulation::Simulation;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path};

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
    /// The usage events' Firehose output folder under `out` (a relative path, neither inside
    /// `folder` nor holding it); `None`: no events. Their files are named after the stream
    /// `<stream_name>-events`.
    pub events_folder: Option<String>,
}

/// The truth about one tenant's distinct requests (and usage events) of the month.
///
/// Fields are in alphabetical order so that `simulation.json` has sorted keys; those of the
/// usage events are `None` (and left out of the JSON) when no events are written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TenantTruth {
    /// Sum of `responseLength`.
    pub bytes: u64,
    /// Distinct usage events of the month (by their own time), bad ones not counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    pub requests: u64,
    /// Requests whose status is 2xx.
    pub status_2xx: u64,
    /// Distinct `sub`s (`-` not counted).
    pub subs: u64,
    /// The exact sum of the values of the events counted in `events`, written as a string
    /// (`"123456.5"`).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "decimal_text"
    )]
    pub tokens: Option<metering::pricing::Decimal>,
}

fn decimal_text<S: serde::Serializer>(
    value: &Option<metering::pricing::Decimal>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(d) => s.serialize_str(&d.normalize().to_string()),
        None => s.serialize_none(),
    }
}

/// What [`simulate`] wrote: the ground truth `bill` should find.
///
/// Fields are in alphabetical order so that `simulation.json` has sorted keys.
///
/// The fields about usage events are `None` (and left out of the JSON) when no events are
/// written. Event lines are: `events + next_month_events + duplicate_event_lines +
/// bad_events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimulateSummary {
    /// Usage events that no bill counts, each written once beside a good one: without `id`,
    /// without `tenant`, with `"value": "abc"`, or with a time in a month whose bill does not
    /// read the folder the event arrived in (`bill` reports them as bad usage events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_events: Option<u64>,
    /// Bytes of the files as stored (compressed when gzip).
    pub bytes: u64,
    /// Second copies of usage events (each duplicated event is written exactly twice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_event_lines: Option<u64>,
    /// Second copies of records (each duplicated record is written exactly twice).
    pub duplicate_lines: u64,
    /// Bytes of the usage-event files as stored (compressed when gzip).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_files: Option<u64>,
    /// Lines of the usage-event files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_lines: Option<u64>,
    /// Distinct usage events whose time is in the month: what its bill counts (the sum of
    /// the tenants' `events`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
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
    /// Distinct usage events whose time (a request of the month's last seconds plus up to
    /// 2 s) is in the next month: written, counted outside the month by its bill.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_month_events: Option<u64>,
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
/// Records of the previous month (23:56–23:58 on its last day) that open the buffer that
/// straddles the month's start.
pub const PREVIOUS_MONTH_RECORDS: u64 = 2;
/// (day of the month, hour), UTC: the hour whose records arriving in its last quarter go to
/// a second, later object of its folder.
pub const LATE_OBJECT_HOUR: (u32, u32) = (10, 14);
/// (day of the month, hour), UTC: the hour whose only file is a late delivery.
pub const LATE_ONLY_HOUR: (u32, u32) = (20, 11);

/// Writes one month of synthetic access logs under `out` (see the module documentation) and
/// the ground truth to `out/simulation.json`, and returns that truth.
///
/// Refuses to write into a `<out>/<folder>` that exists and is not empty, so that the truth
/// always describes every file in it.
pub fn simulate(options: &SimulateOptions, out: &Path) -> Result<SimulateSummary> {
    check(options)?;
    let root = out.join(&options.folder);
    let events_root = options.events_folder.as_ref().map(|f| out.join(f));
    for root in std::iter::once(&root).chain(&events_root) {
        if root.is_dir()
            && fs::read_dir(root)
                .with_context(|| format!("reading {}", root.display()))?
                .next()
                .is_some()
        {
            bail!(
                "{} is not empty: simulate writes into an empty folder only, so that {SUMMARY_FILE} describes every file in it",
                root.display()
            );
        }
    }
    for root in std::iter::once(&root).chain(&events_root) {
        fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    }

    let mut sim = Simulation::new(options, root, events_root);
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
    for folder in std::iter::once(&options.folder).chain(&options.events_folder) {
        if folder.is_empty()
            || !Path::new(folder)
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        {
            bail!(
                "folder `{folder}` must be a relative path of plain names (no `.`, `..` or root)"
            );
        }
    }
    if let Some(events) = &options.events_folder {
        let (logs, events) = (Path::new(&options.folder), Path::new(events));
        if logs.starts_with(events) || events.starts_with(logs) {
            bail!(
                "the events folder `{}` and the access-log folder `{}` must be apart, neither inside the other, so that a bill reads each source's files only",
                events.display(),
                logs.display()
            );
        }
    }
    let name = &options.stream_name;
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', '\0']) {
        bail!(
            "stream name `{name}` must be a non-empty file name without `/`, `\\` or a leading `.`"
        );
    }
    Ok(())
}
