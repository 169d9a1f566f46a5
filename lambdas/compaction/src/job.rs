//! Compacting one hour:
//!
//! 0. take the hour's lease ([`lambda_support::lease`]), so that no other run works on the
//!    hour at the same time; a live lease of another run fails the hour as `Locked`;
//! 1. list the hour's JSON folder: nothing there, nothing to do;
//! 2. count its rows and distinct request (or event) ids: no rows, only the manifest is
//!    written (step 5);
//! 3. delete the hour's manifest, then whatever an earlier run left in the hour's Parquet
//!    folder, since CTAS refuses a folder that is not empty;
//! 4. drop a leftover temporary table, CTAS, drop the temporary table;
//! 5. write the hour's manifest ([`lambda_support::manifest`]): the JSON objects listed in
//!    step 1, whose requests (or events) the Parquet files now hold;
//! 6. release the lease, whatever happened.
//!
//! Each step waits for the one before it, so running an hour again gives the same files. A
//! query that fails with a retryable error is resubmitted ([`lambda_support::query`]); a
//! failed CTAS may have left part of its files and its temporary table behind, so its
//! resubmission starts again from step 3.
//!
//! The steps are the same for access logs and usage events ([`Source`]); only the count and
//! the CTAS differ ([`crate::sql`]).

use std::time::Duration;

use lambda_support::athena::{Athena, QueryRequest};
use lambda_support::lease::{now_epoch_ms, Holder, LeaseLock, LeaseStore};
use lambda_support::manifest::{manifest_key, Manifest};
use lambda_support::query::{Attempt, QueryFailure, QueryJob, QueryPolicy};
use lambda_support::sdk::ApiError;
use serde::Serialize;
use tokio::time::Instant;

use crate::counts::RowCounts;
use crate::error::{HourError, ManifestAction, Phase};
use crate::folder;
use crate::hour::Hour;
use crate::query::{run_simple_step, run_step, step_results, QueryRecord, StepRequest};
use crate::settings::{Settings, Source};
use crate::sql::{self, Step};
use lambda_support::s3::S3;

/// How an hour ended when nothing went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Compacted,
    /// The JSON folder holds no object.
    NoObjects,
    /// The JSON files hold no row.
    NoRows,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Compacted => "compacted",
            Outcome::NoObjects | Outcome::NoRows => "empty",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Outcome::Compacted => "hour compacted",
            Outcome::NoObjects => "hour skipped: no JSON files in its folder",
            Outcome::NoRows => "hour skipped: its JSON files hold no rows",
        }
    }
}

/// What happened to one hour; logged as one line by [`HourReport::log`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourReport {
    pub hour: Hour,
    /// What the instance compacts.
    pub source: Source,
    /// The hour's JSON folder, `s3://…/`.
    pub source_folder: String,
    /// The hour's Parquet folder, `s3://…/`.
    pub destination: String,
    pub counts: Option<RowCounts>,
    pub objects_deleted: u64,
    pub queries: Vec<QueryRecord>,
    pub elapsed: Duration,
    pub outcome: Result<Outcome, HourError>,
}

/// The ids of an hour's queries; `None` for those not started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueryIds {
    pub count: Option<String>,
    pub drop_leftover: Option<String>,
    pub ctas: Option<String>,
    pub drop_temp: Option<String>,
}

/// An hour as the response and the log line show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HourSummary {
    pub hour: String,
    /// `compacted`, `empty` or `failed`.
    pub outcome: &'static str,
    /// `access_logs` or `usage_events`: which instance ran.
    pub source: &'static str,
    pub rows_in: Option<u64>,
    pub rows_out: Option<u64>,
    /// Lines of the hour that were no request (not valid JSON, or without a request id) or no
    /// usage event (flagged by the ingestion): left out of the Parquet files, and shown only
    /// when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_malformed: Option<u64>,
    /// Usage events whose time no bill reads from the hour's folder: written, flagged, never
    /// billed; shown only when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_outside_windows: Option<u64>,
    pub objects_deleted: u64,
    pub query_ids: QueryIds,
}

#[derive(Serialize)]
struct LogFields<'a> {
    #[serde(flatten)]
    summary: &'a HourSummary,
    error: Option<String>,
    error_kind: Option<&'static str>,
    /// The JSON folder (`source` is the [`Source`] of the summary).
    source_folder: &'a str,
    destination: &'a str,
    elapsed_ms: u64,
    /// Every query execution, when one was resubmitted: the ids of the failed attempts.
    #[serde(skip_serializing_if = "Option::is_none")]
    queries: Option<&'a [QueryRecord]>,
}

impl HourReport {
    /// The id of the last query execution of `step` (a resubmission's, if any).
    pub fn query_id(&self, step: Step) -> Option<&str> {
        self.queries
            .iter()
            .rfind(|q| q.step == step)
            .map(|q| q.query_execution_id.as_str())
    }

    pub fn summary(&self) -> HourSummary {
        let id = |step| self.query_id(step).map(str::to_owned);
        HourSummary {
            hour: self.hour.to_string(),
            outcome: match &self.outcome {
                Ok(outcome) => outcome.name(),
                Err(_) => "failed",
            },
            rows_in: self.counts.map(|c| c.rows_in),
            rows_out: self.counts.map(|c| c.rows_out),
            source: self.source.name(),
            rows_malformed: self.counts.map(|c| c.rows_malformed).filter(|&n| n > 0),
            rows_outside_windows: self
                .counts
                .map(|c| c.rows_outside_windows)
                .filter(|&n| n > 0),
            objects_deleted: self.objects_deleted,
            query_ids: QueryIds {
                count: id(Step::Count),
                drop_leftover: id(Step::DropLeftover),
                ctas: id(Step::Ctas),
                drop_temp: id(Step::DropTemp),
            },
        }
    }

    /// One JSON line: the [`HourSummary`] plus `error`, `error_kind`, `source_folder`,
    /// `destination` and `elapsed_ms`.
    pub fn log(&self) {
        let summary = self.summary();
        let error = self.outcome.as_ref().err();
        let fields = LogFields {
            summary: &summary,
            error: error.map(ToString::to_string),
            error_kind: error.map(HourError::kind),
            source_folder: &self.source_folder,
            destination: &self.destination,
            elapsed_ms: u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX),
            queries: self
                .queries
                .iter()
                .any(|q| q.attempt > 1)
                .then_some(self.queries.as_slice()),
        };
        let fields_json = serde_json::to_string(&fields).expect("log fields serialize");
        let fields_json = fields_json.as_str();
        match &self.outcome {
            Ok(outcome) => tracing::info!(fields_json, "{}", outcome.message()),
            Err(_) => tracing::error!(fields_json, "hour compaction failed"),
        }
    }
}

/// What compacting an hour needs.
pub struct Compactor<'a, A, S, L> {
    pub athena: &'a A,
    pub s3: &'a S,
    pub settings: &'a Settings,
    pub policy: &'a QueryPolicy,
    /// The hours' leases and who takes them; `None` runs without a lock (tests).
    pub lock: Option<(&'a LeaseLock<L>, &'a Holder)>,
}

impl<A: Athena, S: S3, L: LeaseStore> Compactor<'_, A, S, L> {
    /// Compacts `hour`, giving up at `deadline`. Never panics on AWS errors: the outcome is
    /// in the report.
    pub async fn compact_hour(&self, hour: Hour, deadline: Instant) -> HourReport {
        let started = Instant::now();
        let mut report = HourReport {
            hour,
            source: self.settings.source,
            source_folder: sql::json_location(self.settings, &hour),
            destination: sql::parquet_location(self.settings, &hour),
            counts: None,
            objects_deleted: 0,
            queries: Vec::with_capacity(4),
            elapsed: Duration::ZERO,
            outcome: Ok(Outcome::Compacted),
        };
        let outcome = match self.lock {
            None => self.run(deadline, &mut report).await,
            Some((lock, holder)) => self.run_locked(lock, holder, deadline, &mut report).await,
        };
        report.outcome = outcome;
        report.elapsed = started.elapsed();
        report
    }

    /// [`Self::run`] holding the hour's lease (named [`Hour::compact`], e.g. `2026110105`).
    async fn run_locked(
        &self,
        lock: &LeaseLock<L>,
        holder: &Holder,
        deadline: Instant,
        report: &mut HourReport,
    ) -> Result<Outcome, HourError> {
        let hour = report.hour;
        before(hour, deadline, Phase::ListJson)?;
        lock.holding(
            &hour.compact(),
            holder,
            |error| HourError::lease(hour, error),
            || self.run(deadline, report),
        )
        .await
    }

    async fn run(&self, deadline: Instant, report: &mut HourReport) -> Result<Outcome, HourError> {
        let Self {
            athena,
            s3,
            settings,
            policy,
            ..
        } = *self;
        let hour = report.hour;

        before(hour, deadline, Phase::ListJson)?;
        let json = sql::json_folder(settings, &hour);
        let json_objects =
            folder::list_keys(s3, &json)
                .await
                .map_err(|error| HourError::ListJson {
                    hour,
                    folder: json.to_string(),
                    error,
                })?;
        if json_objects.is_empty() {
            return Ok(Outcome::NoObjects);
        }

        let step = Step::Count;
        let records = &mut report.queries;
        let id = run_simple_step(athena, settings, hour, step, deadline, policy, records).await?;
        let results = step_results(athena, hour, step, &id).await?;
        let counts = RowCounts::from_results(&results).map_err(|problem| HourError::Query {
            hour,
            step,
            failure: QueryFailure::BadResults {
                query_execution_id: id,
                problem,
            },
        })?;
        report.counts = Some(counts);
        if counts.rows_malformed > 0 {
            // Never silent: these lines cannot be billed. Their text is in the hour's folder.
            let message = match settings.source {
                Source::AccessLogs => {
                    "lines of the hour are not valid JSON or have no requestId: left out of Parquet and billing"
                }
                Source::UsageEvents { .. } => {
                    "lines of the hour are no usage event (flagged by the ingestion with their problem): left out of Parquet and billing"
                }
            };
            tracing::warn!(
                hour = %hour,
                source = settings.source.name(),
                rows_malformed = counts.rows_malformed,
                "{message}"
            );
        }
        if counts.rows_outside_windows > 0 {
            // Never silent either: no bill counts these events (a producer's clock, or an event
            // sent long after it happened).
            tracing::warn!(
                hour = %hour,
                source = settings.source.name(),
                rows_outside_windows = counts.rows_outside_windows,
                "usage events of the hour have a time that no bill reads from this folder: kept in Parquet with problem '{}', never billed",
                sql::OUTSIDE_ANY_WINDOW
            );
        }
        let manifest = HourManifest::new(settings, hour);
        if counts.rows_in == 0 {
            manifest.write(s3, json_objects, counts, deadline).await?;
            return Ok(Outcome::NoRows);
        }

        // From here until the new manifest is written the hour's Parquet files are being
        // replaced: without a manifest, billing refuses the month and the next scheduled run
        // compacts the hour again if this one stops half-way.
        manifest.delete(s3).await?;
        clear_parquet(s3, settings, hour, deadline, &mut report.objects_deleted).await?;
        let records = &mut report.queries;
        let step = Step::DropLeftover;
        run_simple_step(athena, settings, hour, step, deadline, policy, records).await?;
        let mut ctas = CtasQuery {
            athena,
            s3,
            settings,
            policy,
            deadline,
            hour,
            request: StepRequest::new(settings, hour, Step::Ctas),
            report: &mut *report,
        };
        run_step(&mut ctas, hour, Step::Ctas, deadline, policy).await?;
        let records = &mut report.queries;
        let step = Step::DropTemp;
        run_simple_step(athena, settings, hour, step, deadline, policy, records).await?;
        manifest.write(s3, json_objects, counts, deadline).await?;
        Ok(Outcome::Compacted)
    }
}

/// The manifest of one hour ([`lambda_support::manifest`]): deleted before the hour's Parquet
/// files are touched, written once they are complete, listing the JSON objects they were made
/// from.
struct HourManifest {
    hour: Hour,
    bucket: String,
    key: String,
}

impl HourManifest {
    fn new(settings: &Settings, hour: Hour) -> Self {
        Self {
            hour,
            bucket: settings.manifest_prefix.bucket().to_owned(),
            key: manifest_key(&settings.manifest_prefix, &hour.partition_path()),
        }
    }

    fn error(&self, action: ManifestAction, error: ApiError) -> HourError {
        HourError::Manifest {
            hour: self.hour,
            action,
            uri: format!("s3://{}/{}", self.bucket, self.key),
            error,
        }
    }

    async fn delete<S: S3>(&self, s3: &S) -> Result<(), HourError> {
        let refused = s3
            .delete_objects(&self.bucket, std::slice::from_ref(&self.key))
            .await
            .map_err(|error| self.error(ManifestAction::Delete, error))?;
        match refused.first() {
            None => Ok(()),
            Some(failure) => Err(self.error(
                ManifestAction::Delete,
                ApiError::new(format!("{}: {}", failure.code, failure.message)),
            )),
        }
    }

    /// Writes the manifest of `json_objects`, unless the deadline has come: a manifest written
    /// then could outlive a run that is being cut short.
    async fn write<S: S3>(
        &self,
        s3: &S,
        mut json_objects: Vec<String>,
        counts: RowCounts,
        deadline: Instant,
    ) -> Result<(), HourError> {
        before(self.hour, deadline, Phase::WriteManifest)?;
        json_objects.sort();
        let manifest = Manifest {
            hour: self.hour.to_string(),
            json_objects,
            rows_in: counts.rows_in,
            rows_out: counts.rows_out,
            rows_malformed: counts.rows_malformed,
            compacted_at_ms: now_epoch_ms(),
        };
        s3.put_object(
            &self.bucket,
            &self.key,
            "application/json",
            manifest.to_bytes(),
        )
        .await
        .map_err(|error| self.error(ManifestAction::Write, error))
    }
}

fn before(hour: Hour, deadline: Instant, next: Phase) -> Result<(), HourError> {
    if Instant::now() >= deadline {
        Err(HourError::DeadlineBeforeStart { hour, next })
    } else {
        Ok(())
    }
}

/// Step 3: deletes everything in the hour's Parquet folder, counting into `deleted`.
async fn clear_parquet<S: S3>(
    s3: &S,
    settings: &Settings,
    hour: Hour,
    deadline: Instant,
    deleted: &mut u64,
) -> Result<(), HourError> {
    before(hour, deadline, Phase::ClearParquet)?;
    let parquet = sql::parquet_folder(settings, &hour);
    folder::empty_folder(s3, &parquet, deleted)
        .await
        .map_err(|error| HourError::ClearParquet {
            hour,
            folder: parquet.to_string(),
            error,
        })
}

/// The CTAS of an hour. A CTAS that failed may have written part of its files into the hour's
/// Parquet folder and left its temporary table in the catalog, and CTAS refuses both; so a
/// resubmission starts again from step 3: it empties the folder, drops the temporary table
/// and only then submits the CTAS again, which then writes the hour whole, one row per
/// request (or event) id.
struct CtasQuery<'a, A, S> {
    athena: &'a A,
    s3: &'a S,
    settings: &'a Settings,
    policy: &'a QueryPolicy,
    deadline: Instant,
    hour: Hour,
    request: StepRequest<'a>,
    report: &'a mut HourReport,
}

impl<A: Athena, S: S3> QueryJob for CtasQuery<'_, A, S> {
    type Athena = A;
    type StartError = HourError;

    fn athena(&self) -> &A {
        self.athena
    }

    fn request(&self) -> QueryRequest<'_> {
        self.request.request()
    }

    async fn prepare(&mut self, earlier: &[Attempt]) -> Result<(), HourError> {
        if earlier.is_empty() {
            return Ok(());
        }
        let (athena, settings, hour) = (self.athena, self.settings, self.hour);
        let deleted = &mut self.report.objects_deleted;
        clear_parquet(self.s3, settings, hour, self.deadline, deleted).await?;
        let (step, records) = (Step::DropLeftover, &mut self.report.queries);
        run_simple_step(
            athena,
            settings,
            hour,
            step,
            self.deadline,
            self.policy,
            records,
        )
        .await?;
        Ok(())
    }

    fn ended(&mut self, attempt: &Attempt) {
        self.report
            .queries
            .push(QueryRecord::new(Step::Ctas, attempt));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(source: Source, rows_malformed: u64, rows_outside_windows: u64) -> HourReport {
        HourReport {
            hour: Hour::parse("2026-11-28T00").unwrap(),
            source,
            source_folder: "s3://bucket/json-data/".into(),
            destination: "s3://bucket/parquet-data/".into(),
            counts: Some(RowCounts {
                rows_in: 10,
                rows_out: 9,
                rows_malformed,
                rows_outside_windows,
            }),
            objects_deleted: 0,
            queries: Vec::new(),
            elapsed: Duration::ZERO,
            outcome: Ok(Outcome::Compacted),
        }
    }

    const EVENTS: Source = Source::UsageEvents {
        late_arrival_hours: 3,
    };

    #[test]
    fn malformed_lines_are_in_the_summary_when_there_are_any() {
        let summary = report(Source::AccessLogs, 2, 0).summary();
        assert_eq!(summary.rows_malformed, Some(2));
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["rows_malformed"], 2);

        let summary = report(Source::AccessLogs, 0, 0).summary();
        assert_eq!(summary.rows_malformed, None);
        let json = serde_json::to_value(&summary).unwrap();
        assert!(json.get("rows_malformed").is_none(), "{json}");
    }

    #[test]
    fn events_outside_the_windows_are_in_the_summary_when_there_are_any() {
        let summary = report(EVENTS, 0, 3).summary();
        assert_eq!(summary.rows_outside_windows, Some(3));
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["rows_outside_windows"], 3);
        assert!(json.get("rows_malformed").is_none(), "{json}");

        let json = serde_json::to_value(report(EVENTS, 1, 0).summary()).unwrap();
        assert!(json.get("rows_outside_windows").is_none(), "{json}");
        assert_eq!(json["rows_malformed"], 1);
    }

    #[test]
    fn the_summary_always_names_the_source() {
        for (source, name) in [
            (Source::AccessLogs, "access_logs"),
            (EVENTS, "usage_events"),
        ] {
            let mut report = report(source, 0, 0);
            assert_eq!(report.summary().source, name);
            let json = serde_json::to_value(report.summary()).unwrap();
            assert_eq!(json["source"], name);
            // A failed hour without counts names it too.
            report.counts = None;
            report.outcome = Err(HourError::DeadlineBeforeStart {
                hour: report.hour,
                next: Phase::ListJson,
            });
            let json = serde_json::to_value(report.summary()).unwrap();
            assert_eq!(
                (json["source"].as_str(), json["outcome"].as_str()),
                (Some(name), Some("failed"))
            );
        }
    }
}
