//! Compacting one hour:
//!
//! 1. list the hour's JSON folder: nothing there, nothing to do;
//! 2. count its rows and distinct request ids: no rows, nothing to do;
//! 3. delete whatever an earlier run left in the hour's Parquet folder, since CTAS refuses a
//!    folder that is not empty;
//! 4. drop a leftover temporary table, CTAS, drop the temporary table.
//!
//! Each step waits for the one before it, so running an hour again gives the same files.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::athena::Athena;
use crate::config::Config;
use crate::counts::RowCounts;
use crate::error::{HourError, Phase};
use crate::folder;
use crate::hour::Hour;
use crate::query::{run_query, Backoff, QueryRecord};
use crate::s3::S3;
use crate::sql::{self, Step};

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
    pub source: String,
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
    pub rows_in: Option<u64>,
    pub rows_out: Option<u64>,
    pub objects_deleted: u64,
    pub query_ids: QueryIds,
}

#[derive(Serialize)]
struct LogFields<'a> {
    #[serde(flatten)]
    summary: &'a HourSummary,
    error: Option<String>,
    error_kind: Option<&'static str>,
    source: &'a str,
    destination: &'a str,
    elapsed_ms: u64,
}

impl HourReport {
    pub fn query_id(&self, step: Step) -> Option<&str> {
        self.queries
            .iter()
            .find(|q| q.step == step)
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
            objects_deleted: self.objects_deleted,
            query_ids: QueryIds {
                count: id(Step::Count),
                drop_leftover: id(Step::DropLeftover),
                ctas: id(Step::Ctas),
                drop_temp: id(Step::DropTemp),
            },
        }
    }

    /// One JSON line: the [`HourSummary`] plus `error`, `error_kind`, `source`,
    /// `destination` and `elapsed_ms`.
    pub fn log(&self) {
        let summary = self.summary();
        let error = self.outcome.as_ref().err();
        let fields = LogFields {
            summary: &summary,
            error: error.map(ToString::to_string),
            error_kind: error.map(HourError::kind),
            source: &self.source,
            destination: &self.destination,
            elapsed_ms: u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX),
        };
        let fields_json = serde_json::to_string(&fields).expect("log fields serialize");
        let fields_json = fields_json.as_str();
        match &self.outcome {
            Ok(outcome) => tracing::info!(fields_json, "{}", outcome.message()),
            Err(_) => tracing::error!(fields_json, "hour compaction failed"),
        }
    }
}

/// Compacts `hour`, giving up at `deadline`. Never panics on AWS errors: the outcome is in
/// the report.
pub async fn compact_hour<A: Athena, S: S3>(
    athena: &A,
    s3: &S,
    config: &Config,
    hour: Hour,
    deadline: Instant,
    backoff: &Backoff,
) -> HourReport {
    let started = Instant::now();
    let mut report = HourReport {
        hour,
        source: sql::json_location(config, &hour),
        destination: sql::parquet_location(config, &hour),
        counts: None,
        objects_deleted: 0,
        queries: Vec::with_capacity(4),
        elapsed: Duration::ZERO,
        outcome: Ok(Outcome::Compacted),
    };
    let outcome = run(athena, s3, config, deadline, backoff, &mut report).await;
    report.outcome = outcome;
    report.elapsed = started.elapsed();
    report
}

async fn run<A: Athena, S: S3>(
    athena: &A,
    s3: &S,
    config: &Config,
    deadline: Instant,
    backoff: &Backoff,
    report: &mut HourReport,
) -> Result<Outcome, HourError> {
    let hour = report.hour;
    let before = |next: Phase| {
        if Instant::now() >= deadline {
            Err(HourError::DeadlineBeforeStart { hour, next })
        } else {
            Ok(())
        }
    };

    before(Phase::ListJson)?;
    let json = sql::json_folder(config, &hour);
    let has_json = folder::has_objects(s3, &json)
        .await
        .map_err(|error| HourError::ListJson {
            hour,
            folder: json.to_string(),
            error,
        })?;
    if !has_json {
        return Ok(Outcome::NoObjects);
    }

    let step = Step::Count;
    let id = run_query(
        athena,
        config,
        hour,
        step,
        deadline,
        backoff,
        &mut report.queries,
    )
    .await?;
    let results = athena
        .query_results(&id)
        .await
        .map_err(|error| HourError::GetResults {
            hour,
            step,
            query_execution_id: id.clone(),
            error,
        })?;
    let counts = RowCounts::from_results(&results).map_err(|problem| HourError::BadResults {
        hour,
        step,
        query_execution_id: id,
        problem,
    })?;
    report.counts = Some(counts);
    if counts.rows_in == 0 {
        return Ok(Outcome::NoRows);
    }

    before(Phase::ClearParquet)?;
    let parquet = sql::parquet_folder(config, &hour);
    folder::empty_folder(s3, &parquet, &mut report.objects_deleted)
        .await
        .map_err(|error| HourError::ClearParquet {
            hour,
            folder: parquet.to_string(),
            error,
        })?;

    for step in Step::COMPACTION {
        run_query(
            athena,
            config,
            hour,
            step,
            deadline,
            backoff,
            &mut report.queries,
        )
        .await?;
    }
    Ok(Outcome::Compacted)
}
