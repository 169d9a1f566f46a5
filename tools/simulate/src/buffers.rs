//! Firehose's buffers: records collect per 5-minute interval (or late object) and are written
//! out as files named after their oldest record.

use crate::dice::Dice;
use crate::HOUR_MS;
use anyhow::{Context, Result};
use chrono::DateTime;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::PathBuf;

/// Firehose's buffer interval: one file per interval that has records.
pub const FILE_SPAN_MS: i64 = 300_000;
/// Firehose's buffer size: a buffer this big is written out before its interval ends.
const FILE_MAX_BYTES: usize = 5 << 20;

/// What a buffer's file is, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Regular,
    /// Opened by the previous month's last records, with the month's first minute's.
    Straddling,
    /// A late delivery: [`LATE_OBJECT_HOUR`](crate::LATE_OBJECT_HOUR)'s second object or
    /// [`LATE_ONLY_HOUR`](crate::LATE_ONLY_HOUR)'s only one.
    Late,
}

/// Where a record goes: the buffer's key (its 5-minute interval, and 1 for a late buffer),
/// when the buffer is written and what its file is.
#[derive(Debug, Clone, Copy)]
pub struct Destination {
    pub key: (i64, u8),
    pub closes_at: i64,
    pub kind: Kind,
}

impl Destination {
    /// The buffer of the Firehose interval that `arrival` falls in.
    pub fn regular(arrival: i64) -> Destination {
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

/// Writes buffers as files, and counts them.
pub struct Sink {
    root: PathBuf,
    /// `root` below `out`, for the paths in the summary.
    folder: String,
    stream_name: String,
    gzip: bool,
    names: Dice,
    made_dirs: BTreeSet<i64>,
    compressed: Vec<u8>,
    pub files: u64,
    pub bytes: u64,
    pub line_bytes: u64,
    /// Paths below `out` of the files of [`Kind::Late`] and [`Kind::Straddling`] buffers.
    pub late_files: Vec<String>,
    pub straddling_files: Vec<String>,
}

impl Sink {
    /// Writes into `root`, the folder `folder` of the output, files named after
    /// `stream_name` and a UUID drawn from `names`.
    pub fn new(root: PathBuf, folder: &str, stream_name: &str, gzip: bool, names: Dice) -> Sink {
        Sink {
            root,
            folder: folder.to_string(),
            stream_name: stream_name.to_string(),
            gzip,
            names,
            made_dirs: BTreeSet::new(),
            compressed: Vec::new(),
            files: 0,
            bytes: 0,
            line_bytes: 0,
            late_files: Vec::new(),
            straddling_files: Vec::new(),
        }
    }

    /// Writes the file of a buffer.
    fn write(&mut self, lines: &[u8], first_arrival: i64, kind: Kind) -> Result<()> {
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
        let written = match kind {
            Kind::Regular => return Ok(()),
            Kind::Straddling => &mut self.straddling_files,
            Kind::Late => &mut self.late_files,
        };
        written.push(format!("{}/{hour_folder}/{name}", self.folder));
        Ok(())
    }
}

/// Open buffers by key, and the sink they are written to.
pub struct Buffers {
    open: BTreeMap<(i64, u8), Buffer>,
    spare: Vec<Vec<u8>>,
    pub sink: Sink,
}

impl Buffers {
    pub fn new(sink: Sink) -> Buffers {
        Buffers {
            open: BTreeMap::new(),
            spare: Vec::new(),
            sink,
        }
    }

    pub fn push(&mut self, to: Destination, arrival: i64, line: &[u8]) -> Result<()> {
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
            self.sink
                .write(&buffer.lines, buffer.first_arrival, buffer.kind)?;
            buffer.lines.clear();
            buffer.first_arrival = i64::MAX;
        }
        Ok(())
    }

    /// Writes, in key order, the buffers that close at or before `time`: no record made at
    /// `time` or later can go to them.
    pub fn close_before(&mut self, time: i64) -> Result<()> {
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
                self.sink
                    .write(&buffer.lines, buffer.first_arrival, buffer.kind)?;
            }
            let mut lines = buffer.lines;
            lines.clear();
            self.spare.push(lines);
        }
        Ok(())
    }
}
