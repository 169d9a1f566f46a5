//! Reading access-log files in Firehose's folder layout into an [`Aggregator`].

use anyhow::Context as _;
use metering::{AddError, Aggregator, Counts, FolderHour, Usage, Window};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
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
    /// The folders the month needs (`None` until [`read`] has looked).
    pub window: Option<Window>,
    /// The hours of the window that have at least one file.
    pub hours_with_files: BTreeSet<FolderHour>,
    /// Files read: those whose path has `year=/month=/day=/hour=` within the month's window.
    pub files_read: u64,
    /// Files of other hours, not needed for the month.
    pub files_outside_window: u64,
    /// Files whose path is not in the hourly layout: not access logs, ignored (listed).
    pub files_not_in_layout: Vec<PathBuf>,
    pub lines: u64,
    pub bytes: u64,
    /// Number of malformed lines, and the first [`SHOWN_MALFORMED`] of them.
    pub malformed: u64,
    pub malformed_shown: Vec<Malformed>,
    pub counts: Counts,
}

/// Reads every access-log file under `logs` that the month's window needs, plain or gzip
/// (recognised by its magic bytes, whatever the name), in path order.
pub fn read(logs: &Path, mut aggregator: Aggregator) -> anyhow::Result<(Usage, ReadReport)> {
    if !logs.is_dir() {
        anyhow::bail!("{}: not a folder of access logs", logs.display());
    }
    let window = aggregator.window();
    let mut report = ReadReport {
        window: Some(window),
        ..ReadReport::default()
    };
    for entry in walkdir::WalkDir::new(logs).sort_by_file_name() {
        let entry = entry.with_context(|| format!("reading {}", logs.display()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry.path().strip_prefix(logs).unwrap_or(entry.path());
        match FolderHour::from_path(relative) {
            None => report.files_not_in_layout.push(entry.path().to_path_buf()),
            Some(hour) if !window.reads_folder(hour) => report.files_outside_window += 1,
            Some(hour) => {
                read_file(entry.path(), &mut aggregator, &mut report)?;
                report.files_read += 1;
                report.hours_with_files.insert(hour);
            }
        }
    }
    let (usage, counts) = aggregator.finish().context("aggregating the usage")?;
    report.counts = counts;
    Ok((usage, report))
}

fn read_file(
    path: &Path,
    aggregator: &mut Aggregator,
    report: &mut ReadReport,
) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut file = BufReader::with_capacity(1 << 18, file);
    let start = file
        .fill_buf()
        .with_context(|| format!("reading {}", path.display()))?;
    let mut reader: Box<dyn BufRead> = if start.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::with_capacity(
            1 << 18,
            flate2::bufread::MultiGzDecoder::new(file),
        ))
    } else {
        Box::new(file)
    };
    let mut line = Vec::with_capacity(1024);
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading {} after line {number}", path.display()))?;
        if n == 0 {
            break;
        }
        number += 1;
        report.lines += 1;
        report.bytes += n as u64;
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        match aggregator.add_line(text) {
            Ok(()) => {}
            Err(AddError::Line(e)) => {
                report.malformed += 1;
                if report.malformed_shown.len() < SHOWN_MALFORMED {
                    report.malformed_shown.push(Malformed {
                        file: path.to_path_buf(),
                        line: number,
                        reason: e.to_string(),
                    });
                }
            }
            Err(e @ AddError::Io(_)) => return Err(e.into()),
        }
    }
    Ok(())
}
