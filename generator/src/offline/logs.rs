//! Reading access-log or usage-event files in Firehose's folder layout into an [`Aggregator`].

use super::{units, workers};
use anyhow::Context as _;
use metering::{Aggregator, Counts, FolderHour, Usage, Window};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Malformed lines shown in full; the rest are counted.
pub const SHOWN_MALFORMED: usize = 20;

/// A line that is not a usable record.
#[derive(Debug, Clone)]
pub struct Malformed {
    pub file: PathBuf,
    /// 1-based, in the decompressed file.
    pub line: u64,
    pub reason: String,
}

/// What reading a folder found.
#[derive(Debug, Default)]
pub struct ReadReport {
    /// Access logs or usage events.
    pub source: metering::Source,
    /// The folders the month needs (`None` until [`read`] has looked).
    pub window: Option<Window>,
    /// The hours of the window that have at least one file.
    pub hours_with_files: BTreeSet<FolderHour>,
    /// Files read: those whose path has `year=/month=/day=/hour=` within the month's window.
    pub files_read: u64,
    /// Files of other hours, not needed for the month.
    pub files_outside_window: u64,
    /// Files whose path is not in the hourly layout: not records, ignored (listed).
    pub files_not_in_layout: Vec<PathBuf>,
    pub lines: u64,
    pub bytes: u64,
    /// Number of malformed lines, and the first [`SHOWN_MALFORMED`] of them.
    pub malformed: u64,
    pub malformed_shown: Vec<Malformed>,
    pub counts: Counts,
}

/// Reads every access-log file under `logs` that the month's window needs, plain or gzip
/// (recognised by its magic bytes, whatever the name), on the aggregator's threads: counts,
/// malformed lines and errors are reported as one thread reading the files in path order
/// would report them.
pub fn read(logs: &Path, aggregator: Aggregator) -> anyhow::Result<(Usage, ReadReport)> {
    read_in_chunks(logs, aggregator, units::CHUNK_BYTES)
}

/// [`read`], with plain files longer than `chunk_bytes` read in ranges of about that size.
pub fn read_in_chunks(
    logs: &Path,
    mut aggregator: Aggregator,
    chunk_bytes: u64,
) -> anyhow::Result<(Usage, ReadReport)> {
    if !logs.is_dir() {
        let what = match aggregator.source() {
            metering::Source::AccessLog => "access logs",
            metering::Source::Events => "usage events",
        };
        anyhow::bail!("{}: not a folder of {what}", logs.display());
    }
    let window = aggregator.window();
    let mut report = ReadReport {
        window: Some(window),
        ..ReadReport::default()
    };
    let (files, listing_error) = list(logs, window, &mut report);
    if files.len() > units::MAX_FILES {
        anyhow::bail!(
            "{}: {} files in the month's window, more than {} can be read at once",
            logs.display(),
            files.len(),
            units::MAX_FILES
        );
    }
    let paths: Vec<PathBuf> = files.iter().map(|(path, _)| path.clone()).collect();
    report.source = aggregator.source();
    let units = units::plan(&paths, chunk_bytes.max(1));
    let outcomes = workers::run(&units, &files, aggregator.shards());
    let mut lines_before = 0;
    for (unit, outcome) in units.iter().zip(outcomes) {
        let (path, hour) = &files[unit.file];
        let outcome = outcome.expect("units are read in order up to the first failure");
        if let Some(failure) = outcome.failure {
            return Err(failure.into_error(path, lines_before));
        }
        report.lines += outcome.lines;
        report.bytes += outcome.bytes;
        report.malformed += outcome.malformed;
        for (line, reason) in outcome.shown {
            if report.malformed_shown.len() < SHOWN_MALFORMED {
                report.malformed_shown.push(Malformed {
                    file: path.clone(),
                    line: lines_before + line,
                    reason,
                });
            }
        }
        lines_before += outcome.lines;
        if unit.last {
            report.files_read += 1;
            report.hours_with_files.insert(*hour);
            lines_before = 0;
        }
    }
    if let Some(e) = listing_error {
        return Err(e);
    }
    let (usage, counts) = aggregator.finish().context("aggregating the usage")?;
    report.counts = counts;
    Ok((usage, report))
}

/// The files of the window's hours in path order, counting and listing the others in
/// `report`; the listing stops at the first error, returned after the files before it.
fn list(
    logs: &Path,
    window: Window,
    report: &mut ReadReport,
) -> (Vec<(PathBuf, FolderHour)>, Option<anyhow::Error>) {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(logs).sort_by_file_name() {
        let entry = match entry.with_context(|| format!("reading {}", logs.display())) {
            Ok(entry) => entry,
            Err(e) => return (files, Some(e)),
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry.path().strip_prefix(logs).unwrap_or(entry.path());
        match FolderHour::from_path(relative) {
            None => report.files_not_in_layout.push(entry.path().to_path_buf()),
            Some(hour) if !window.reads_folder(hour) => report.files_outside_window += 1,
            Some(hour) => files.push((entry.into_path(), hour)),
        }
    }
    (files, None)
}
