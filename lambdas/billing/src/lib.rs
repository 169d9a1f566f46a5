//! Monthly billing: a month's usage per tenant from Athena, of both sources (the API's access
//! log and, when the stack deploys them, the usage events its backend sends), priced with the
//! metering config's plans, written to S3 as invoice files.
//!
//! # Environment
//!
//! | variable | meaning |
//! |---|---|
//! | `ATHENA_WORK_GROUP` | the Athena work group the usage query runs in; its enforced configuration says where query results go |
//! | `USAGE_DATABASE` | the Glue database of the Parquet access-log table |
//! | `USAGE_TABLE` | the Parquet access-log table (partitioned by `year`/`month`/`day`/`hour`) |
//! | `METERING_CONFIG_URI` | `s3://bucket/key` of the metering config: a serialized [`metering::Config`] (`late_arrival_hours`, `meters`, `pricing`) |
//! | `INVOICES_BUCKET` | the bucket the invoice files go to |
//! | `INVOICES_PREFIX` | optional, default `invoices/`: the key prefix of the invoice files (a `/` is added if missing; empty for the bucket's root) |
//! | `BILLING_DELAY_MINUTES` | optional, default 60 ([`settings::DEFAULT_BILLING_DELAY_MINUTES`], which says why): minutes after a month's late-arrival window before it may be billed |
//! | `JSON_LOCATION_PREFIX` | `s3://bucket/folder` of the JSON table (Firehose's hourly folders) |
//! | `MANIFEST_PREFIX` | `s3://bucket/prefix` of the compaction's manifests, one per compacted hour |
//! | `EVENTS_DATABASE` | optional, with the three below (all four or none): the Glue database of the Parquet usage-events table |
//! | `EVENTS_TABLE` | optional, with the others: the Parquet usage-events table (partitioned by `year`/`month`/`day`/`hour`) |
//! | `EVENTS_JSON_LOCATION_PREFIX` | optional, with the others: `s3://bucket/folder` of the usage events' hourly JSON folders |
//! | `EVENTS_MANIFEST_PREFIX` | optional, with the others: `s3://bucket/prefix` of the events' compaction's manifests (apart from `MANIFEST_PREFIX`) |
//! | `LOCK_PREFIX` | `s3://bucket/prefix` where the months' leases live (`<prefix>/YYYY-MM`); required: the function does not start without it |
//! | `AWS_REGION` | set by Lambda |
//! | `AWS_ENDPOINT_URL` | optional: another endpoint for Athena and S3 (an emulator); S3 then goes path-style |
//!
//! Credentials come from the Lambda environment only (`AWS_ACCESS_KEY_ID`, …).
//!
//! Without the `EVENTS_*` variables the function bills meters of the access log only, and
//! refuses a config with a meter of usage events (`Billing.EventsNotDeployed`) rather than
//! bill it at zero. With them, a config's events meters are billed from the usage-events
//! table, and the events' hours are checked as the access log's (below); a config without an
//! events meter is billed exactly as without them (the same usage query, and no check of the
//! events' hours: nothing is billed from them).
//!
//! # Events
//!
//! An EventBridge scheduled event bills the month before the event's `time`;
//! `{"month": "2026-10"}` bills that month. See [`event`] for which months may be billed.
//!
//! `{"month": "2026-11", "preview": true}` (optionally with `"tenant": "<id>"`) returns the
//! month's usage and priced invoices so far as a [`Preview`], for the current month too, and
//! writes nothing: no lease, no invoice files. Hours not compacted yet are listed, not
//! refused; their usage is missing from the preview.
//!
//! # What a run does
//!
//! 1. reads the metering config from S3 and validates it (every problem is reported, with its
//!    JSON path); a meter of usage events without the `EVENTS_*` variables is refused;
//! 2. checks that the month's late-arrival window and the billing delay have passed;
//! 3. takes the month's lease ([`lambda_support::lease`]): a month leased by a live run fails
//!    as `Billing.Locked`, so two runs never write one month's invoices at once (this replaces
//!    reserved concurrency 1, which an account whose concurrency limit is still 10 cannot
//!    grant); the lease is released at the end, whatever happened;
//! 4. checks that every hour of the month's window has all its JSON objects in Parquet
//!    ([`completeness`]), of the access log and, when the config has an events meter, of the
//!    usage events, or fails with `Billing.IncompleteMonth` naming the hours (the events'
//!    as `usage events hour …`);
//! 5. runs [`metering::usage_query_with_events`] in Athena (over the access-log table and,
//!    for events meters, the usage-events table; without an events meter its text is
//!    [`metering::usage_query`]'s) and waits for it within the Lambda's time, resubmitting it
//!    if it fails with a retryable error (3 submissions in all, with backoff);
//! 6. reads every page of the results, checks that no hour of either source was compacted
//!    again meanwhile (`Billing.ChangedWhileBilled`), prices them
//!    ([`metering::MonthInvoices`]);
//! 7. PUTs `<INVOICES_PREFIX>year=YYYY/month=MM/tenants/<tenant>.json` for every tenant and
//!    then `…/summary.csv`, and deletes whatever else is in that month's folder (see
//!    [`writes`]): a month can be billed again at any time and ends up with exactly the files
//!    of its last run;
//! 8. returns (and logs as one JSON line) a [`Summary`].
//!
//! Each step logs one JSON line; a failure logs one line with `error` and `error_kind`, and
//! the Lambda error type is `Billing.<error_kind>`.

pub mod completeness;
pub mod error;
pub mod event;
pub mod query;
pub mod settings;
pub mod writes;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use lambda_runtime::{Diagnostic, LambdaEvent};
use lambda_support::athena::Athena;
use lambda_support::lease::{Holder, LeaseLock, LeaseStore};
use lambda_support::query::{Backoff, QueryFailure, QueryPolicy, Resubmit, DEFAULT_RESUBMIT};
use lambda_support::s3::{list_keys, SdkS3, MAX_DELETE_BATCH, S3};
use lambda_support::Run;
use metering::{Month, MonthInvoices, Usage, ValidConfig};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::time::Instant;

pub use error::BillingError;
pub use query::DEFAULT_BACKOFF;
pub use settings::Settings;
pub use writes::InvoiceWrites;

/// Time kept back from the Lambda deadline: stopping the query, or writing the invoices
/// once it succeeded, and releasing the month's lease (each API call may take up to
/// [`lambda_support::sdk::OPERATION_TIMEOUT`]).
pub const DEFAULT_SAFETY_MARGIN: Duration = Duration::from_secs(120);

/// Invoice files written at the same time.
pub const PUT_CONCURRENCY: usize = 16;

/// The largest preview returned: a synchronous invocation's response may have 6 MB (Lambda
/// quotas, "Invocation payload (request and response)"); the rest is kept for the envelope.
pub const MAX_PREVIEW_BYTES: usize = 5 * 1024 * 1024;

/// What a successful run returns: the billed month's summary, or a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Response {
    Billed(Summary),
    Preview(Preview),
}

impl Response {
    /// The summary of a billed month; `None` for a preview.
    pub fn billed(self) -> Option<Summary> {
        match self {
            Response::Billed(summary) => Some(summary),
            Response::Preview(_) => None,
        }
    }

    /// The preview; `None` for a billed month.
    pub fn preview(self) -> Option<Preview> {
        match self {
            Response::Preview(preview) => Some(preview),
            Response::Billed(_) => None,
        }
    }
}

/// A month's usage and priced invoices so far, written nowhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preview {
    /// `YYYY-MM`.
    pub month: String,
    /// Always `true`: tells a preview from a [`Summary`].
    pub preview: bool,
    /// The tenant asked for, or `null` for every tenant.
    pub tenant: Option<String>,
    pub query_execution_id: String,
    /// Hours of the month's window whose JSON objects are not all in Parquet yet
    /// (`YYYY-MM-DDTHH`, why): their usage is missing from this preview.
    pub hours_not_compacted: Vec<(String, String)>,
    /// The same for the usage events' hours; empty when the config has no meter of usage
    /// events (they are not checked then).
    pub events_hours_not_compacted: Vec<(String, String)>,
    /// Tenant → meter → raw total, test tenants included.
    pub usage: BTreeMap<String, BTreeMap<String, metering::JsonNumber>>,
    /// The invoices as they would be written now (test tenants have none).
    pub invoices: Vec<metering::TenantInvoice>,
    /// Test tenants with usage: measured, never invoiced.
    pub test_tenants: Vec<String>,
}

/// What a successful run returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// `YYYY-MM`.
    pub month: String,
    pub query_execution_id: String,
    /// Invoices written: tenants with usage, and tenants the catalog lists without usage.
    pub tenants_invoiced: usize,
    /// Objects PUT: one per tenant and the summary.
    pub files_written: usize,
    /// Objects of an earlier run deleted from the month's folder.
    pub files_deleted: usize,
    /// Currency code → the sum of the invoices' totals, as a decimal string.
    pub totals: BTreeMap<String, String>,
    /// `s3://bucket/<prefix>year=YYYY/month=MM/`.
    pub location: String,
    /// Test tenants with usage (`test_tenant_prefixes`): measured, not invoiced.
    pub test_tenants: Vec<String>,
}

impl From<BillingError> for Diagnostic {
    fn from(error: BillingError) -> Self {
        Diagnostic {
            error_type: format!("Billing.{}", error.kind()),
            error_message: error.to_string(),
        }
    }
}

/// The wall clock.
pub fn utc_now() -> DateTime<Utc> {
    DateTime::<Utc>::from(SystemTime::now())
}

/// Sums of invoice totals per currency code.
pub fn totals(invoices: &MonthInvoices) -> BTreeMap<String, String> {
    let mut sums: BTreeMap<&str, metering::pricing::Decimal> = BTreeMap::new();
    for invoice in &invoices.invoices {
        *sums.entry(invoice.invoice.currency.code()).or_default() += invoice.invoice.total;
    }
    sums.into_iter()
        .map(|(code, sum)| (code.to_owned(), sum.to_string()))
        .collect()
}

fn log_step(message: &str, fields: Value) {
    let fields_json = fields.to_string();
    let fields_json = fields_json.as_str();
    tracing::info!(fields_json, "{message}");
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The function: its clients, settings and timing, and the lease lock (see
/// [`App::with_lock`]; `L` is the lock's S3 client).
pub struct App<A, S, L = SdkS3> {
    athena: A,
    s3: S,
    settings: Settings,
    policy: QueryPolicy,
    safety_margin: Duration,
    clock: fn() -> DateTime<Utc>,
    lock: Option<LeaseLock<L>>,
}

impl<A: Athena, S: S3> App<A, S> {
    /// The function without a lock: runs of the same month may overlap. The Lambda adds the
    /// lock of `LOCK_PREFIX` with [`App::with_lock`].
    pub fn new(athena: A, s3: S, settings: Settings) -> Self {
        Self {
            athena,
            s3,
            settings,
            policy: QueryPolicy {
                poll: DEFAULT_BACKOFF,
                resubmit: DEFAULT_RESUBMIT,
            },
            safety_margin: DEFAULT_SAFETY_MARGIN,
            clock: utc_now,
            lock: None,
        }
    }
}

impl<A: Athena, S: S3, L: LeaseStore> App<A, S, L> {
    /// Each month is billed holding its lease in `lock` (named `YYYY-MM`).
    pub fn with_lock<M: LeaseStore>(self, lock: LeaseLock<M>) -> App<A, S, M> {
        App {
            athena: self.athena,
            s3: self.s3,
            settings: self.settings,
            policy: self.policy,
            safety_margin: self.safety_margin,
            clock: self.clock,
            lock: Some(lock),
        }
    }

    /// The backoff between GetQueryExecution polls.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.policy.poll = backoff;
        self
    }

    /// How a usage query that failed with a retryable error is resubmitted.
    pub fn with_resubmit(mut self, resubmit: Resubmit) -> Self {
        self.policy.resubmit = resubmit;
        self
    }

    pub fn with_safety_margin(mut self, margin: Duration) -> Self {
        self.safety_margin = margin;
        self
    }

    /// The clock that decides which months may be billed.
    pub fn with_clock(mut self, clock: fn() -> DateTime<Utc>) -> Self {
        self.clock = clock;
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The Lambda handler. The month's lease is held by the invocation's request id until its
    /// deadline (plus [`lambda_support::lease::LEASE_MARGIN`]).
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Response, BillingError> {
        let run = Run::invocation(
            &event.context.request_id,
            event.context.deadline,
            self.safety_margin,
        );
        self.run_as(&event.payload, run.deadline, &run.holder).await
    }

    /// Bills the month `payload` names, giving up on the query at `deadline`. Without a
    /// Lambda context, the lease is held by `local-<epoch ms>` until `deadline` plus the
    /// safety margin (plus [`lambda_support::lease::LEASE_MARGIN`]).
    pub async fn run(&self, payload: &Value, deadline: Instant) -> Result<Response, BillingError> {
        let run = Run::local(deadline, self.safety_margin);
        self.run_as(payload, run.deadline, &run.holder).await
    }

    /// Bills (or previews) the month `payload` names as `holder`, giving up on the query at
    /// `deadline`.
    pub async fn run_as(
        &self,
        payload: &Value,
        deadline: Instant,
        holder: &Holder,
    ) -> Result<Response, BillingError> {
        // Boxed: the SDK futures nest deep enough to strain the compiler's limits otherwise.
        let outcome = Box::pin(self.respond(payload, deadline, holder)).await;
        match &outcome {
            Ok(Response::Billed(summary)) => {
                let mut fields = serde_json::to_value(summary).expect("the summary serializes");
                fields["outcome"] = json!("billed");
                log_step("month billed", fields);
            }
            Ok(Response::Preview(preview)) => log_step(
                "month previewed",
                json!({
                    "outcome": "previewed",
                    "month": preview.month,
                    "tenant": preview.tenant,
                    "query_execution_id": preview.query_execution_id,
                    "tenants_with_usage": preview.usage.len(),
                    "hours_not_compacted": preview.hours_not_compacted.len(),
                    "events_hours_not_compacted": preview.events_hours_not_compacted.len(),
                }),
            ),
            Err(error) => {
                let fields = json!({
                    "outcome": "failed",
                    "month": error.month().map(|m| m.to_string()),
                    "error": error.to_string(),
                    "error_kind": error.kind(),
                    "event": payload,
                });
                let fields_json = fields.to_string();
                let fields_json = fields_json.as_str();
                tracing::error!(fields_json, "billing failed");
            }
        }
        outcome
    }

    /// What is asked; for a bill, whether the month may be billed, then the month billed
    /// holding its lease.
    async fn respond(
        &self,
        payload: &Value,
        deadline: Instant,
        holder: &Holder,
    ) -> Result<Response, BillingError> {
        let now = (self.clock)();
        let month = match event::request_from_event(payload, now)? {
            event::Request::Bill(month) => month,
            event::Request::Preview { month, tenant } => {
                let config = self.read_config(month).await?;
                return Ok(Response::Preview(
                    self.preview(month, tenant, &config, deadline).await?,
                ));
            }
        };
        let config = self.read_config(month).await?;
        event::check_billable(
            month,
            now,
            config.late_arrival_hours(),
            self.settings.billing_delay_minutes,
        )?;
        let Some(lock) = &self.lock else {
            return self
                .bill_month(month, &config, deadline)
                .await
                .map(Response::Billed);
        };
        if Instant::now() >= deadline {
            return Err(BillingError::DeadlineBeforeStart { month });
        }
        lock.holding(
            &month.to_string(),
            holder,
            |error| BillingError::lease(month, error),
            || self.bill_month(month, &config, deadline),
        )
        .await
        .map(Response::Billed)
    }

    /// The month's usage and invoices so far, of `tenant` or of every tenant; no lease, no
    /// write, and hours not compacted yet are reported rather than refused.
    async fn preview(
        &self,
        month: Month,
        tenant: Option<String>,
        config: &ValidConfig,
        deadline: Instant,
    ) -> Result<Preview, BillingError> {
        let before = self.snapshot(month, config).await?;
        let (query_execution_id, mut usage) =
            self.measure(month, config, &before, deadline).await?;
        if let Some(tenant) = &tenant {
            usage.tenants.retain(|t, _| t == tenant);
        }
        let mut invoices =
            MonthInvoices::price(config, &usage).map_err(|e| BillingError::Price {
                month,
                problem: e.to_string(),
            })?;
        if let Some(tenant) = &tenant {
            // Tenants the catalog lists without usage are invoiced too: keep the one asked.
            invoices.invoices.retain(|i| &i.tenant == tenant);
        }
        let (hours_not_compacted, events_hours_not_compacted) = before.incomplete();
        let preview = Preview {
            month: month.to_string(),
            preview: true,
            tenant,
            query_execution_id,
            hours_not_compacted,
            events_hours_not_compacted,
            usage: usage
                .tenants
                .into_iter()
                .map(|(tenant, meters)| {
                    let meters = meters
                        .into_iter()
                        .map(|(meter, n)| (meter, metering::JsonNumber(n)))
                        .collect();
                    (tenant, meters)
                })
                .collect(),
            invoices: invoices.invoices,
            test_tenants: invoices.test_tenants,
        };
        let bytes = serde_json::to_vec(&preview)
            .expect("a preview serializes")
            .len();
        if bytes > MAX_PREVIEW_BYTES {
            return Err(BillingError::PreviewTooLarge {
                month,
                bytes,
                tenants: preview.usage.len(),
            });
        }
        Ok(preview)
    }

    /// Runs the usage query, prices the month and writes its invoices.
    async fn bill_month(
        &self,
        month: Month,
        config: &ValidConfig,
        deadline: Instant,
    ) -> Result<Summary, BillingError> {
        let before = self.check_complete(month, config).await?;
        let (id, usage) = self.measure(month, config, &before, deadline).await?;
        let invoices = MonthInvoices::price(config, &usage).map_err(|e| BillingError::Price {
            month,
            problem: e.to_string(),
        })?;
        let writes = InvoiceWrites::new(
            &self.settings.invoices_prefix,
            month,
            invoices.files(config, &usage),
        )
        .map_err(|problem| BillingError::Files { month, problem })?;
        let location = format!("s3://{}/{}", self.settings.invoices_bucket, writes.folder);
        let files_written = self.write(month, &writes).await?;
        log_step(
            "invoices written",
            json!({
                "step": "write",
                "month": month.to_string(),
                "location": location,
                "files_written": files_written,
            }),
        );
        let deleted = self.delete_stale(month, &writes).await?;
        log_step(
            "stale invoices deleted",
            json!({
                "step": "delete",
                "month": month.to_string(),
                "location": location,
                "files_deleted": deleted.len(),
                "deleted": deleted,
            }),
        );

        Ok(Summary {
            month: month.to_string(),
            query_execution_id: id,
            tenants_invoiced: invoices.invoices.len(),
            files_written,
            files_deleted: deleted.len(),
            totals: totals(&invoices),
            location,
            test_tenants: invoices.test_tenants,
        })
    }

    /// Runs the usage query and reads its results; fails if an hour that was in `before`
    /// changed meanwhile. Returns the query execution id and the usage.
    async fn measure(
        &self,
        month: Month,
        config: &ValidConfig,
        before: &completeness::Snapshots,
        deadline: Instant,
    ) -> Result<(String, Usage), BillingError> {
        let started = Instant::now();
        let requests = metering::Table {
            database: self.settings.database.as_str(),
            table: self.settings.table.as_str(),
        };
        let events = self.settings.events.as_ref().map(|e| metering::Table {
            database: e.database.as_str(),
            table: e.table.as_str(),
        });
        // Refused when the config is read already; never a query that bills events at zero.
        let sql = metering::usage_query_with_events(config, month, requests, events).map_err(
            |metering::EventsNotQueried(meter)| BillingError::EventsNotDeployed {
                uri: self.settings.config_object.to_string(),
                meters: vec![meter],
            },
        )?;
        let query = query::run_query_in(
            &self.athena,
            month,
            &sql,
            &self.settings.work_group,
            deadline,
            &self.policy,
        )
        .await?;
        let id = query.query_execution_id;
        let mut fields = json!({
            "step": "query",
            "month": month.to_string(),
            "query_execution_id": id,
            "polls": query.polls,
            "elapsed_ms": millis(started.elapsed()),
        });
        if !query.earlier.is_empty() {
            fields["resubmitted_after"] = json!(query.earlier.ids());
        }
        log_step("usage query succeeded", fields);

        let results = query::read_usage(&self.athena, month, &id).await?;
        let bad_results = |problem: String| BillingError::Query {
            month,
            failure: QueryFailure::BadResults {
                query_execution_id: id.clone(),
                problem,
            },
        };
        let usage =
            Usage::from_rows(config, month, &results.header, results.rows).map_err(bad_results)?;
        log_step(
            "usage read",
            json!({
                "step": "results",
                "month": month.to_string(),
                "query_execution_id": id,
                "pages": results.pages,
                "tenants_with_usage": usage.tenants.len(),
            }),
        );

        // A compaction that rewrote an hour while the query ran changed its manifest: the
        // query may have read the hour half-written.
        let after = self.snapshot(month, config).await?;
        let (hours, events_hours) = after.changed_since(before);
        if !hours.is_empty() || !events_hours.is_empty() {
            return Err(BillingError::ChangedWhileBilled {
                month,
                hours,
                events_hours,
            });
        }
        Ok((id, usage))
    }

    /// Every hour of the month's window with JSON objects, and its state: of the access log,
    /// and of the usage events when the config has a meter of them (see [`completeness`]).
    async fn snapshot(
        &self,
        month: Month,
        config: &ValidConfig,
    ) -> Result<completeness::Snapshots, BillingError> {
        let window = config.window(month);
        let access_log = completeness::check(
            &self.s3,
            month,
            &window,
            &self.settings.json_location,
            &self.settings.manifest_prefix,
        );
        let events = async {
            match &self.settings.events {
                Some(events) if config.reads(metering::Source::Events) => completeness::check(
                    &self.s3,
                    month,
                    &window,
                    &events.json_location,
                    &events.manifest_prefix,
                )
                .await
                .map(Some),
                _ => Ok(None),
            }
        };
        let (access_log, events) = futures_util::future::try_join(access_log, events).await?;
        Ok(completeness::Snapshots { access_log, events })
    }

    /// [`Self::snapshot`], refusing the month when an hour is not complete; logged as one
    /// line.
    async fn check_complete(
        &self,
        month: Month,
        config: &ValidConfig,
    ) -> Result<completeness::Snapshots, BillingError> {
        let snapshot = self.snapshot(month, config).await?;
        let (hours, events_hours) = snapshot.incomplete();
        if !hours.is_empty() || !events_hours.is_empty() {
            return Err(BillingError::IncompleteMonth {
                month,
                hours,
                events_hours,
            });
        }
        let window = config.window(month);
        let mut fields = json!({
            "step": "completeness",
            "month": month.to_string(),
            "first_folder": window.first_folder().to_string(),
            "last_folder": window.last_folder().to_string(),
            "hours_with_objects": snapshot.access_log.hours_with_objects(),
        });
        // Only when the usage events were checked: a run without them logs as before.
        if let Some(events) = &snapshot.events {
            fields["events_hours_with_objects"] = json!(events.hours_with_objects());
        }
        log_step("every hour of the month is compacted", fields);
        Ok(snapshot)
    }

    async fn read_config(&self, month: Month) -> Result<ValidConfig, BillingError> {
        let object = &self.settings.config_object;
        let uri = object.to_string();
        let bytes = self
            .s3
            .get_object(&object.bucket, &object.key)
            .await
            .map_err(|error| BillingError::ConfigRead {
                uri: uri.clone(),
                error,
            })?;
        let config = parse_config(&bytes).map_err(|problem| BillingError::ConfigParse {
            uri: uri.clone(),
            problem,
        })?;
        let valid = config
            .validate()
            .map_err(|errors| BillingError::ConfigInvalid {
                uri: uri.clone(),
                errors,
            })?;
        // Without the usage-events table the usage query reads the access log only: refuse
        // rather than bill an events meter at zero.
        if self.settings.events.is_none() && valid.reads(metering::Source::Events) {
            return Err(BillingError::EventsNotDeployed {
                uri: uri.clone(),
                meters: valid
                    .meters()
                    .filter(|(_, m)| m.source == metering::Source::Events)
                    .map(|(name, _)| name.to_owned())
                    .collect(),
            });
        }
        log_step(
            "metering config read",
            json!({
                "step": "config",
                "month": month.to_string(),
                "config": uri,
                "meters": valid.meters().map(|(name, _)| name).collect::<Vec<_>>(),
                "late_arrival_hours": valid.late_arrival_hours(),
            }),
        );
        Ok(valid)
    }

    /// PUTs the tenants' files, [`PUT_CONCURRENCY`] at a time, then the rest.
    async fn write(&self, month: Month, writes: &InvoiceWrites) -> Result<usize, BillingError> {
        stream::iter(writes.tenant_files.iter().map(|file| self.put(month, file)))
            .buffer_unordered(PUT_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        for file in &writes.last {
            self.put(month, file).await?;
        }
        Ok(writes.tenant_files.len() + writes.last.len())
    }

    async fn put(&self, month: Month, file: &writes::Put) -> Result<(), BillingError> {
        let bucket = &self.settings.invoices_bucket;
        self.s3
            .put_object(bucket, &file.key, file.content_type, file.body.clone())
            .await
            .map_err(|error| BillingError::Put {
                month,
                uri: format!("s3://{bucket}/{}", file.key),
                error,
            })
    }

    /// Deletes what the month's folder holds besides the files just written.
    async fn delete_stale(
        &self,
        month: Month,
        writes: &InvoiceWrites,
    ) -> Result<Vec<String>, BillingError> {
        let bucket = &self.settings.invoices_bucket;
        let uri = format!("s3://{bucket}/{}", writes.folder);
        let listed = list_keys(&self.s3, bucket, &writes.folder)
            .await
            .map_err(|error| BillingError::List {
                month,
                uri: uri.clone(),
                error,
            })?;
        let stale = writes.stale(listed);
        for batch in stale.chunks(MAX_DELETE_BATCH) {
            let failures = self
                .s3
                .delete_objects(bucket, batch)
                .await
                .map_err(|error| BillingError::Delete {
                    month,
                    uri: uri.clone(),
                    error,
                })?;
            if !failures.is_empty() {
                return Err(BillingError::DeleteRefused {
                    month,
                    uri,
                    failures,
                });
            }
        }
        Ok(stale)
    }
}

/// A [`metering::Config`] from JSON; a problem is named with its JSON path.
pub fn parse_config(bytes: &[u8]) -> Result<metering::Config, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let config: metering::Config =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                e.into_inner().to_string()
            } else {
                format!("at `{path}`: {}", e.into_inner())
            }
        })?;
    deserializer.end().map_err(|e| e.to_string())?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_json_problems_name_their_path() {
        let err =
            parse_config(br#"{"meters": {"requests": {"aggregation": "average"}}}"#).unwrap_err();
        assert!(
            err.starts_with("at `meters.requests.aggregation`: unknown variant `average`"),
            "{err}"
        );
        let err = parse_config(b"{\"meters\": ").unwrap_err();
        assert!(err.contains("EOF"), "{err}");
        let err =
            parse_config(br#"{"meters": {}, "pricing": {"default_plan": "x", "plans": {}}} x"#)
                .unwrap_err();
        assert!(err.contains("trailing characters"), "{err}");
    }

    #[test]
    fn billing_errors_become_lambda_diagnostics() {
        let month: Month = "2026-10".parse().unwrap();
        let diagnostic = Diagnostic::from(BillingError::Query {
            month,
            failure: QueryFailure::Ended {
                query_execution_id: "q-1".to_owned(),
                state: lambda_support::athena::QueryState::Failed,
                reason: "TABLE_NOT_FOUND".to_owned(),
                earlier: Default::default(),
            },
        });
        assert_eq!(diagnostic.error_type, "Billing.QueryFailed");
        assert_eq!(
            diagnostic.error_message,
            "month 2026-10: the usage query (query execution id q-1) ended FAILED: TABLE_NOT_FOUND"
        );
    }
}
