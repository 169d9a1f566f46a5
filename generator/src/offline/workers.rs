//! Reading the units on one thread per shard: each thread takes the next unit not yet taken
//! and reads it into its own shard.

use super::units::{self, Outcome, Unit};
use metering::{FolderHour, Shard};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The outcome of each unit, in unit order. After a failure no thread starts another unit;
/// units are taken in order, so every unit before the first failure has been read, and
/// `None` (a unit not read) comes only after it.
pub fn run(
    units: &[Unit],
    files: &[(PathBuf, FolderHour)],
    shards: &mut [Shard],
) -> Vec<Option<Outcome>> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let work = |shard: &mut Shard| {
        let mut done = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(unit) = units.get(i) else { break };
            let (path, folder) = &files[unit.file];
            let outcome = units::read(unit, path, *folder, shard);
            if outcome.failure.is_some() {
                failed.store(true, Ordering::Relaxed);
            }
            done.push((i, outcome));
        }
        done
    };
    let per_thread: Vec<Vec<(usize, Outcome)>> = match shards {
        [shard] => vec![work(shard)],
        _ => std::thread::scope(|scope| {
            let work = &work;
            let handles: Vec<_> = shards
                .iter_mut()
                .map(|shard| scope.spawn(move || work(shard)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a reading thread panicked"))
                .collect()
        }),
    };
    let mut outcomes: Vec<Option<Outcome>> = (0..units.len()).map(|_| None).collect();
    for (i, outcome) in per_thread.into_iter().flatten() {
        outcomes[i] = Some(outcome);
    }
    outcomes
}
