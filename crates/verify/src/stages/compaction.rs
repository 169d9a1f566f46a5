//! Stage 5: the compaction puts each record in the Parquet table once, and doing it again
//! changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::{records_condition, Finding, Hour, Outcome, Records};
use crate::Verifier;

/// Invocations of a compaction refused because the hour is leased by another run.
pub const LOCKED_TRIES: u32 = 3;

impl Verifier {
    pub(crate) async fn compaction_stage(&self, records: &Records) -> Outcome<()> {
        let hours: BTreeSet<Hour> = records.values().map(|r| r.hour).collect();
        let function = &self.stack.compaction_function_name;
        let mut counts = Vec::new();
        for round in ["first", "second"] {
            for hour in &hours {
                self.compact(function, *hour).await.map_err(|e| {
                    Finding::new(format!("the {round} compaction of {hour} failed: {e}"))
                })?;
            }
            counts.push(self.parquet_counts(records).await?);
        }
        let (first, second) = (&counts[0], &counts[1]);
        let mut problems = Vec::new();
        for id in records.keys() {
            match first.get(id) {
                Some(1) => {}
                Some(n) => problems.push(format!("{id} is in the Parquet table {n} times")),
                None => problems.push(format!("{id} is not in the Parquet table")),
            }
        }
        if !problems.is_empty() {
            let mut finding = Finding::new(format!(
                "the Parquet table {} does not hold each record once after the compaction",
                self.stack.parquet_table
            ));
            finding.details = problems;
            return Err(finding);
        }
        if first != second {
            return Err(Finding::new(
                "compacting the hour again changed the Parquet table's rows of these requests",
            )
            .detail(format!("first {first:?}"))
            .detail(format!("second {second:?}")));
        }
        let hours: Vec<String> = hours.iter().map(Hour::to_string).collect();
        Ok((
            (),
            Finding::new(format!(
                "compacted {} twice: the Parquet table holds each of the {} records once, both times",
                hours.join(", "),
                records.len()
            )),
        ))
    }

    /// Compacts `hour` early. The scheduled run may hold the hour's lease (a few minutes
    /// after each hour): the function then fails with `Compaction.Locked`, and the
    /// invocation is repeated after [`Options::locked_wait`](crate::Options), up to
    /// [`LOCKED_TRIES`] times in all.
    pub(crate) async fn compact(&self, function: &str, hour: Hour) -> Result<(), String> {
        // `early`: the hour may still be open; the scheduled run compacts it again once it
        // has ended.
        let event = json!({"hour": hour.to_string(), "early": true});
        let mut tries = 1;
        loop {
            match self.invoke(function, &event).await {
                Ok(_) => return Ok(()),
                Err(e) if e.error_type.as_deref() != Some("Compaction.Locked") => {
                    return Err(e.to_string())
                }
                Err(e) if tries == LOCKED_TRIES => {
                    return Err(format!(
                        "the hour was still locked by another run after {LOCKED_TRIES} tries {} s \
                         apart (the scheduled run?): {e}",
                        self.options.locked_wait.as_secs()
                    ))
                }
                Err(_) => {
                    tokio::time::sleep(self.options.locked_wait).await;
                    tries += 1;
                }
            }
        }
    }

    /// request id → rows in the Parquet table, for the records' ids.
    async fn parquet_counts(&self, records: &Records) -> Result<BTreeMap<String, u64>, Finding> {
        let sql = format!(
            "SELECT requestid, count(*) FROM {} WHERE {} GROUP BY requestid",
            self.stack.parquet_table,
            records_condition(records)
        );
        let rows = self
            .query(&sql)
            .await
            .map_err(|e| Finding::new(format!("the Parquet table query failed: {e}")))?;
        let mut counts = BTreeMap::new();
        for row in rows {
            let mut cells = row.into_iter();
            let (Some(Some(id)), Some(Some(count))) = (cells.next(), cells.next()) else {
                continue;
            };
            let count = count.parse().map_err(|_| {
                Finding::new(format!("the Parquet table query gave the count {count:?}"))
            })?;
            counts.insert(id, count);
        }
        Ok(counts)
    }
}
