//! The pieces of work of a reading: a whole file (gzip files always), or a range of a large
//! plain file, and reading one of them into a [`Shard`].

use super::logs::SHOWN_MALFORMED;
use metering::{AddError, FolderHour, Lines, Shard};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Plain files longer than this are read in ranges of about this size.
pub const CHUNK_BYTES: u64 = 8 << 20;

/// A row's position is the file's index in path order, then the line's byte offset in the
/// (decompressed) file: the order in which one thread would read them.
const OFFSET_BITS: u32 = 40;
pub const MAX_FILES: usize = 1 << (64 - OFFSET_BITS);

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const BUFFER_BYTES: usize = 1 << 18;

/// A piece of work.
#[derive(Debug)]
pub struct Unit {
    /// Index in the files read, in path order.
    pub file: usize,
    /// The lines that start in this byte range; `None`: the whole file, plain or gzip.
    pub range: Option<Range<u64>>,
    /// The file's last unit.
    pub last: bool,
}

/// The units of `files`, in path order and, within a file, in byte order. A file that cannot
/// be looked at here is one unit, whose reading then reports the problem.
pub fn plan(files: &[PathBuf], chunk_bytes: u64) -> Vec<Unit> {
    let mut units = Vec::with_capacity(files.len());
    for (file, path) in files.iter().enumerate() {
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        if size <= chunk_bytes || is_gzip(path) {
            units.push(Unit {
                file,
                range: None,
                last: true,
            });
            continue;
        }
        let pieces = size.div_ceil(chunk_bytes);
        let piece = size.div_ceil(pieces);
        let mut start = 0;
        while start < size {
            let end = (start + piece).min(size);
            units.push(Unit {
                file,
                range: Some(start..end),
                last: end == size,
            });
            start = end;
        }
    }
    units
}

fn is_gzip(path: &Path) -> bool {
    let mut magic = [0u8; 2];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| magic == GZIP_MAGIC)
}

/// What reading a unit found. Line numbers count from the unit's first line.
#[derive(Debug, Default)]
pub struct Outcome {
    pub lines: u64,
    pub bytes: u64,
    pub malformed: u64,
    /// The first [`SHOWN_MALFORMED`] malformed lines: line number and reason.
    pub shown: Vec<(u64, String)>,
    /// Why the reading stopped early.
    pub failure: Option<Failure>,
}

#[derive(Debug)]
pub enum Failure {
    Open(io::Error),
    /// Before the first line.
    Start(io::Error),
    /// After this many lines of the unit.
    Read(u64, io::Error),
    Spill(AddError),
    /// A file longer than positions can tell apart.
    TooLong,
}

impl Failure {
    /// The error, as the single-threaded reading would have reported it; `lines_before`:
    /// the lines of the file's earlier units.
    pub fn into_error(self, path: &Path, lines_before: u64) -> anyhow::Error {
        let path = path.display();
        match self {
            Failure::Open(e) => anyhow::Error::new(e).context(format!("opening {path}")),
            Failure::Start(e) => anyhow::Error::new(e).context(format!("reading {path}")),
            Failure::Read(after, e) => anyhow::Error::new(e).context(format!(
                "reading {path} after line {}",
                lines_before + after
            )),
            Failure::Spill(e) => e.into(),
            Failure::TooLong => anyhow::anyhow!(
                "{path}: longer than {} bytes, too long to read",
                1u64 << OFFSET_BITS
            ),
        }
    }
}

/// Reads `unit` of the file at `path`, in the folder of hour `folder`, into `shard`.
pub fn read(unit: &Unit, path: &Path, folder: FolderHour, shard: &mut Shard) -> Outcome {
    let mut outcome = Outcome::default();
    if let Err(failure) = read_lines(unit, path, folder, shard, &mut outcome) {
        outcome.failure = Some(failure);
    }
    outcome
}

fn read_lines(
    unit: &Unit,
    path: &Path,
    folder: FolderHour,
    shard: &mut Shard,
    outcome: &mut Outcome,
) -> Result<(), Failure> {
    let mut file = File::open(path).map_err(Failure::Open)?;
    let (mut offset, end) = match &unit.range {
        None => (0, u64::MAX),
        // From the byte before the range: the line that ends there or later began before the
        // range, and belongs to the unit before.
        Some(range) => (range.start.saturating_sub(1), range.end),
    };
    let skip_first = unit.range.as_ref().is_some_and(|r| r.start > 0);
    if skip_first {
        file.seek(SeekFrom::Start(offset)).map_err(Failure::Start)?;
    }
    let mut file = BufReader::with_capacity(BUFFER_BYTES, file);
    let start = file.fill_buf().map_err(Failure::Start)?;
    let reader: Box<dyn BufRead> = if unit.range.is_none() && start.starts_with(&GZIP_MAGIC) {
        Box::new(BufReader::with_capacity(
            BUFFER_BYTES,
            flate2::bufread::MultiGzDecoder::new(file),
        ))
    } else {
        Box::new(file)
    };
    let mut lines = Lines::new(reader);
    if skip_first {
        match lines.next_line() {
            Ok(Some(before)) => offset += before.len() as u64,
            Ok(None) => return Ok(()),
            Err(e) => return Err(Failure::Read(0, e)),
        }
    }
    let file_bits = (unit.file as u64) << OFFSET_BITS;
    while offset < end {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => return Err(Failure::Read(outcome.lines, e)),
        };
        if offset >> OFFSET_BITS != 0 {
            return Err(Failure::TooLong);
        }
        let n = line.len() as u64;
        outcome.lines += 1;
        outcome.bytes += n;
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        match shard.add_line(text, file_bits | offset, Some(folder)) {
            Ok(()) => {}
            Err(e @ (AddError::Line(_) | AddError::Event(_))) => {
                outcome.malformed += 1;
                if outcome.shown.len() < SHOWN_MALFORMED {
                    outcome.shown.push((outcome.lines, e.to_string()));
                }
            }
            Err(e @ AddError::Io(_)) => return Err(Failure::Spill(e)),
        }
        offset += n;
    }
    Ok(())
}
