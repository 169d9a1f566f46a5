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
use pricing::Decimal;
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
        total.absorb(rules, partial?);
    }
    let mut counts = total.counts;
    counts.records = closed.iter().map(|c| c.records).sum();
    Ok((total.usage(rules, &tenants, &subs)?, counts))
}

/// The sums of some partitions.
struct Partial {
    /// By tenant id: `None` for a tenant without a record of the month (so far). Bytes and
    /// counts as integers, event values in units of 10^-[`VALUE_SCALE`](crate::VALUE_SCALE).
    totals: Vec<Option<Vec<u128>>>,
    /// By meter: the (tenant, user) pairs seen, for unique-user meters; the (tenant, property
    /// values) pairs, for unique-count meters.
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
            self.counts.billed += 1;
            let tenant = self.totals[row.tenant as usize].get_or_insert_with(|| vec![0; n_meters]);
            for (i, (_, meter)) in rules.meters.iter().enumerate() {
                if row.meters & (1 << i) == 0 {
                    continue;
                }
                match meter.aggregation {
                    Aggregation::Count => tenant[i] += 1,
                    Aggregation::SumResponseBytes | Aggregation::Sum => tenant[i] += row.amount,
                    Aggregation::Max => tenant[i] = tenant[i].max(row.amount),
                    Aggregation::UniqueUsers | Aggregation::UniqueCount => {
                        if row.sub != 0 {
                            self.users[i].insert((row.tenant, row.sub));
                        }
                    }
                }
            }
        }
    }

    fn absorb(&mut self, rules: &Rules, other: Partial) {
        for (mine, theirs) in self.totals.iter_mut().zip(other.totals) {
            match (mine.as_mut(), theirs) {
                (_, None) => {}
                (None, theirs) => *mine = theirs,
                (Some(mine), Some(theirs)) => {
                    for ((a, b), (_, meter)) in mine.iter_mut().zip(theirs).zip(&rules.meters) {
                        match meter.aggregation {
                            Aggregation::Max => *a = (*a).max(b),
                            _ => *a += b,
                        }
                    }
                }
            }
        }
        for (mine, theirs) in self.users.iter_mut().zip(other.users) {
            mine.extend(theirs);
        }
        self.counts.duplicates += other.counts.duplicates;
        self.counts.outside_month += other.counts.outside_month;
        self.counts.billed += other.counts.billed;
    }

    fn usage(mut self, rules: &Rules, tenants: &Interner, subs: &Interner) -> io::Result<Usage> {
        for (i, set) in self.users.iter().enumerate() {
            let (_, meter) = &rules.meters[i];
            if set.is_empty() {
                continue;
            }
            if meter.aggregation == Aggregation::UniqueCount {
                // A row's key holds the values of every counted property: count the distinct
                // values of this meter's own.
                let slot = rules
                    .unique_properties
                    .iter()
                    .position(|p| Some(p) == meter.property.as_ref())
                    .expect("every unique_count property has a slot");
                let distinct: HashSet<(u32, &str)> = set
                    .iter()
                    .filter_map(|(tenant, key)| {
                        Rules::unique_value(subs.name(*key), slot).map(|v| (*tenant, v))
                    })
                    .collect();
                for (tenant, _) in distinct {
                    if let Some(t) = self.totals[tenant as usize].as_mut() {
                        t[i] += 1;
                    }
                }
                continue;
            }
            for (tenant, _) in set {
                if let Some(t) = self.totals[*tenant as usize].as_mut() {
                    t[i] += 1;
                }
            }
        }
        let mut usage = BTreeMap::new();
        for (id, total) in self.totals.into_iter().enumerate() {
            let Some(total) = total else { continue };
            let tenant = tenants.name(id as u32);
            let mut meters = BTreeMap::new();
            for ((name, meter), n) in rules.meters.iter().zip(total) {
                let exact = match meter.aggregation {
                    Aggregation::Sum | Aggregation::Max => crate::amount_decimal(n),
                    _ => i128::try_from(n)
                        .ok()
                        .and_then(|n| Decimal::try_from_i128_with_scale(n, 0).ok()),
                };
                let value = exact.ok_or_else(|| {
                    io::Error::other(format!(
                        "the {} usage of meter `{name}` for tenant `{tenant}` is larger than a decimal holds",
                        rules.window.month
                    ))
                })?;
                meters.insert(name.clone(), value);
            }
            usage.insert(tenant.to_string(), meters);
        }
        Ok(Usage {
            month: rules.window.month,
            tenants: usage,
        })
    }
}
