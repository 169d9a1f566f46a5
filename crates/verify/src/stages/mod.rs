//! The stages, and what each hands to the next.

mod api;
mod cleanup;
mod compaction;
mod delivery;
mod events;
mod identity;
mod stack;
mod usage;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use chrono::{DateTime, Datelike, Timelike, Utc};
use lambda_support::athena::{QueryRequest, SdkAthena};
use lambda_support::query::{self, QueryJob, QueryPolicy, RunError, DEFAULT_RESUBMIT};
use lambda_support::s3::{SdkS3, S3};
use serde_json::Value;

use crate::report::{Stage, StageReport, Status};
use crate::Verifier;

/// What a stage found: one line, and the evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Finding {
    pub summary: String,
    pub details: Vec<String>,
}

impl Finding {
    pub fn new(summary: impl Into<String>) -> Finding {
        Finding {
            summary: summary.into(),
            details: Vec::new(),
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Finding {
        self.details.push(detail.into());
        self
    }
}

/// A stage's outcome: what it hands on and found, or why it failed.
pub(crate) type Outcome<T> = Result<(T, Finding), Finding>;

/// The signed-in test user.
#[derive(Debug, Clone)]
pub(crate) struct TestUser {
    pub tenant: String,
    pub sub: String,
    pub id_token: String,
}

/// One request made to the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub request_id: String,
    pub status: u16,
    /// Made with the test user's token.
    pub authorized: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Calls {
    pub calls: Vec<Call>,
    /// Just before the first call.
    pub started: DateTime<Utc>,
}

impl Calls {
    pub fn authorized(&self) -> impl Iterator<Item = &Call> {
        self.calls.iter().filter(|c| c.authorized)
    }
}

/// One access-log record of a call, as Firehose wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivered {
    /// The object holding it.
    pub key: String,
    /// Its folder's hour.
    pub hour: Hour,
    /// The line, as written.
    pub line: Vec<u8>,
}

/// Request id → its record.
pub(crate) type Records = BTreeMap<String, Delivered>;

/// One hour of Firehose's layout, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Hour(DateTime<Utc>);

impl Hour {
    pub fn containing(t: DateTime<Utc>) -> Hour {
        let truncated = t
            .with_minute(0)
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .expect("an hour's start exists");
        Hour(truncated)
    }

    pub fn next(self) -> Hour {
        Hour(self.0 + chrono::Duration::hours(1))
    }

    pub fn previous(self) -> Hour {
        Hour(self.0 - chrono::Duration::hours(1))
    }

    /// `year=YYYY/month=MM/day=DD/hour=HH`
    pub fn folder(self) -> String {
        let t = self.0;
        format!(
            "year={:04}/month={:02}/day={:02}/hour={:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour()
        )
    }

    /// The partition predicate of the hour in a query of the Glue tables (integer keys).
    pub fn predicate(self) -> String {
        let t = self.0;
        format!(
            "(year = {} AND month = {} AND day = {} AND hour = {})",
            t.year(),
            t.month(),
            t.day(),
            t.hour()
        )
    }
}

/// `YYYY-MM-DDTHH`, as the compaction's events name hours.
impl std::fmt::Display for Hour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H"))
    }
}

/// A query run by `verify`, in the stack's work group.
struct Job<'a> {
    athena: &'a SdkAthena,
    sql: &'a str,
    work_group: &'a str,
}

impl QueryJob for Job<'_> {
    type Athena = SdkAthena;
    type StartError = std::convert::Infallible;

    fn athena(&self) -> &SdkAthena {
        self.athena
    }

    fn request(&self) -> QueryRequest<'_> {
        QueryRequest {
            sql: self.sql,
            work_group: self.work_group,
            output_location: None,
        }
    }
}

/// How long one of `verify`'s queries may run.
const QUERY_TIMEOUT: Duration = Duration::from_secs(300);

impl Verifier {
    /// Runs the selected stages in order, handing each report to `record`; after a failure
    /// the later stages are skipped, except the cleanup.
    pub(crate) async fn run(&self, record: &(impl Fn(StageReport) + Sync)) {
        let selected = |stage| self.options.stages.contains(&stage);
        let mut failed: Option<Stage> = None;
        let skip = |stage: Stage, failed: Option<Stage>| {
            record(StageReport {
                stage,
                status: Status::Skip,
                elapsed: Duration::ZERO,
                summary: format!("not run: stage `{}` failed", failed.expect("a failure")),
                details: Vec::new(),
            })
        };

        if selected(Stage::Stack) {
            let outcome = timed(Stage::Stack, self.stack_stage()).await;
            failed = failed.or(outcome.failed());
            record(outcome.report);
        }
        if !selected(Stage::Identity) {
            return;
        }
        let user = if failed.is_some() {
            skip(Stage::Identity, failed);
            None
        } else {
            let outcome = timed(Stage::Identity, self.identity_stage()).await;
            failed = failed.or(outcome.failed());
            record(outcome.report);
            outcome.value
        };
        self.later_stages(user.as_ref(), &mut failed, record, &skip)
            .await;
        if selected(Stage::Events) {
            match (&user, &self.stack.usage_events) {
                (None, _) => skip(Stage::Events, failed.or(Some(Stage::Identity))),
                _ if failed.is_some() => skip(Stage::Events, failed),
                (Some(_), None) => record(StageReport {
                    stage: Stage::Events,
                    status: Status::Skip,
                    elapsed: Duration::ZERO,
                    summary: events::SKIPPED_WITHOUT_EVENTS.to_owned(),
                    details: Vec::new(),
                }),
                (Some(user), Some(events)) => record(
                    timed(Stage::Events, self.events_stage(events, user))
                        .await
                        .report,
                ),
            }
        }
        if selected(Stage::Cleanup) {
            record(self.cleanup().await);
        }
    }

    /// api, delivery, compaction and usage, each on what the one before found.
    async fn later_stages(
        &self,
        user: Option<&TestUser>,
        failed: &mut Option<Stage>,
        record: &(impl Fn(StageReport) + Sync),
        skip: &impl Fn(Stage, Option<Stage>),
    ) {
        let selected = |stage| self.options.stages.contains(&stage);
        // The selected stages from `from` on, when what they work on is missing.
        let skip_from = |from: Stage, failed: Option<Stage>| {
            for stage in [Stage::Api, Stage::Delivery, Stage::Compaction, Stage::Usage] {
                if stage >= from && selected(stage) {
                    skip(stage, failed);
                }
            }
        };
        let Some(user) = user else {
            return skip_from(Stage::Api, *failed);
        };
        if !selected(Stage::Api) {
            return;
        }
        let outcome = timed(Stage::Api, self.api_stage(user)).await;
        *failed = failed.or(outcome.failed());
        record(outcome.report);
        let Some(calls) = outcome.value else {
            return skip_from(Stage::Delivery, *failed);
        };
        if !selected(Stage::Delivery) {
            return;
        }
        let outcome = timed(Stage::Delivery, self.delivery_stage(user, &calls)).await;
        *failed = failed.or(outcome.failed());
        record(outcome.report);
        let Some(records) = outcome.value else {
            return skip_from(Stage::Compaction, *failed);
        };
        if !selected(Stage::Compaction) {
            return;
        }
        let outcome = timed(Stage::Compaction, self.compaction_stage(&records)).await;
        *failed = failed.or(outcome.failed());
        record(outcome.report);
        if outcome.value.is_none() {
            return skip_from(Stage::Usage, *failed);
        }
        if !selected(Stage::Usage) {
            return;
        }
        let Some(billing) = &self.stack.billing else {
            return record(StageReport {
                stage: Stage::Usage,
                status: Status::Skip,
                elapsed: Duration::ZERO,
                summary: usage::SKIPPED_WITHOUT_BILLING.to_owned(),
                details: Vec::new(),
            });
        };
        let outcome = timed(
            Stage::Usage,
            self.usage_stage(billing, user, &calls, &records),
        )
        .await;
        record(outcome.report);
    }

    /// Runs `sql` in the stack's work group and returns its rows, header row dropped.
    pub(crate) async fn query(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        let athena = SdkAthena::new(self.aws.athena.clone());
        let mut job = Job {
            athena: &athena,
            sql,
            work_group: &self.stack.athena_workgroup,
        };
        let policy = QueryPolicy {
            poll: self.options.query_poll,
            resubmit: DEFAULT_RESUBMIT,
        };
        let deadline = tokio::time::Instant::now() + QUERY_TIMEOUT;
        let succeeded = match query::run_query(&mut job, deadline, &policy).await {
            Ok(succeeded) => succeeded,
            Err(RunError::DeadlineBeforeStart) => return Err("no time left to query".into()),
            Err(RunError::Start(never)) => match never {},
            Err(RunError::Failed(failure)) => {
                return Err(failure.describe(format_args!("query `{sql}`")))
            }
        };
        let results = query::read_results(&athena, &succeeded.query_execution_id)
            .await
            .map_err(|failure| failure.describe(format_args!("query `{sql}`")))?;
        Ok(results.rows.into_iter().skip(1).collect())
    }

    /// The whole body of `s3://bucket/key`; an error says "cannot read <what>".
    pub(crate) async fn read_object(
        &self,
        bucket: &str,
        key: &str,
        what: &str,
    ) -> Result<Vec<u8>, Finding> {
        SdkS3::new(self.aws.s3.clone())
            .get_object(bucket, key)
            .await
            .map_err(|e| Finding::new(format!("cannot read {what}: {e}")))
    }

    /// Invokes `function` with `payload` and waits for its answer; a function error is an
    /// error holding the function's own message and error type.
    pub(crate) async fn invoke(
        &self,
        function: &str,
        payload: &Value,
    ) -> Result<Value, InvokeError> {
        let output = self
            .aws
            .lambda
            .invoke()
            .function_name(function)
            .payload(Blob::new(payload.to_string()))
            .send()
            .await
            .map_err(|e| InvokeError {
                error_type: None,
                message: format!("Invoke {function}: {}", sdk_error(&e)),
            })?;
        let body = output
            .payload()
            .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
            .unwrap_or_default();
        if let Some(kind) = output.function_error() {
            // The runtime's error document: {"errorType": …, "errorMessage": …}.
            let error_type = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v["errorType"].as_str().map(str::to_owned));
            return Err(InvokeError {
                error_type,
                message: format!("{function} failed ({kind}) on {payload}: {body}"),
            });
        }
        serde_json::from_str(&body).map_err(|e| InvokeError {
            error_type: None,
            message: format!("{function} answered {body:?}, not JSON: {e}"),
        })
    }
}

/// Why an invocation failed: the function's error type (`Compaction.Locked`), if it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvokeError {
    pub error_type: Option<String>,
    pub message: String,
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A stage's report and what it hands on.
struct Timed<T> {
    report: StageReport,
    value: Option<T>,
}

impl<T> Timed<T> {
    fn failed(&self) -> Option<Stage> {
        (self.report.status == Status::Fail).then_some(self.report.stage)
    }
}

async fn timed<T>(stage: Stage, run: impl std::future::Future<Output = Outcome<T>>) -> Timed<T> {
    let started = Instant::now();
    let outcome = run.await;
    let elapsed = started.elapsed();
    match outcome {
        Ok((value, finding)) => Timed {
            report: StageReport {
                stage,
                status: Status::Pass,
                elapsed,
                summary: finding.summary,
                details: finding.details,
            },
            value: Some(value),
        },
        Err(finding) => Timed {
            report: StageReport {
                stage,
                status: Status::Fail,
                elapsed,
                summary: finding.summary,
                details: finding.details,
            },
            value: None,
        },
    }
}

/// An SDK error with the service's code and message when there is one.
pub(crate) fn sdk_error<E, R>(error: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match error.as_service_error() {
        Some(service) => match (service.code(), service.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => crate::aws::error_chain(error),
        },
        None => crate::aws::error_chain(error),
    }
}

/// The SDK error's code, if the service gave one.
pub(crate) fn error_code<E, R>(error: &aws_sdk_s3::error::SdkError<E, R>) -> Option<&str>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    error.as_service_error().and_then(|e| e.code())
}

/// The `WHERE` condition of the records' rows in either table: their hours' partitions and
/// their request ids (checked to be plain by the api stage).
pub(crate) fn records_condition(records: &Records) -> String {
    let hours: std::collections::BTreeSet<Hour> = records.values().map(|r| r.hour).collect();
    let hours: Vec<String> = hours.iter().map(|h| h.predicate()).collect();
    let ids: Vec<String> = records.keys().map(|id| format!("'{id}'")).collect();
    format!(
        "({}) AND requestid IN ({})",
        hours.join(" OR "),
        ids.join(", ")
    )
}

/// Whether a request id is safe to put in a query: API Gateway's are UUIDs.
pub(crate) fn plain_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}
