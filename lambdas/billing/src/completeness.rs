//! Is every hour of a month's window in the Parquet tables? The usage query reads only the
//! Parquet tables, so an hour whose JSON objects are not all in its Parquet files would be
//! billed short without any error. Before it bills, the function compares each hour's JSON
//! objects with the compaction's manifest of the hour ([`lambda_support::manifest`]) and
//! refuses the month (`Billing.IncompleteMonth`) while any hour is not compacted or stale.
//! After the query it reads the manifests again: a manifest that changed means a compaction
//! rewrote the hour while the query ran (`Billing.ChangedWhileBilled`).
//!
//! Each source is checked alike, with its own JSON folder and manifests ([`Snapshots`]): the
//! access log always, the usage events (compacted by the same function deployed a second
//! time) when the config has a meter of usage events. A config without one bills nothing from
//! the events, and its usage query does not read their table, so an events hour not compacted
//! yet cannot change an invoice: it is not listed at all, and does not hold the month back.
//!
//! Listing is by day (one ListObjectsV2 per day of the JSON folder and of the manifests,
//! page by page), and a manifest is read only for an hour that has JSON objects.

use std::collections::BTreeMap;
use std::path::Path;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use lambda_support::location::S3Location;
use lambda_support::manifest::{HourState, Manifest, MANIFEST_FILE};
use metering::{FolderHour, Month, Window};

use crate::error::BillingError;
use lambda_support::s3::{list_keys, S3};

/// Manifests read at once.
const CONCURRENT_READS: usize = 16;

/// What the check found: each hour with JSON objects, its state, and when its manifest was
/// written (0 without one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub hours: BTreeMap<FolderHour, (HourState, u64)>,
}

impl Snapshot {
    /// The hours that are not complete, as `(YYYY-MM-DDTHH, what is wrong)`, oldest first.
    pub fn incomplete(&self) -> Vec<(String, String)> {
        self.hours
            .iter()
            .filter(|(_, (state, _))| state.needs_compaction())
            .map(|(hour, (state, _))| (hour.to_string(), state.to_string()))
            .collect()
    }

    /// The hours whose manifest is not the one in `earlier`.
    pub fn changed_since(&self, earlier: &Snapshot) -> Vec<String> {
        let written = |s: &Snapshot| -> BTreeMap<FolderHour, u64> {
            s.hours.iter().map(|(h, (_, at))| (*h, *at)).collect()
        };
        let (before, after) = (written(earlier), written(self));
        let mut hours: Vec<FolderHour> = before
            .iter()
            .filter(|(h, at)| after.get(h) != Some(at))
            .map(|(h, _)| *h)
            .chain(after.keys().filter(|h| !before.contains_key(h)).copied())
            .collect();
        hours.sort();
        hours.dedup();
        hours.into_iter().map(|h| h.to_string()).collect()
    }

    /// Hours of the window that hold JSON objects.
    pub fn hours_with_objects(&self) -> usize {
        self.hours.len()
    }
}

/// Hours not complete, as `(YYYY-MM-DDTHH, what is wrong)`, oldest first.
pub type Incomplete = Vec<(String, String)>;

/// The snapshots of the sources a month is billed from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshots {
    /// The access log's hours.
    pub access_log: Snapshot,
    /// The usage events' hours; `None` when they are not checked (the config has no meter of
    /// usage events).
    pub events: Option<Snapshot>,
}

impl Snapshots {
    /// The hours that are not complete, of the access log and of the usage events
    /// ([`Snapshot::incomplete`]).
    pub fn incomplete(&self) -> (Incomplete, Incomplete) {
        (
            self.access_log.incomplete(),
            self.events
                .as_ref()
                .map(Snapshot::incomplete)
                .unwrap_or_default(),
        )
    }

    /// The hours whose manifest is not the one in `earlier`, of the access log and of the
    /// usage events ([`Snapshot::changed_since`]).
    pub fn changed_since(&self, earlier: &Snapshots) -> (Vec<String>, Vec<String>) {
        let none = Snapshot::default();
        let events = match (&self.events, &earlier.events) {
            (None, None) => Vec::new(),
            (now, before) => now
                .as_ref()
                .unwrap_or(&none)
                .changed_since(before.as_ref().unwrap_or(&none)),
        };
        (self.access_log.changed_since(&earlier.access_log), events)
    }
}

/// The days the window touches, as `year=YYYY/month=MM/day=DD`, in order.
fn days(window: &Window) -> Vec<String> {
    let mut days: Vec<String> = window
        .folders()
        .map(|h| format!("year={:04}/month={:02}/day={:02}", h.year, h.month, h.day))
        .collect();
    days.dedup();
    days
}

/// The keys under `location`'s day folders of the window, by the hour folder they are in
/// (keys outside an hour folder of the window are left out).
async fn keys_by_hour<S: S3>(
    s3: &S,
    month: Month,
    window: &Window,
    location: &S3Location,
) -> Result<BTreeMap<FolderHour, Vec<String>>, BillingError> {
    let mut by_hour: BTreeMap<FolderHour, Vec<String>> = BTreeMap::new();
    for day in days(window) {
        let prefix = format!("{}/", location.object_key(&day));
        let keys = list_keys(s3, location.bucket(), &prefix)
            .await
            .map_err(|error| BillingError::Completeness {
                month,
                action: "list",
                uri: format!("s3://{}/{prefix}", location.bucket()),
                error,
            })?;
        for key in keys {
            match FolderHour::from_path(Path::new(&key)) {
                Some(hour) if window.reads_folder(hour) => {
                    by_hour.entry(hour).or_default().push(key)
                }
                _ => {}
            }
        }
    }
    Ok(by_hour)
}

/// Every hour of `month`'s window that holds JSON objects under `json` (a source's JSON
/// folder), with its state after the manifests under `manifests`.
pub async fn check<S: S3>(
    s3: &S,
    month: Month,
    window: &Window,
    json: &S3Location,
    manifests: &S3Location,
) -> Result<Snapshot, BillingError> {
    let json_keys = keys_by_hour(s3, month, window, json).await?;
    let manifest_keys = keys_by_hour(s3, month, window, manifests).await?;
    let reads = json_keys.into_iter().map(|(hour, keys)| {
        let manifest_key = manifest_keys
            .get(&hour)
            .and_then(|found| {
                found
                    .iter()
                    .find(|k| k.ends_with(&format!("/{MANIFEST_FILE}")))
            })
            .cloned();
        async move {
            let Some(key) = manifest_key else {
                return Ok::<_, BillingError>((hour, (HourState::of(&keys, None), 0)));
            };
            let bytes = s3
                .get_object(manifests.bucket(), &key)
                .await
                .map_err(|error| BillingError::Completeness {
                    month,
                    action: "read",
                    uri: format!("s3://{}/{key}", manifests.bucket()),
                    error,
                })?;
            Ok(match Manifest::from_bytes(&bytes) {
                Ok(manifest) => (
                    hour,
                    (
                        HourState::of(&keys, Some(Ok(&manifest))),
                        manifest.compacted_at_ms,
                    ),
                ),
                Err(reason) => (hour, (HourState::of(&keys, Some(Err(&reason))), 0)),
            })
        }
    });
    let hours = stream::iter(reads)
        .buffer_unordered(CONCURRENT_READS)
        .try_collect::<BTreeMap<_, _>>()
        .await?;
    Ok(Snapshot { hours })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_listed_by_day() {
        let window = Window {
            month: "2026-10".parse().unwrap(),
            late_arrival_hours: 3,
        };
        let days = days(&window);
        assert_eq!(days.first().unwrap(), "year=2026/month=09/day=30");
        assert_eq!(days[1], "year=2026/month=10/day=01");
        assert_eq!(days.last().unwrap(), "year=2026/month=11/day=01");
        assert_eq!(days.len(), 33);
    }

    #[test]
    fn changed_manifests_are_named() {
        let hour = |h| FolderHour::new(2026, 10, 1, h).unwrap();
        let before = Snapshot {
            hours: BTreeMap::from([
                (hour(1), (HourState::Complete, 10)),
                (hour(2), (HourState::Complete, 20)),
            ]),
        };
        let mut after = before.clone();
        assert!(after.changed_since(&before).is_empty());
        after.hours.insert(hour(2), (HourState::Complete, 21));
        after.hours.insert(hour(3), (HourState::Complete, 30));
        assert_eq!(
            after.changed_since(&before),
            ["2026-10-01T02", "2026-10-01T03"]
        );
    }

    #[test]
    fn each_source_is_reported_apart() {
        let hour = |h| FolderHour::new(2026, 10, 1, h).unwrap();
        let complete = Snapshot {
            hours: BTreeMap::from([(hour(1), (HourState::Complete, 10))]),
        };
        let missing = HourState::of(
            &["usage-events/year=2026/month=10/day=01/hour=02/a".to_owned()],
            None,
        );
        let events = Snapshot {
            hours: BTreeMap::from([
                (hour(1), (HourState::Complete, 11)),
                (hour(2), (missing.clone(), 0)),
            ]),
        };
        let unchecked = Snapshots {
            access_log: complete.clone(),
            events: None,
        };
        assert_eq!(unchecked.incomplete(), (vec![], vec![]));
        let both = Snapshots {
            access_log: complete.clone(),
            events: Some(events.clone()),
        };
        assert_eq!(
            both.incomplete(),
            (
                vec![],
                vec![("2026-10-01T02".to_owned(), missing.to_string())]
            )
        );
        assert_eq!(both.changed_since(&both), (vec![], vec![]));
        let mut after = both.clone();
        after
            .events
            .as_mut()
            .unwrap()
            .hours
            .insert(hour(1), (HourState::Complete, 12));
        assert_eq!(
            after.changed_since(&both),
            (vec![], vec!["2026-10-01T01".to_owned()])
        );
        after
            .access_log
            .hours
            .insert(hour(3), (HourState::Complete, 30));
        assert_eq!(
            after.changed_since(&both),
            (
                vec!["2026-10-01T03".to_owned()],
                vec!["2026-10-01T01".to_owned()]
            )
        );
    }
}
