//! The end of the aggregation: one partition at a time, the rows of every shard, sorted so
//! that the copies of a request id lie side by side with the one that counts first; then the
//! month's requests summed per tenant. Partitions share no request id, so several threads
//! merge different partitions and their sums are added.

use super::intern::Interner;
use super::row::Row;
use super::shard::Shard;
use super::{Counts, Rules, PARTITIONS};
use crate::meter::Aggregation;
use crate::usage::Usage;
use std::collections::{BTreeMap, HashSet};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(super) fn finish(rules: &Rules, shards: Vec<Shard>) -> io::Result<(Usage, Counts)> {
    let threads = shards.len();
    let closed = shards
        .into_iter()
        .map(Shard::close)
        .collect::<io::Result<Vec<_>>>()?;
    let (mut tenants, mut subs) = (Interner::default(), Interner::default());
    let ids: Vec<(Vec<u32>, Vec<u32>)> = closed
        .iter()
        .map(|c| (tenants.ids_of(&c.tenants), subs.ids_of(&c.subs)))
        .collect();
    let next = AtomicUsize::new(0);
    let merge = || -> io::Result<Partial> {
        let mut partial = Partial::new(tenants.len(), rules.meters.len());
        let mut readers = closed
            .iter()
            .map(|shard| shard.reader())
            .collect::<io::Result<Vec<_>>>()?;
        let mut rows = Vec::new();
        loop {
            let p = next.fetch_add(1, Ordering::Relaxed);
            if p >= PARTITIONS {
                return Ok(partial);
            }
            rows.clear();
            for (reader, (tenant_ids, sub_ids)) in readers.iter_mut().zip(&ids) {
                let start = rows.len();
                reader.rows(p, &mut rows)?;
                for row in &mut rows[start..] {
                    row.tenant = tenant_ids[row.tenant as usize];
                    row.sub = sub_ids[row.sub as usize];
                }
            }
            partial.add(rules, &mut rows);
        }
    };
    let partials: Vec<io::Result<Partial>> = if threads == 1 {
        vec![merge()]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads).map(|_| scope.spawn(merge)).collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a merging thread panicked"))
                .collect()
        })
    };
    let mut total = Partial::new(tenants.len(), rules.meters.len());
    for partial in partials {
        total.absorb(partial?);
    }
    let mut counts = total.counts;
    counts.records = closed.iter().map(|c| c.records).sum();
    Ok((total.usage(rules, &tenants), counts))
}

/// The sums of some partitions.
struct Partial {
    /// By tenant id: `None` for a tenant without a request of the month (so far).
    totals: Vec<Option<Vec<u64>>>,
    /// By meter: the (tenant, user) pairs seen, for unique-user meters.
    users: Vec<HashSet<(u32, u32), foldhash::fast::FixedState>>,
    counts: Counts,
}

impl Partial {
    fn new(tenants: usize, meters: usize) -> Partial {
        Partial {
            totals: vec![None; tenants + 1],
            users: vec![HashSet::default(); meters],
            counts: Counts::default(),
        }
    }

    /// Adds one partition's rows (all copies of their request ids).
    fn add(&mut self, rules: &Rules, rows: &mut [Row]) {
        let n_meters = rules.meters.len();
        rows.sort_unstable_by_key(Row::order);
        let mut previous = None;
        for row in rows.iter() {
            if previous == Some(row.key) {
                self.counts.duplicates += 1;
                continue;
            }
            previous = Some(row.key);
            if !rules.month_ms.contains(&row.time) {
                self.counts.outside_month += 1;
                continue;
            }
            self.counts.billed_requests += 1;
            let tenant = self.totals[row.tenant as usize].get_or_insert_with(|| vec![0; n_meters]);
            for (i, (_, aggregation, _)) in rules.meters.iter().enumerate() {
                if row.meters & (1 << i) == 0 {
                    continue;
                }
                match aggregation {
                    Aggregation::Count => tenant[i] += 1,
                    Aggregation::SumResponseBytes => tenant[i] += row.bytes,
                    Aggregation::UniqueUsers => {
                        if row.sub != 0 {
                            self.users[i].insert((row.tenant, row.sub));
                        }
                    }
                }
            }
        }
    }

    fn absorb(&mut self, other: Partial) {
        for (mine, theirs) in self.totals.iter_mut().zip(other.totals) {
            match (mine.as_mut(), theirs) {
                (_, None) => {}
                (None, theirs) => *mine = theirs,
                (Some(mine), Some(theirs)) => {
                    for (a, b) in mine.iter_mut().zip(theirs) {
                        *a += b;
                    }
                }
            }
        }
        for (mine, theirs) in self.users.iter_mut().zip(other.users) {
            mine.extend(theirs);
        }
        self.counts.duplicates += other.counts.duplicates;
        self.counts.outside_month += other.counts.outside_month;
        self.counts.billed_requests += other.counts.billed_requests;
    }

    fn usage(mut self, rules: &Rules, tenants: &Interner) -> Usage {
        for (i, set) in self.users.iter().enumerate() {
            for (tenant, _) in set {
                if let Some(t) = self.totals[*tenant as usize].as_mut() {
                    t[i] += 1;
                }
            }
        }
        let mut usage = BTreeMap::new();
        for (id, total) in self.totals.into_iter().enumerate() {
            if let Some(total) = total {
                let meters = rules
                    .meters
                    .iter()
                    .zip(total)
                    .map(|((name, _, _), n)| (name.clone(), n))
                    .collect();
                usage.insert(tenants.name(id as u32).to_string(), meters);
            }
        }
        Usage {
            month: rules.window.month,
            tenants: usage,
        }
    }
}
