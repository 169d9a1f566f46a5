//! The manifest of a compacted hour: which of the hour's JSON objects its Parquet files were
//! made from. The compaction writes it after the hour's Parquet files and deletes it before it
//! touches them again; the billing function reads it to know that every hour of a month is
//! complete before it bills.
//!
//! Firehose retries a failed S3 delivery for up to 24 hours and writes a late object into the
//! hour folder of its records' original arrival (Amazon Data Firehose Developer Guide, "Handle
//! data delivery failures" and "Configure Amazon S3 object name format"). An hour is therefore
//! complete only when every JSON object in its folder is one the manifest lists: an object
//! that came after the compaction listed the folder makes the hour [`HourState::Stale`]. The
//! check is by key, not by time or count, so objects that expire from the JSON folder
//! (`deployment.json_retention_in_days`) never make an hour look stale.
//!
//! Manifests live under their own prefix (`MANIFEST_PREFIX`), outside both tables' folders:
//! Athena reads every object under a table's location as data.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::location::S3Location;

/// The manifest's file name inside its hour folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// What one compaction of one hour saw and wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `YYYY-MM-DDTHH`.
    pub hour: String,
    /// The keys of the hour's JSON objects when the compaction listed its folder, sorted. The
    /// Parquet files hold every request of these objects (and maybe of later ones).
    pub json_objects: Vec<String>,
    /// Rows with a request id read from the JSON objects.
    pub rows_in: u64,
    /// Rows written to Parquet: one per request id.
    pub rows_out: u64,
    /// Lines that were no request (not JSON, or without a request id).
    pub rows_malformed: u64,
    /// When the Parquet files were complete (epoch milliseconds).
    pub compacted_at_ms: u64,
}

impl Manifest {
    /// The manifest as stored: pretty JSON with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a manifest serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Reads a stored manifest; the error says what is wrong with it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a compaction manifest: {e}"))
    }
}

/// The key of the manifest of the hour whose folder is `partition_path`
/// (`year=YYYY/month=MM/day=DD/hour=HH`) under `location`.
pub fn manifest_key(location: &S3Location, partition_path: &str) -> String {
    location.object_key(&format!("{partition_path}/{MANIFEST_FILE}"))
}

/// Whether an hour's Parquet files hold every JSON object of its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HourState {
    /// The JSON folder holds no object: nothing to compact.
    Empty,
    /// The manifest lists every JSON object of the folder.
    Complete,
    /// JSON objects and no manifest: never compacted, or its last compaction failed, or one is
    /// running now.
    Missing { json_objects: usize },
    /// JSON objects that the manifest does not list: they arrived after the compaction.
    Stale { new_objects: usize },
    /// The manifest cannot be read as one.
    Unreadable { reason: String },
}

impl HourState {
    /// Of an hour whose folder holds `json_keys` and whose manifest is `manifest` (`None`: no
    /// manifest object; `Some(Err)`: one that is not a manifest).
    pub fn of(json_keys: &[String], manifest: Option<Result<&Manifest, &str>>) -> Self {
        if json_keys.is_empty() {
            return Self::Empty;
        }
        match manifest {
            None => Self::Missing {
                json_objects: json_keys.len(),
            },
            Some(Err(reason)) => Self::Unreadable {
                reason: reason.to_owned(),
            },
            Some(Ok(manifest)) => {
                let listed: BTreeSet<&str> =
                    manifest.json_objects.iter().map(String::as_str).collect();
                match json_keys
                    .iter()
                    .filter(|key| !listed.contains(key.as_str()))
                    .count()
                {
                    0 => Self::Complete,
                    new_objects => Self::Stale { new_objects },
                }
            }
        }
    }

    /// Whether the hour needs (another) compaction.
    pub fn needs_compaction(&self) -> bool {
        !matches!(self, Self::Empty | Self::Complete)
    }
}

impl fmt::Display for HourState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("no JSON objects"),
            Self::Complete => f.write_str("complete"),
            Self::Missing { json_objects } => {
                write!(
                    f,
                    "not compacted ({json_objects} JSON objects, no manifest)"
                )
            }
            Self::Stale { new_objects } => write!(
                f,
                "stale ({new_objects} JSON objects arrived after its compaction)"
            ),
            Self::Unreadable { reason } => write!(f, "manifest unreadable: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<String> {
        names
            .iter()
            .map(|n| format!("json-data/year=2026/month=10/day=01/hour=05/{n}"))
            .collect()
    }

    fn manifest(names: &[&str]) -> Manifest {
        Manifest {
            hour: "2026-10-01T05".into(),
            json_objects: keys(names),
            rows_in: 3,
            rows_out: 3,
            rows_malformed: 0,
            compacted_at_ms: 1,
        }
    }

    #[test]
    fn an_hour_is_complete_when_the_manifest_lists_every_object() {
        let m = manifest(&["a", "b"]);
        assert_eq!(
            HourState::of(&keys(&["a", "b"]), Some(Ok(&m))),
            HourState::Complete
        );
        // An object that expired from the JSON folder leaves the hour complete.
        assert_eq!(
            HourState::of(&keys(&["b"]), Some(Ok(&m))),
            HourState::Complete
        );
        assert_eq!(
            HourState::of(&keys(&["a", "b", "c", "d"]), Some(Ok(&m))),
            HourState::Stale { new_objects: 2 }
        );
        assert_eq!(
            HourState::of(&keys(&["a"]), None),
            HourState::Missing { json_objects: 1 }
        );
        assert_eq!(HourState::of(&[], None), HourState::Empty);
        assert_eq!(HourState::of(&[], Some(Ok(&m))), HourState::Empty);
        let unreadable = HourState::of(&keys(&["a"]), Some(Err("not JSON")));
        assert!(unreadable.needs_compaction(), "{unreadable}");
        assert!(!HourState::Complete.needs_compaction());
        assert!(!HourState::Empty.needs_compaction());
    }

    #[test]
    fn manifests_round_trip_and_live_in_their_hour_folder() {
        let m = manifest(&["a"]);
        assert_eq!(Manifest::from_bytes(&m.to_bytes()), Ok(m));
        assert!(Manifest::from_bytes(b"{\"hour\": 1}").is_err());
        let location = S3Location::parse("s3://data/compaction-manifests").unwrap();
        assert_eq!(
            manifest_key(&location, "year=2026/month=10/day=01/hour=05"),
            "compaction-manifests/year=2026/month=10/day=01/hour=05/manifest.json"
        );
    }
}
