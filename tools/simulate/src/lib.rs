//! Synthetic access logs in Firehose's folder layout: a development tool, not part of the
//! generated stack.
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
//! Output depends on the options only: a ChaCha8 generator seeded with `seed`, integer
//! arithmetic only (no floating point, whose functions differ between platforms) and no
//! hash-map iteration, so the same options give byte-identical files on every machine.
//! Memory does not grow with `requests`: the month is generated in time order and only the
//! buffers of the next couple of hours are held.

mod buffers;
mod dice;
mod digits;
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
