//! The offline twin of [`usage_query`](crate::usage_query): the same de-duplication, month
//! bucketing and meters over access-log lines, in memory bounded by a fixed budget.
//!
//! Each usable line becomes a 56-byte row (a 128-bit hash of the request id, the request
//! time, the line's place in the reading, interned tenant and user, the response length and
//! one bit per meter it passes), put in one of [`PARTITIONS`] partitions by its hash. Lines
//! are read by one [`Shard`] per thread; a shard whose share of the spill limit is full
//! appends its partitions, one after the other, to its temporary file.
//! [`Aggregator::finish`] then takes one partition at a time from every shard: all copies of
//! a request id are in the same partition, so sorting it by (hash, time, place) puts them
//! side by side, and the earliest copy is kept, as the query's `row_number() OVER (PARTITION
//! BY requestid ORDER BY requesttime)`; of copies with the same time, the one read first,
//! whichever thread read it. Memory is the spill limit plus one partition per thread,
//! whatever the number of lines.

mod intern;
mod merge;
mod row;
mod shard;

pub use shard::Shard;

use crate::config::ValidConfig;
use crate::meter::{Aggregation, Filter};
use crate::month::{Month, Window};
use crate::record::{LineError, Request};
use crate::usage::Usage;
use std::io;
use std::ops::Range;
use std::sync::Arc;

pub const PARTITIONS: usize = 256;
/// Rows held in memory before spilling, shared by the shards: 14 MiB. Spilled rows go to
/// the page cache and come back with one read per partition and spill, so a larger budget
/// buys no speed (docs/benchmarks.md).
pub const DEFAULT_SPILL_ROWS: usize = 1 << 18;

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

/// The meters and the month, as every shard and the merge read them.
struct Rules {
    meters: Vec<(String, Aggregation, Filter)>,
    window: Window,
    /// The request times of the month ([`Window::contains_request`]), computed once.
    month_ms: Range<i64>,
}

impl Rules {
    /// Bit `i` set when the request passes meter `i`'s filter.
    fn meter_bits(&self, request: &Request) -> u64 {
        let mut bits = 0u64;
        for (bit, (_, _, filter)) in self.meters.iter().enumerate() {
            if filter.matches(
                request.resource_path.as_deref(),
                request.http_method.as_deref(),
                request.status,
            ) {
                bits |= 1 << bit;
            }
        }
        bits
    }
}

pub struct Aggregator {
    rules: Arc<Rules>,
    spill_rows: usize,
    shards: Vec<Shard>,
    /// The position of the next line given to [`Aggregator::add_line`].
    next_position: u64,
}

impl Aggregator {
    /// An aggregator that reads on one thread.
    pub fn new(config: &ValidConfig, month: Month) -> Aggregator {
        let rules = Arc::new(Rules {
            meters: config
                .meters()
                .map(|(name, m)| (name.to_string(), m.aggregation, m.filter.clone()))
                .collect(),
            window: config.window(month),
            month_ms: month.start_ms()..month.end_ms(),
        });
        Aggregator {
            shards: vec![Shard::new(rules.clone(), DEFAULT_SPILL_ROWS)],
            rules,
            spill_rows: DEFAULT_SPILL_ROWS,
            next_position: 0,
        }
    }

    /// Spill after this many rows in all (each shard after its share, at least 1) instead
    /// of [`DEFAULT_SPILL_ROWS`].
    pub fn with_spill_rows(mut self, rows: usize) -> Aggregator {
        self.spill_rows = rows.max(1);
        self.share_the_budget();
        self
    }

    /// One shard per thread (at least 1), for [`Aggregator::shards`]; `finish` merges on as
    /// many threads. Set before any line is added.
    pub fn with_threads(mut self, threads: usize) -> Aggregator {
        assert!(
            self.shards.iter().all(|s| s.records == 0),
            "the threads are set before lines are added"
        );
        self.shards = (0..threads.max(1))
            .map(|_| Shard::new(self.rules.clone(), self.spill_rows))
            .collect();
        self.share_the_budget();
        self
    }

    fn share_the_budget(&mut self) {
        let share = (self.spill_rows / self.shards.len()).max(1);
        for shard in &mut self.shards {
            shard.spill_rows = share;
        }
    }

    pub fn threads(&self) -> usize {
        self.shards.len()
    }

    /// The folders and request times this month's bill reads.
    pub fn window(&self) -> Window {
        self.rules.window
    }

    /// Whether rows have gone to temporary files.
    pub fn spilled(&self) -> bool {
        self.shards.iter().any(Shard::spilled)
    }

    /// Adds one line (without its line break) to the first shard, after the lines added
    /// before it. Blank lines are skipped; a line that is not a usable record is an error
    /// for the caller to report, and changes nothing.
    pub fn add_line(&mut self, line: &[u8]) -> Result<(), AddError> {
        let position = self.next_position;
        self.next_position += 1;
        self.shards[0].add_line(line, position)
    }

    /// The shards, one per thread, each to be given lines with their positions in the
    /// reading ([`Shard::add_line`]).
    pub fn shards(&mut self) -> &mut [Shard] {
        &mut self.shards
    }

    /// De-duplicates, buckets and sums: the month's usage and what happened to the records.
    pub fn finish(self) -> io::Result<(Usage, Counts)> {
        merge::finish(&self.rules, self.shards)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error(transparent)]
    Line(LineError),
    #[error("cannot spill to a temporary file: {0}")]
    Io(io::Error),
}
