//! Which hours a scheduled run compacts: every recent hour whose Parquet files do not hold
//! all of its JSON objects ([`HourState`]), not only the hour that just ended.
//!
//! That repairs, within [`REPAIR_HOURS`], an hour whose compaction failed on every retry, an
//! hour that was empty when it was first compacted and filled later, and an hour into which
//! Firehose delivered an object after its compaction: Firehose retries a failed S3 delivery
//! for up to 24 hours and writes the object into the folder of its records' arrival hour
//! (Amazon Data Firehose Developer Guide, "Handle data delivery failures"; "Configure Amazon S3
//! object name format"). An hour older than that is left to a backfill; billing refuses a
//! month that holds one (`Billing.IncompleteMonth`), so it is never billed short.

use lambda_support::manifest::{HourState, Manifest, MANIFEST_FILE};
use lambda_support::sdk::ApiError;
use serde::Serialize;

use crate::folder::{self, S3Folder};
use crate::hour::Hour;
use crate::settings::Settings;
use crate::sql;
use lambda_support::s3::S3;

/// How many hours, ending with the one that just ended, a scheduled run looks at: Firehose's
/// 24 hours of retries after the end of an hour, its buffer (at most 900 s), the compaction
/// delay (under an hour), and the hour itself.
pub const REPAIR_HOURS: i64 = 27;

/// An hour and what the survey found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Surveyed {
    pub hour: String,
    pub state: String,
}

/// A listing or a manifest read that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hour {hour}: could not tell whether it is compacted: {what} {uri}: {error}")]
pub struct SurveyError {
    pub hour: Hour,
    pub what: &'static str,
    pub uri: String,
    pub error: ApiError,
}

/// The [`REPAIR_HOURS`] hours up to `latest`, oldest first.
pub fn recent_hours(latest: Hour) -> Vec<Hour> {
    let mut hours = vec![latest];
    while (hours.len() as i64) < REPAIR_HOURS {
        hours.push(hours[hours.len() - 1].previous());
    }
    hours.reverse();
    hours
}

/// The state of `hour`: its JSON objects against its manifest.
pub async fn hour_state<S: S3>(
    s3: &S,
    settings: &Settings,
    hour: Hour,
) -> Result<HourState, SurveyError> {
    let fail = |what, uri: String| {
        move |error| SurveyError {
            hour,
            what,
            uri,
            error,
        }
    };
    let json = sql::json_folder(settings, &hour);
    let json_keys = folder::list_keys(s3, &json)
        .await
        .map_err(fail("listing", json.to_string()))?;
    if json_keys.is_empty() {
        return Ok(HourState::Empty);
    }
    // Listed before it is read: a GetObject of a key that does not exist is refused as
    // AccessDenied, not NoSuchKey, to a role whose ListBucket is limited by prefix.
    let manifests = S3Folder::new_in(&settings.manifest_prefix, &hour.partition_path());
    let found = folder::list_keys(s3, &manifests)
        .await
        .map_err(fail("listing", manifests.to_string()))?;
    let key = format!("{}{MANIFEST_FILE}", manifests.prefix);
    if !found.contains(&key) {
        return Ok(HourState::of(&json_keys, None));
    }
    let uri = format!("s3://{}/{key}", manifests.bucket);
    let bytes = s3
        .get_object(&manifests.bucket, &key)
        .await
        .map_err(fail("reading", uri))?;
    Ok(match Manifest::from_bytes(&bytes) {
        Ok(manifest) => HourState::of(&json_keys, Some(Ok(&manifest))),
        Err(reason) => HourState::of(&json_keys, Some(Err(&reason))),
    })
}

/// Of `hours`, those that need compacting, oldest first, with what was found of each.
pub async fn hours_to_compact<S: S3>(
    s3: &S,
    settings: &Settings,
    hours: &[Hour],
) -> Result<(Vec<Hour>, Vec<Surveyed>), SurveyError> {
    let mut chosen = Vec::new();
    let mut found = Vec::new();
    for &hour in hours {
        let state = hour_state(s3, settings, hour).await?;
        if state.needs_compaction() {
            chosen.push(hour);
            found.push(Surveyed {
                hour: hour.to_string(),
                state: state.to_string(),
            });
        }
    }
    Ok((chosen, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheduled_run_looks_back_a_day_and_more() {
        let latest = Hour::parse("2026-11-01T05").unwrap();
        let hours = recent_hours(latest);
        assert_eq!(hours.len(), 27);
        assert_eq!(hours[0].to_string(), "2026-10-31T03");
        assert_eq!(hours[26], latest);
        assert!(hours.windows(2).all(|w| w[0].next() == w[1]));
    }
}
