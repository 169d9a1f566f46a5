//! The offline twin of [`usage_query`](crate::usage_query): the same de-duplication, month
//! bucketing and meters over access-log lines, in memory bounded by a fixed budget.
//!
//! Each usable line becomes a 48-byte row (a 128-bit hash of the request id, the request
//! time, interned tenant and user, the response length and one bit per meter it passes),
//! put in one of [`PARTITIONS`] partitions by its hash. When more than the spill limit of rows
//! are held, every partition is appended to its own temporary file. [`Aggregator::finish`]
//! then takes one partition at a time: all copies of a request id are in the same
//! partition, so sorting it by (hash, time) puts them side by side, and the earliest copy is
//! kept, as the query's `row_number() OVER (PARTITION BY requestid ORDER BY requesttime)`.
//! Memory is the spill limit plus one partition, whatever the number of lines.

use crate::config::ValidConfig;
use crate::meter::{Aggregation, Filter};
use crate::month::{Month, Window};
use crate::record::{LineError, Request};
use crate::usage::Usage;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};

pub const PARTITIONS: usize = 256;
/// Rows held in memory before spilling: 48 MiB.
pub const DEFAULT_SPILL_ROWS: usize = 1 << 20;
const ROW_BYTES: usize = 48;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Row {
    key: u128,
    time: i64,
    tenant: u32,
    /// 0: no user.
    sub: u32,
    bytes: u64,
    meters: u64,
}

impl Row {
    fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let mut buf = [0u8; ROW_BYTES];
        buf[0..16].copy_from_slice(&self.key.to_le_bytes());
        buf[16..24].copy_from_slice(&self.time.to_le_bytes());
        buf[24..28].copy_from_slice(&self.tenant.to_le_bytes());
        buf[28..32].copy_from_slice(&self.sub.to_le_bytes());
        buf[32..40].copy_from_slice(&self.bytes.to_le_bytes());
        buf[40..48].copy_from_slice(&self.meters.to_le_bytes());
        out.write_all(&buf)
    }

    fn read(buf: &[u8; ROW_BYTES]) -> Row {
        let le = |range: std::ops::Range<usize>| -> &[u8] { &buf[range] };
        Row {
            key: u128::from_le_bytes(le(0..16).try_into().expect("16 bytes")),
            time: i64::from_le_bytes(le(16..24).try_into().expect("8 bytes")),
            tenant: u32::from_le_bytes(le(24..28).try_into().expect("4 bytes")),
            sub: u32::from_le_bytes(le(28..32).try_into().expect("4 bytes")),
            bytes: u64::from_le_bytes(le(32..40).try_into().expect("8 bytes")),
            meters: u64::from_le_bytes(le(40..48).try_into().expect("8 bytes")),
        }
    }
}

/// Strings to dense ids; id 0 is reserved for "none".
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        self.names.push(name.to_string());
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct names");
        self.ids.insert(name.to_string(), id);
        id
    }

    fn name(&self, id: u32) -> &str {
        &self.names[id as usize - 1]
    }
}

/// What happened to the lines an [`Aggregator`] accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Records accepted (after the caller's folder selection).
    pub records: u64,
    /// Later copies of a request id already seen: not counted again.
    pub duplicates: u64,
    /// Distinct requests whose `requestTime` lies outside the month.
    pub outside_month: u64,
    /// Distinct requests of the month: what the meters saw.
    pub billed_requests: u64,
}

pub struct Aggregator {
    meters: Vec<(String, Aggregation, Filter)>,
    window: Window,
    tenants: Interner,
    subs: Interner,
    partitions: Vec<Vec<Row>>,
    held: usize,
    spill_rows: usize,
    spill: Option<(tempfile::TempDir, Vec<BufWriter<File>>)>,
    records: u64,
}

impl Aggregator {
    pub fn new(config: &ValidConfig, month: Month) -> Aggregator {
        Aggregator {
            meters: config
                .meters()
                .map(|(name, m)| (name.to_string(), m.aggregation, m.filter.clone()))
                .collect(),
            window: config.window(month),
            tenants: Interner::default(),
            subs: Interner::default(),
            partitions: vec![Vec::new(); PARTITIONS],
            held: 0,
            spill_rows: DEFAULT_SPILL_ROWS,
            spill: None,
            records: 0,
        }
    }

    /// Spill after this many rows instead of [`DEFAULT_SPILL_ROWS`] (at least 1).
    pub fn with_spill_rows(mut self, rows: usize) -> Aggregator {
        self.spill_rows = rows.max(1);
        self
    }

    /// The folders and request times this month's bill reads.
    pub fn window(&self) -> Window {
        self.window
    }

    /// Whether rows have gone to temporary files.
    pub fn spilled(&self) -> bool {
        self.spill.is_some()
    }

    /// Adds one line (without its line break). Blank lines are skipped; a line that is not a
    /// usable record is an error for the caller to report, and changes nothing.
    pub fn add_line(&mut self, line: &[u8]) -> Result<(), AddError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let request = Request::parse(line).map_err(AddError::Line)?;
        let mut meters = 0u64;
        for (bit, (_, _, filter)) in self.meters.iter().enumerate() {
            if filter.matches(
                request.resource_path.as_deref(),
                request.http_method.as_deref(),
                request.status,
            ) {
                meters |= 1 << bit;
            }
        }
        let key = xxhash_rust::xxh3::xxh3_128(request.request_id.as_bytes());
        let row = Row {
            key,
            time: request.request_time,
            tenant: self.tenants.id(&request.tenant),
            sub: request.sub.as_deref().map_or(0, |s| self.subs.id(s)),
            bytes: request.response_length.map_or(0, |n| n as u64),
            meters,
        };
        self.partitions[(key >> 64) as usize % PARTITIONS].push(row);
        self.records += 1;
        self.held += 1;
        if self.held >= self.spill_rows {
            self.spill_all().map_err(AddError::Io)?;
        }
        Ok(())
    }

    fn spill_all(&mut self) -> io::Result<()> {
        if self.spill.is_none() {
            let dir = tempfile::Builder::new()
                .prefix("metering-bill-")
                .tempdir()?;
            let files = (0..PARTITIONS)
                .map(|p| File::create(partition_file(dir.path(), p)).map(BufWriter::new))
                .collect::<io::Result<Vec<_>>>()?;
            self.spill = Some((dir, files));
        }
        let (_, files) = self.spill.as_mut().expect("just created");
        for (rows, file) in self.partitions.iter_mut().zip(files.iter_mut()) {
            for row in rows.iter() {
                row.write(file)?;
            }
            rows.clear();
        }
        self.held = 0;
        Ok(())
    }

    /// De-duplicates, buckets and sums: the month's usage and what happened to the records.
    pub fn finish(mut self) -> io::Result<(Usage, Counts)> {
        // The spill directory lives (and its files stay) until this function returns.
        let spill_dir = match self.spill.take() {
            Some((dir, writers)) => {
                for w in writers {
                    w.into_inner().map_err(|e| e.into_error())?;
                }
                Some(dir)
            }
            None => None,
        };
        let n_meters = self.meters.len();
        let mut totals: Vec<Option<Vec<u64>>> = vec![None; self.tenants.names.len() + 1];
        let mut users: Vec<HashSet<(u32, u32)>> = vec![HashSet::new(); n_meters];
        let mut counts = Counts {
            records: self.records,
            ..Counts::default()
        };
        for p in 0..PARTITIONS {
            let mut rows = std::mem::take(&mut self.partitions[p]);
            if let Some(dir) = &spill_dir {
                let mut reader = BufReader::new(File::open(partition_file(dir.path(), p))?);
                let mut buf = [0u8; ROW_BYTES];
                loop {
                    match reader.read_exact(&mut buf) {
                        Ok(()) => rows.push(Row::read(&buf)),
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                        Err(e) => return Err(e),
                    }
                }
            }
            rows.sort_unstable_by_key(|r| (r.key, r.time));
            let mut previous = None;
            for row in &rows {
                if previous == Some(row.key) {
                    counts.duplicates += 1;
                    continue;
                }
                previous = Some(row.key);
                if !self.window.contains_request(row.time) {
                    counts.outside_month += 1;
                    continue;
                }
                counts.billed_requests += 1;
                let tenant = totals[row.tenant as usize].get_or_insert_with(|| vec![0; n_meters]);
                for (i, (_, aggregation, _)) in self.meters.iter().enumerate() {
                    if row.meters & (1 << i) == 0 {
                        continue;
                    }
                    match aggregation {
                        Aggregation::Count => tenant[i] += 1,
                        Aggregation::SumResponseBytes => tenant[i] += row.bytes,
                        Aggregation::UniqueUsers => {
                            if row.sub != 0 {
                                users[i].insert((row.tenant, row.sub));
                            }
                        }
                    }
                }
            }
        }
        for (i, set) in users.iter().enumerate() {
            for (tenant, _) in set {
                if let Some(t) = totals[*tenant as usize].as_mut() {
                    t[i] += 1;
                }
            }
        }
        let mut tenants = BTreeMap::new();
        for (id, total) in totals.into_iter().enumerate() {
            if let Some(total) = total {
                let meters = self
                    .meters
                    .iter()
                    .zip(total)
                    .map(|((name, _, _), n)| (name.clone(), n))
                    .collect();
                tenants.insert(self.tenants.name(id as u32).to_string(), meters);
            }
        }
        Ok((
            Usage {
                month: self.window.month,
                tenants,
            },
            counts,
        ))
    }
}

fn partition_file(dir: &std::path::Path, partition: usize) -> std::path::PathBuf {
    dir.join(format!("{partition:03}"))
}

#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error(transparent)]
    Line(LineError),
    #[error("cannot spill to a temporary file: {0}")]
    Io(io::Error),
}
