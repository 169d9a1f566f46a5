//! The offline twin of [`usage_query`](crate::usage_query): the same de-duplication, month
//! bucketing and meters over access-log lines or usage events (one source per aggregator),
//! in memory bounded by a fixed budget.
//!
//! Each usable line becomes a 64-byte row (a 128-bit hash of the request or event id, its
//! time, the line's place in the reading, the interned tenant and user or `unique_count`
//! property values, the response length or event value, and one bit per meter it passes),
//! put in one of [`PARTITIONS`] partitions by its hash. Lines
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
use crate::event::{Event, EventError};
use crate::meter::{Aggregation, Meter, Source};
use crate::month::{FolderHour, Month, Window};
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
    /// Later copies of a request or event id already seen: not counted again.
    pub duplicates: u64,
    /// Distinct requests or events whose time lies outside the month.
    pub outside_month: u64,
    /// Distinct requests or events of the month: what the meters saw.
    pub billed: u64,
}

/// The meters and the month, as every shard and the merge read them.
struct Rules {
    source: Source,
    /// Every meter of the configuration, in name order; those of the other source pass no
    /// record.
    meters: Vec<(String, Meter)>,
    /// The properties whose values `unique_count` meters count, each once; a row's `sub` is
    /// the interned [`unique_key`](Rules::unique_key) of the event's values for them.
    unique_properties: Vec<String>,
    window: Window,
    /// The request times of the month ([`Window::contains_request`]), computed once.
    month_ms: Range<i64>,
}

impl Rules {
    fn new(config: &ValidConfig, month: Month, source: Source) -> Rules {
        let meters: Vec<(String, Meter)> = config
            .meters()
            .map(|(name, m)| (name.to_string(), m.clone()))
            .collect();
        let mut unique_properties: Vec<String> = Vec::new();
        for (_, m) in &meters {
            if let (Source::Events, Some(p)) = (m.source, &m.property) {
                if source == Source::Events && !unique_properties.contains(p) {
                    unique_properties.push(p.clone());
                }
            }
        }
        Rules {
            source,
            meters,
            unique_properties,
            window: config.window(month),
            month_ms: month.start_ms()..month.end_ms(),
        }
    }

    /// Bit `i` set when the request passes meter `i`'s filter.
    fn request_bits(&self, request: &Request) -> u64 {
        let mut bits = 0u64;
        for (bit, (_, meter)) in self.meters.iter().enumerate() {
            if meter.source == Source::AccessLog
                && meter.filter.matches(
                    request.resource_path.as_deref(),
                    request.http_method.as_deref(),
                    request.status,
                )
            {
                bits |= 1 << bit;
            }
        }
        bits
    }

    /// Bit `i` set when the event is of meter `i`'s type, passes its property filter and has
    /// what its aggregation reads: a value for `sum` and `max`, the property for
    /// `unique_count` (as SQL's aggregates skip NULLs).
    fn event_bits(&self, event: &Event) -> u64 {
        let mut bits = 0u64;
        for (bit, (_, meter)) in self.meters.iter().enumerate() {
            let reads = match meter.aggregation {
                Aggregation::Sum | Aggregation::Max => event.value.is_some(),
                Aggregation::UniqueCount => meter
                    .property
                    .as_deref()
                    .is_some_and(|p| event.properties.contains_key(p)),
                _ => true,
            };
            if meter.source == Source::Events
                && meter.event_type.as_deref() == Some(&*event.event_type)
                && reads
                && meter.filter.matches_properties(&event.properties)
            {
                bits |= 1 << bit;
            }
        }
        bits
    }

    /// The event's values of the [`unique_properties`](Rules::unique_properties), each as
    /// `<length>:<value>` or `-` when missing, one after the other: `None` when there are
    /// none to count.
    fn unique_key(&self, event: &Event) -> Option<String> {
        if self.unique_properties.is_empty() {
            return None;
        }
        let mut key = String::new();
        for p in &self.unique_properties {
            match event.properties.get(p.as_str()) {
                Some(v) => {
                    key.push_str(&v.len().to_string());
                    key.push(':');
                    key.push_str(v);
                }
                None => key.push('-'),
            }
        }
        Some(key)
    }

    /// The value of property number `slot` in a [`unique_key`](Rules::unique_key).
    fn unique_value(key: &str, slot: usize) -> Option<&str> {
        let mut rest = key;
        for i in 0.. {
            let value = if let Some(after) = rest.strip_prefix('-') {
                rest = after;
                None
            } else {
                let (length, after) = rest.split_once(':')?;
                let length: usize = length.parse().ok()?;
                let (value, after) = (after.get(..length)?, after.get(length..)?);
                rest = after;
                Some(value)
            };
            if i == slot {
                return value;
            }
        }
        None
    }

    /// The event is in some month's window: the folder it arrived in is one that the bill of
    /// the month of its time reads. Otherwise no bill ever counts it.
    fn check_window(&self, event: &Event, folder: FolderHour) -> Result<(), EventError> {
        let late_arrival_hours = self.window.late_arrival_hours;
        if crate::month::times_billed_from(folder, late_arrival_hours).contains(&event.time_ms) {
            return Ok(());
        }
        let month = Month::containing(event.time_ms).expect("event times are 1970 to 9999");
        let window = Window {
            month,
            late_arrival_hours,
        };
        debug_assert!(!window.reads_folder(folder));
        Err(EventError::OutsideAnyWindow {
            time: chrono::DateTime::from_timestamp_millis(event.time_ms)
                .expect("event times are 1970 to 9999")
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string(),
            month: month.to_string(),
            first: window.first_folder().to_string(),
            last: window.last_folder().to_string(),
            folder: folder.to_string(),
        })
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
    /// An aggregator of access-log lines that reads on one thread.
    pub fn new(config: &ValidConfig, month: Month) -> Aggregator {
        Aggregator::of(config, month, Source::AccessLog)
    }

    /// An aggregator of `source`'s lines that reads on one thread. It measures the meters of
    /// that source; the others are 0 ([`Usage::join`] puts two sources together).
    pub fn of(config: &ValidConfig, month: Month, source: Source) -> Aggregator {
        let rules = Arc::new(Rules::new(config, month, source));
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

    /// The source whose lines it reads.
    pub fn source(&self) -> Source {
        self.rules.source
    }

    /// Adds one line (without its line break) to the first shard, after the lines added
    /// before it. Blank lines are skipped; a line that is not a usable record is an error
    /// for the caller to report, and changes nothing. An event's folder is not known here,
    /// so whether it is in any month's window is not checked ([`Aggregator::add_line_in`]).
    pub fn add_line(&mut self, line: &[u8]) -> Result<(), AddError> {
        let position = self.next_position;
        self.next_position += 1;
        self.shards[0].add_line(line, position, None)
    }

    /// [`Aggregator::add_line`] for a line of a file in `folder`: an event whose time puts it
    /// in no month whose bill reads that folder is refused
    /// ([`EventError::OutsideAnyWindow`]).
    pub fn add_line_in(&mut self, line: &[u8], folder: FolderHour) -> Result<(), AddError> {
        let position = self.next_position;
        self.next_position += 1;
        self.shards[0].add_line(line, position, Some(folder))
    }

    /// The shards, one per thread, each to be given lines with their positions in the
    /// reading ([`Shard::add_line`]).
    pub fn shards(&mut self) -> &mut [Shard] {
        &mut self.shards
    }

    /// De-duplicates, buckets and sums: the month's usage and what happened to the records.
    /// Fails when a total is larger than a decimal holds (about 7.9 × 10^19 for a sum of
    /// event values), rather than bill a wrong amount.
    pub fn finish(self) -> io::Result<(Usage, Counts)> {
        merge::finish(&self.rules, self.shards)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error(transparent)]
    Line(LineError),
    #[error(transparent)]
    Event(EventError),
    #[error("cannot spill to a temporary file: {0}")]
    Io(io::Error),
}
