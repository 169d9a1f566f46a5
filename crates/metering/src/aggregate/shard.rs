//! What one reading thread holds: its lines as rows, partitioned by request id, appended to
//! its own temporary file whenever its share of the row budget is full.

use super::intern::Interner;
use super::row::{Row, ROW_BYTES};
use super::{AddError, Rules, PARTITIONS};
use crate::event::Event;
use crate::meter::Source;
use crate::month::FolderHour;
use crate::record::Request;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom};
use std::sync::Arc;
use tempfile::NamedTempFile;

const SPILL_BUFFER_BYTES: usize = 1 << 20;

/// Lines read by one thread. Its rows join the other shards' in
/// [`Aggregator::finish`](super::Aggregator::finish).
pub struct Shard {
    rules: Arc<Rules>,
    tenants: Interner,
    subs: Interner,
    partitions: Vec<Vec<Row>>,
    held: usize,
    pub(super) spill_rows: usize,
    spill: Option<Spill>,
    pub(super) records: u64,
}

/// The shard's temporary file: each spill appends every partition's rows, one partition after
/// the other.
struct Spill {
    file: BufWriter<NamedTempFile>,
    written: u64,
    /// For each spill, where each partition's rows start in the file, and where they end.
    runs: Vec<Vec<u64>>,
}

impl Shard {
    pub(super) fn new(rules: Arc<Rules>, spill_rows: usize) -> Shard {
        Shard {
            rules,
            tenants: Interner::default(),
            subs: Interner::default(),
            partitions: vec![Vec::new(); PARTITIONS],
            held: 0,
            spill_rows,
            spill: None,
            records: 0,
        }
    }

    /// Adds one line (without its line break) of a file in `folder` (`None`: not known).
    /// `position` orders the lines of the whole reading (lower: read first): of two copies of
    /// an id with the same time, the one at the lower position counts. Blank lines are
    /// skipped; a line that is not a usable record, or an event that no month's bill would
    /// read from `folder`, is an error for the caller to report, and changes nothing.
    pub fn add_line(
        &mut self,
        line: &[u8],
        position: u64,
        folder: Option<FolderHour>,
    ) -> Result<(), AddError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let row = match self.rules.source {
            Source::AccessLog => self.request_row(line, position)?,
            Source::Events => self.event_row(line, position, folder)?,
        };
        let rows = &mut self.partitions[row.partition()];
        if rows.capacity() == 0 {
            // Room for this partition's share of a full shard: growing by doubling would
            // leave the smaller copies behind in the allocator, up to as much again.
            let share = self.spill_rows / PARTITIONS;
            rows.reserve_exact(share + share / 8 + 8);
        }
        rows.push(row);
        self.records += 1;
        self.held += 1;
        if self.held >= self.spill_rows {
            self.spill_all().map_err(AddError::Io)?;
        }
        Ok(())
    }

    fn request_row(&mut self, line: &[u8], position: u64) -> Result<Row, AddError> {
        let request = Request::parse(line).map_err(AddError::Line)?;
        Ok(Row {
            key: xxhash_rust::xxh3::xxh3_128(request.request_id.as_bytes()),
            time: request.request_time,
            position,
            tenant: self.tenants.id(&request.tenant),
            sub: request.sub.as_deref().map_or(0, |s| self.subs.id(s)),
            amount: request.response_length.map_or(0, |n| n as u128),
            meters: self.rules.request_bits(&request),
        })
    }

    fn event_row(
        &mut self,
        line: &[u8],
        position: u64,
        folder: Option<FolderHour>,
    ) -> Result<Row, AddError> {
        let event = Event::parse(line).map_err(AddError::Event)?;
        if let Some(folder) = folder {
            self.rules
                .check_window(&event, folder)
                .map_err(AddError::Event)?;
        }
        Ok(Row {
            key: xxhash_rust::xxh3::xxh3_128(event.id.as_bytes()),
            time: event.time_ms,
            position,
            tenant: self.tenants.id(&event.tenant),
            sub: self
                .rules
                .unique_key(&event)
                .map_or(0, |k| self.subs.id(&k)),
            amount: event.value.unwrap_or(0),
            meters: self.rules.event_bits(&event),
        })
    }

    pub(super) fn spilled(&self) -> bool {
        self.spill.is_some()
    }

    fn spill_all(&mut self) -> io::Result<()> {
        if self.spill.is_none() {
            let file = tempfile::Builder::new()
                .prefix("metering-bill-")
                .tempfile()?;
            self.spill = Some(Spill {
                file: BufWriter::with_capacity(SPILL_BUFFER_BYTES, file),
                written: 0,
                runs: Vec::new(),
            });
        }
        let spill = self.spill.as_mut().expect("just created");
        let mut offsets = Vec::with_capacity(PARTITIONS + 1);
        offsets.push(spill.written);
        for rows in &mut self.partitions {
            for row in rows.iter() {
                row.write(&mut spill.file)?;
            }
            spill.written += (rows.len() * ROW_BYTES) as u64;
            offsets.push(spill.written);
            rows.clear();
        }
        spill.runs.push(offsets);
        self.held = 0;
        Ok(())
    }

    /// Ends the reading: the spill file is complete, the rows can be merged.
    pub(super) fn close(self) -> io::Result<Closed> {
        let spill = match self.spill {
            Some(Spill { file, runs, .. }) => {
                Some((file.into_inner().map_err(|e| e.into_error())?, runs))
            }
            None => None,
        };
        Ok(Closed {
            tenants: self.tenants,
            subs: self.subs,
            partitions: self.partitions,
            spill,
            records: self.records,
        })
    }
}

/// A shard whose reading is over.
pub(super) struct Closed {
    pub tenants: Interner,
    pub subs: Interner,
    partitions: Vec<Vec<Row>>,
    /// The spill file (removed when dropped) and where each spill put each partition.
    spill: Option<(NamedTempFile, Vec<Vec<u64>>)>,
    pub records: u64,
}

impl Closed {
    /// A reader of this shard's rows, for one merging thread.
    pub fn reader(&self) -> io::Result<ShardReader<'_>> {
        let file = match &self.spill {
            Some((file, _)) => Some(File::open(file.path())?),
            None => None,
        };
        Ok(ShardReader {
            shard: self,
            file,
            buf: Vec::new(),
        })
    }
}

pub(super) struct ShardReader<'a> {
    shard: &'a Closed,
    /// Its own handle on the spill file, whose position no other thread moves.
    file: Option<File>,
    buf: Vec<u8>,
}

impl ShardReader<'_> {
    /// Appends the rows of partition `p` to `out`, with the shard's tenant and user ids.
    pub fn rows(&mut self, p: usize, out: &mut Vec<Row>) -> io::Result<()> {
        if let (Some(file), Some((_, runs))) = (&mut self.file, &self.shard.spill) {
            for offsets in runs {
                let (start, end) = (offsets[p], offsets[p + 1]);
                if start == end {
                    continue;
                }
                file.seek(SeekFrom::Start(start))?;
                self.buf.resize((end - start) as usize, 0);
                file.read_exact(&mut self.buf)?;
                out.extend(
                    self.buf
                        .chunks_exact(ROW_BYTES)
                        .map(|b| Row::read(b.try_into().expect("a row's bytes"))),
                );
            }
        }
        out.extend_from_slice(&self.shard.partitions[p]);
        Ok(())
    }
}
