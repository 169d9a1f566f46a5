//! The real SDK clients against moto's S3 and Athena server, over HTTP on loopback, with
//! moto's IAM access control on: the job runs as a role whose policy is the one the generated
//! compaction module declares (rendered from `terraform/modules/compaction/main.tf`), with the
//! environment that module gives it, so a call the policy does not allow fails the test. What
//! moto checks, and what not, is in [`lambda_support::moto`]: S3 calls by action and
//! resource, Athena calls by action only, nothing Athena does on the job's behalf.
//!
//! Needs moto 5 with its server extra for the Python in `METERING_PYTHON`
//! (default `python3`). If moto cannot be started the tests fail.
//!
//! moto's Athena runs no SQL: a query just succeeds, and GetQueryResults gives what was
//! queued through moto's API. It keeps each StartQueryExecution as an execution that moves
//! QUEUED → RUNNING → SUCCEEDED only when GetQueryExecution is called; where its state
//! manager is set to "manual, 2 ticks" every query answers QUEUED, RUNNING, RUNNING,
//! SUCCEEDED, and the job must poll four times before it may go on.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_athena::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
};
use aws_sdk_athena::config::{ConfigBag, Credentials, Intercept, RuntimeComponents};
use aws_sdk_athena::error::BoxError;
use aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput;
use aws_sdk_athena::operation::get_query_results::GetQueryResultsInput;
use aws_sdk_athena::operation::start_query_execution::{
    StartQueryExecutionInput, StartQueryExecutionOutput,
};
use aws_sdk_athena::operation::stop_query_execution::StopQueryExecutionInput;
use aws_sdk_athena::types::QueryExecutionState;
use aws_sdk_s3::operation::delete_objects::DeleteObjectsInput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Input;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use common::moto::{
    config_from, count_result, environment_with, event_count_result, events_module_inputs,
    function_config, function_policy, no_result, policy_with, BUCKET, EVENTS_LATE_ARRIVAL_HOURS,
    FUNCTION_NAME, RESULTS_BUCKET, WORK_GROUP,
};
use common::{fast_backoff, hours, scheduled_event, test_clock};
use compaction::settings::Source;
use compaction::sql::{self, Step};
use compaction::{survey, App, HourError, JobError, Response, Settings};
use lambda_support::athena::SdkAthena;
use lambda_support::lease::LeaseLock;
use lambda_support::manifest::Manifest;
use lambda_support::moto::iam_policy::Policy;
use lambda_support::moto::{
    athena_client, athena_client_as, query_executions, s3_client, s3_client_as, MotoServer,
};
use lambda_support::query::QueryFailure;
use lambda_support::s3::SdkS3;
use lambda_support::testing::lambda_event;
use serde_json::json;

const JSON_PREFIX: &str = "json-data/year=2026/month=11/day=28/hour=00/";
const PARQUET_PREFIX: &str = "parquet-data/year=2026/month=11/day=28/hour=00/";
const MANIFEST_KEY: &str = "compaction-manifests/year=2026/month=11/day=28/hour=00/manifest.json";

/// What a scheduled run for [`common::hour`] lists first: the JSON folders of the 26 hours
/// before it, none of which holds an object unless the test put one there.
fn earlier_listings() -> Vec<Seen> {
    survey::recent_hours(common::hour())
        .iter()
        .take(survey::REPAIR_HOURS as usize - 1)
        .map(|hour| Seen::List {
            prefix: format!("json-data/{}/", hour.partition_path()),
        })
        .collect()
}

/// The job's configuration: the environment the compaction module gives it.
fn settings() -> Settings {
    function_config()
}

/// What the SDK clients sent and received, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    List { prefix: String },
    Delete(Vec<String>),
    Start { sql: String, work_group: String },
    Started(String),
    Polled { id: String, state: String },
    Results(String),
    Stop(String),
}

#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let mut seen = self.0.lock().unwrap();
        if let Some(start) = input.downcast_ref::<StartQueryExecutionInput>() {
            seen.push(Seen::Start {
                sql: start.query_string().unwrap_or_default().to_owned(),
                work_group: start.work_group().unwrap_or_default().to_owned(),
            });
        } else if let Some(stop) = input.downcast_ref::<StopQueryExecutionInput>() {
            seen.push(Seen::Stop(
                stop.query_execution_id().unwrap_or_default().to_owned(),
            ));
        } else if let Some(results) = input.downcast_ref::<GetQueryResultsInput>() {
            seen.push(Seen::Results(
                results.query_execution_id().unwrap_or_default().to_owned(),
            ));
        } else if let Some(list) = input.downcast_ref::<ListObjectsV2Input>() {
            assert_eq!(list.bucket(), Some(BUCKET));
            seen.push(Seen::List {
                prefix: list.prefix().unwrap_or_default().to_owned(),
            });
        } else if let Some(delete) = input.downcast_ref::<DeleteObjectsInput>() {
            assert_eq!(delete.bucket(), Some(BUCKET));
            let keys = delete
                .delete()
                .map(|d| d.objects().iter().map(|o| o.key().to_owned()).collect())
                .unwrap_or_default();
            seen.push(Seen::Delete(keys));
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(output) = context.output_or_error() else {
            return Ok(());
        };
        let mut seen = self.0.lock().unwrap();
        if let Some(started) = output.downcast_ref::<StartQueryExecutionOutput>() {
            seen.push(Seen::Started(
                started.query_execution_id().unwrap_or_default().to_owned(),
            ));
        } else if let Some(got) = output.downcast_ref::<GetQueryExecutionOutput>() {
            let execution = got.query_execution();
            seen.push(Seen::Polled {
                id: execution
                    .and_then(|e| e.query_execution_id())
                    .unwrap_or_default()
                    .to_owned(),
                state: execution
                    .and_then(|e| e.status())
                    .and_then(|s| s.state())
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            });
        }
        Ok(())
    }
}

/// moto with the work group and the versioned data bucket, the admin's clients for setting
/// up and checking what the job did, and the credentials of the job's role.
struct World {
    server: MotoServer,
    athena: aws_sdk_athena::Client,
    s3: aws_sdk_s3::Client,
    function: Credentials,
    /// The job's configuration.
    settings: Settings,
}

impl World {
    /// The job's role with the policy the compaction module declares.
    async fn new() -> Self {
        Self::with_policy(&function_policy()).await
    }

    async fn with_policy(policy: &Policy) -> Self {
        Self::with_policy_and_settings(policy, settings()).await
    }

    /// The instance that compacts usage events: the policy and environment the compaction
    /// module gives it with `data_source = "usage_events"`.
    async fn for_events() -> Self {
        let inputs = events_module_inputs();
        let environment = environment_with(&inputs);
        Self::with_policy_and_settings(&policy_with(&inputs), config_from(environment)).await
    }

    async fn with_policy_and_settings(policy: &Policy, settings: Settings) -> Self {
        let server = MotoServer::start();
        let function = server.role_credentials(FUNCTION_NAME, policy.json());
        let athena = athena_client(&server, None::<Recorder>).await;
        let s3 = s3_client(&server, None::<Recorder>).await;
        athena
            .create_work_group()
            .name(WORK_GROUP)
            .send()
            .await
            .expect("CreateWorkGroup on moto");
        for bucket in [BUCKET, RESULTS_BUCKET] {
            s3.create_bucket().bucket(bucket).send().await.unwrap();
        }
        s3.put_bucket_versioning()
            .bucket(BUCKET)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        Self {
            server,
            athena,
            s3,
            function,
            settings,
        }
    }

    async fn put(&self, key: &str) {
        self.s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from_static(b"{\"requestId\":\"r-1\"}\n"))
            .send()
            .await
            .unwrap();
    }

    async fn put_manifest(&self, hour: &str, json_objects: &[String]) {
        let hour = compaction::Hour::parse(hour).unwrap();
        let manifest = Manifest {
            hour: hour.to_string(),
            json_objects: json_objects.to_vec(),
            rows_in: 1,
            rows_out: 1,
            rows_malformed: 0,
            compacted_at_ms: 1,
        };
        self.s3
            .put_object()
            .bucket(BUCKET)
            .key(format!(
                "compaction-manifests/{}/manifest.json",
                hour.partition_path()
            ))
            .body(ByteStream::from(manifest.to_bytes()))
            .send()
            .await
            .unwrap();
    }

    async fn manifest(&self, key: &str) -> Option<Manifest> {
        let got = self
            .s3
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .ok()?;
        let bytes = got.body.collect().await.unwrap().into_bytes();
        Some(Manifest::from_bytes(&bytes).unwrap())
    }

    async fn keys(&self, prefix: &str) -> Vec<String> {
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(BUCKET)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }

    /// The app with recording clients, as the job's role, holding each hour's lease as the
    /// Lambda does (so the lease's S3 calls are checked against the role's policy too).
    async fn app(&self, recorder: &Recorder) -> App<SdkAthena, SdkS3, SdkS3> {
        let s3 =
            SdkS3::new(s3_client_as(&self.server, &self.function, Some(recorder.clone())).await);
        let settings = self.settings.clone();
        let lock_prefix = settings.lock_prefix.clone().expect("LOCK_PREFIX");
        App::new(
            SdkAthena::new(
                athena_client_as(&self.server, &self.function, Some(recorder.clone())).await,
            ),
            s3.clone(),
            settings,
        )
        .with_lock(LeaseLock::new(s3, lock_prefix))
        .with_backoff(fast_backoff())
        .with_clock(test_clock)
    }

    /// (query, work group) of every execution moto holds, oldest first.
    async fn executions(&self) -> Vec<(String, String)> {
        query_executions(&self.athena).await
    }

    async fn try_run(
        &self,
        recorder: &Recorder,
        payload: serde_json::Value,
    ) -> Result<Response, JobError> {
        self.app(recorder)
            .await
            .handle(lambda_event(payload, Duration::from_secs(120)))
            .await
    }

    async fn run(&self, recorder: &Recorder, payload: serde_json::Value) -> Response {
        self.try_run(recorder, payload)
            .await
            .unwrap_or_else(|e| panic!("handler failed: {e}\n{}", self.server.log_tail()))
    }
}

#[tokio::test]
async fn scheduled_event_compacts_the_hour_through_s3_and_athena() {
    let world = World::new().await;
    world.server.athena_transition(2);
    world.put(&format!("{JSON_PREFIX}firehose-1.json")).await;
    world.put(&format!("{JSON_PREFIX}firehose-2.json")).await;
    world.server.queue_athena_results(vec![
        count_result(3, 2),
        no_result(),
        no_result(),
        no_result(),
    ]);

    let recorder = Recorder::default();
    let response = world.run(&recorder, scheduled_event()).await;

    let settings = settings();
    let hour = common::hour();
    let expected_sql = [
        sql::count_rows(&settings, &hour),
        sql::drop_temp_table(&settings, &hour),
        sql::create_parquet_table(&settings, &hour),
        sql::drop_temp_table(&settings, &hour),
    ];
    let executions = world.executions().await;
    let queries: Vec<&str> = executions.iter().map(|(q, _)| q.as_str()).collect();
    assert_eq!(
        queries,
        expected_sql.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(executions.iter().all(|(_, wg)| wg == WORK_GROUP));

    // On the wire: the earlier hours' JSON folders listed (all empty), the hour's JSON folder
    // listed, each query polled through QUEUED, RUNNING, RUNNING to SUCCEEDED before the next
    // call, the count read, the hour's manifest deleted before the (empty) Parquet folder is
    // listed.
    let summary = &response.hours[0];
    let ids = [
        summary.query_ids.count.clone().unwrap(),
        summary.query_ids.drop_leftover.clone().unwrap(),
        summary.query_ids.ctas.clone().unwrap(),
        summary.query_ids.drop_temp.clone().unwrap(),
    ];
    let mut expected = earlier_listings();
    expected.push(Seen::List {
        prefix: JSON_PREFIX.to_owned(),
    });
    for (index, (id, sql)) in ids.iter().zip(&expected_sql).enumerate() {
        expected.push(Seen::Start {
            sql: sql.clone(),
            work_group: WORK_GROUP.to_owned(),
        });
        expected.push(Seen::Started(id.clone()));
        for state in ["QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"] {
            expected.push(Seen::Polled {
                id: id.clone(),
                state: state.to_owned(),
            });
        }
        if index == 0 {
            expected.push(Seen::Results(id.clone()));
            expected.push(Seen::Delete(vec![MANIFEST_KEY.to_owned()]));
            expected.push(Seen::List {
                prefix: PARQUET_PREFIX.to_owned(),
            });
        }
    }
    assert_eq!(recorder.seen(), expected);

    assert_eq!(summary.hour, "2026-11-28T00");
    assert_eq!(summary.outcome, "compacted");
    assert_eq!((summary.rows_in, summary.rows_out), (Some(3), Some(2)));
    assert_eq!(summary.objects_deleted, 0);
    assert_eq!(world.keys(JSON_PREFIX).await.len(), 2, "JSON files stay");

    // Written last, by the function's role: the JSON objects the Parquet files hold.
    let manifest = world
        .manifest(MANIFEST_KEY)
        .await
        .expect("the hour's manifest");
    assert_eq!(
        manifest.json_objects,
        [
            format!("{JSON_PREFIX}firehose-1.json"),
            format!("{JSON_PREFIX}firehose-2.json")
        ]
    );
    assert_eq!(
        (manifest.hour.as_str(), manifest.rows_in, manifest.rows_out),
        ("2026-11-28T00", 3, 2)
    );
}

#[tokio::test]
async fn an_hour_of_usage_events_is_compacted_by_its_own_instance() {
    // The environment the module gives the events instance is the one the job reads.
    let environment = environment_with(&events_module_inputs());
    assert_eq!(
        environment.get("SOURCE").map(String::as_str),
        Some("usage_events")
    );
    assert_eq!(
        environment.get("LATE_ARRIVAL_HOURS"),
        Some(&EVENTS_LATE_ARRIVAL_HOURS.to_string())
    );
    assert_eq!(environment.get("COLUMN_NAMES"), None);
    let world = World::for_events().await;
    let settings = world.settings.clone();
    assert_eq!(
        settings.source,
        Source::UsageEvents {
            late_arrival_hours: EVENTS_LATE_ARRIVAL_HOURS
        }
    );

    let prefix = "usage-events/year=2026/month=11/day=28/hour=00/";
    let parquet = "usage-events-parquet/year=2026/month=11/day=28/hour=00/";
    world.put(&format!("{prefix}events-1")).await;
    world.put(&format!("{prefix}events-2")).await;
    let old = format!("{parquet}20261128_000000_00001_abc");
    world.put(&old).await;
    world.server.athena_transition(2);
    world.server.queue_athena_results(vec![
        event_count_result(5, 4, 1, 2),
        no_result(),
        no_result(),
        no_result(),
    ]);

    let recorder = Recorder::default();
    let response = world.run(&recorder, json!({"hour": "2026-11-28T00"})).await;

    let hour = common::hour();
    let queries: Vec<String> = world
        .executions()
        .await
        .into_iter()
        .map(|(query, work_group)| {
            assert_eq!(work_group, WORK_GROUP);
            query
        })
        .collect();
    assert_eq!(
        queries,
        [
            sql::count_rows(&settings, &hour),
            sql::drop_temp_table(&settings, &hour),
            sql::create_parquet_table(&settings, &hour),
            sql::drop_temp_table(&settings, &hour),
        ]
    );
    assert!(queries[0].contains("AS \"rows_outside_windows\""));
    assert!(queries[2].contains("'outside any window'"));
    assert!(queries[2].contains("\"metering\".\"usage_events_json\""));

    let summary = &response.hours[0];
    assert_eq!(
        (
            summary.hour.as_str(),
            summary.outcome,
            summary.source,
            summary.rows_in,
            summary.rows_out,
            summary.rows_malformed,
            summary.rows_outside_windows,
            summary.objects_deleted,
        ),
        (
            "2026-11-28T00",
            "compacted",
            "usage_events",
            Some(5),
            Some(4),
            Some(1),
            Some(2),
            1
        )
    );
    // Its own folders: the events' JSON folder listed, the events' Parquet folder emptied, its
    // own manifest deleted and written; the access logs' folders never touched.
    let seen = recorder.seen();
    let listed: Vec<&str> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::List { prefix } => Some(prefix.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(listed, [prefix, parquet]);
    let manifest_key = "usage-events-manifests/year=2026/month=11/day=28/hour=00/manifest.json";
    let deleted: Vec<Vec<String>> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Delete(keys) => Some(keys.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(deleted, [vec![manifest_key.to_owned()], vec![old]]);
    let manifest = world
        .manifest(manifest_key)
        .await
        .expect("the hour's manifest");
    assert_eq!(
        manifest.json_objects,
        [format!("{prefix}events-1"), format!("{prefix}events-2")]
    );
    assert_eq!(
        (manifest.rows_in, manifest.rows_out, manifest.rows_malformed),
        (5, 4, 1)
    );
    assert!(world.keys("compaction-manifests/").await.is_empty());
    assert!(world.keys("json-data/").await.is_empty());
}

#[tokio::test]
async fn running_an_hour_again_deletes_what_the_last_run_wrote() {
    let world = World::new().await;
    world.put(&format!("{JSON_PREFIX}firehose-1.json")).await;
    let earlier: Vec<String> = (1..=3)
        .map(|i| format!("{PARQUET_PREFIX}20261128_000000_0000{i}_abc"))
        .collect();
    for key in &earlier {
        world.put(key).await;
    }
    let neighbour = "parquet-data/year=2026/month=11/day=28/hour=01/keep";
    world.put(neighbour).await;
    let mut results = Vec::new();
    for _run in 0..2 {
        results.extend([count_result(1, 1), no_result(), no_result(), no_result()]);
    }
    world.server.queue_athena_results(results);

    let recorder = Recorder::default();
    let first = world.run(&recorder, json!({"hour": "2026-11-28T00"})).await;
    let second = world.run(&recorder, json!({"hour": "2026-11-28T00"})).await;

    assert_eq!(first.hours[0].objects_deleted, 3);
    assert_eq!(first.hours[0].outcome, "compacted");
    assert_eq!(second.hours[0].objects_deleted, 0);
    assert_eq!(second.hours[0].outcome, "compacted");
    let deletes: Vec<Vec<String>> = recorder
        .seen()
        .into_iter()
        .filter_map(|s| match s {
            Seen::Delete(keys) => Some(keys),
            _ => None,
        })
        .collect();
    // Each run deletes the manifest before it touches the Parquet folder; only the first
    // finds files there.
    let manifest = vec![MANIFEST_KEY.to_owned()];
    assert_eq!(deletes, [manifest.clone(), earlier.clone(), manifest]);
    assert!(world.manifest(MANIFEST_KEY).await.is_some());
    assert!(world.keys(PARQUET_PREFIX).await.is_empty());
    assert_eq!(world.keys(neighbour).await, [neighbour]);
    assert_eq!(world.keys(JSON_PREFIX).await.len(), 1);

    // The bucket is versioned: the deletes left delete markers, the old versions stay.
    let versions = world
        .s3
        .list_object_versions()
        .bucket(BUCKET)
        .prefix(PARQUET_PREFIX)
        .send()
        .await
        .unwrap();
    let mut marked: Vec<String> = versions
        .delete_markers()
        .iter()
        .filter_map(|m| m.key().map(str::to_owned))
        .collect();
    marked.sort();
    assert_eq!(marked, earlier);

    // Each run: count, drop, CTAS, drop; the second as the first.
    let queries: Vec<String> = world
        .executions()
        .await
        .into_iter()
        .map(|(q, _)| q)
        .collect();
    assert_eq!(queries.len(), 8);
    assert_eq!(queries[..4], queries[4..]);
}

/// The three ways an hour's Parquet files miss requests, repaired by the next scheduled run
/// under the function's role: an object Firehose delivered after the compaction (stale), an
/// hour whose compaction failed or never ran (no manifest), and, left alone, an hour older
/// than the run looks back.
#[tokio::test]
async fn a_scheduled_run_compacts_again_the_recent_hours_that_miss_objects() {
    let world = World::new().await;
    let json = |hour: &str, name: &str| {
        let hour = compaction::Hour::parse(hour).unwrap();
        format!("json-data/{}/{name}", hour.partition_path())
    };
    // Stale: compacted from `a`, then `b` arrived late.
    let (a, b) = (
        json("2026-11-27T10", "a.json"),
        json("2026-11-27T10", "b.json"),
    );
    world.put(&a).await;
    world.put(&b).await;
    world
        .put_manifest("2026-11-27T10", std::slice::from_ref(&a))
        .await;
    // Complete.
    let c = json("2026-11-27T11", "c.json");
    world.put(&c).await;
    world
        .put_manifest("2026-11-27T11", std::slice::from_ref(&c))
        .await;
    // Never compacted (empty at first, or its compaction failed on every retry).
    let d = json("2026-11-27T12", "d.json");
    world.put(&d).await;
    // Too old for the scheduled run: 27 hours before the latest.
    let old = json("2026-11-26T21", "late.json");
    world.put(&old).await;
    // The hour that has just ended.
    world.put(&format!("{JSON_PREFIX}firehose-1.json")).await;
    let mut results = Vec::new();
    for _ in 0..3 {
        results.extend([count_result(1, 1), no_result(), no_result(), no_result()]);
    }
    world.server.queue_athena_results(results);

    let recorder = Recorder::default();
    let response = world.run(&recorder, scheduled_event()).await;

    let compacted: Vec<(&str, &str)> = response
        .hours
        .iter()
        .map(|h| (h.hour.as_str(), h.outcome))
        .collect();
    assert_eq!(
        compacted,
        [
            ("2026-11-27T10", "compacted"),
            ("2026-11-27T12", "compacted"),
            ("2026-11-28T00", "compacted"),
        ]
    );
    let stale = world
        .manifest("compaction-manifests/year=2026/month=11/day=27/hour=10/manifest.json")
        .await
        .unwrap();
    assert_eq!(
        stale.json_objects,
        [a, b],
        "the late object is now in Parquet"
    );
    let missing = world
        .manifest("compaction-manifests/year=2026/month=11/day=27/hour=12/manifest.json")
        .await
        .unwrap();
    assert_eq!(missing.json_objects, [d]);
    assert!(world
        .manifest("compaction-manifests/year=2026/month=11/day=26/hour=21/manifest.json")
        .await
        .is_none());

    // A second run finds every recent hour complete: only the latest is compacted again.
    world.server.queue_athena_results(vec![
        count_result(1, 1),
        no_result(),
        no_result(),
        no_result(),
    ]);
    let again = world.run(&Recorder::default(), scheduled_event()).await;
    let hours: Vec<&str> = again.hours.iter().map(|h| h.hour.as_str()).collect();
    assert_eq!(hours, ["2026-11-28T00"]);
}

#[tokio::test]
async fn backfill_of_three_hours() {
    let world = World::new().await;
    let backfill = hours(&["2026-11-01T22", "2026-11-01T23", "2026-11-02T00"]);
    for hour in &backfill {
        world
            .put(&format!(
                "json-data/{}/firehose.json",
                hour.partition_path()
            ))
            .await;
    }
    let mut results = Vec::new();
    for (rows_in, rows_out) in [(5, 5), (8, 6), (1, 1)] {
        results.extend([
            count_result(rows_in, rows_out),
            no_result(),
            no_result(),
            no_result(),
        ]);
    }
    world.server.queue_athena_results(results);

    let recorder = Recorder::default();
    let response = world
        .run(
            &recorder,
            json!({"from": "2026-11-01T22", "to": "2026-11-02T00"}),
        )
        .await;

    let got: Vec<(&str, &str, Option<u64>, Option<u64>)> = response
        .hours
        .iter()
        .map(|h| (h.hour.as_str(), h.outcome, h.rows_in, h.rows_out))
        .collect();
    assert_eq!(
        got,
        [
            ("2026-11-01T22", "compacted", Some(5), Some(5)),
            ("2026-11-01T23", "compacted", Some(8), Some(6)),
            ("2026-11-02T00", "compacted", Some(1), Some(1)),
        ]
    );
    let settings = settings();
    let ctas: Vec<String> = world
        .executions()
        .await
        .into_iter()
        .map(|(q, _)| q)
        .filter(|q| q.starts_with("CREATE TABLE"))
        .collect();
    let expected: Vec<String> = backfill
        .iter()
        .map(|h| sql::create_parquet_table(&settings, h))
        .collect();
    assert_eq!(ctas, expected);
}

#[tokio::test]
async fn empty_hour_deletes_nothing_and_starts_no_query() {
    let world = World::new().await;
    let earlier = format!("{PARQUET_PREFIX}20261128_000000_00001_abc");
    world.put(&earlier).await;

    let recorder = Recorder::default();
    let response = world.run(&recorder, scheduled_event()).await;

    assert_eq!(response.hours[0].outcome, "empty");
    assert_eq!(response.hours[0].objects_deleted, 0);
    let mut expected = earlier_listings();
    expected.push(Seen::List {
        prefix: JSON_PREFIX.to_owned(),
    });
    assert_eq!(recorder.seen(), expected);
    assert!(world.executions().await.is_empty(), "no Athena query");
    assert!(
        world.manifest(MANIFEST_KEY).await.is_none(),
        "no manifest for no objects"
    );
    assert_eq!(world.keys(PARQUET_PREFIX).await, [earlier]);
}

#[tokio::test]
async fn missing_work_group_fails_naming_the_hour_and_step() {
    let server = MotoServer::start();
    let function = server.role_credentials(FUNCTION_NAME, function_policy().json());
    let s3 = s3_client(&server, None::<Recorder>).await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    s3.put_object()
        .bucket(BUCKET)
        .key(format!("{JSON_PREFIX}firehose-1.json"))
        .body(ByteStream::from_static(b"{}\n"))
        .send()
        .await
        .unwrap();
    let recorder = Recorder::default();
    let app = App::new(
        SdkAthena::new(athena_client_as(&server, &function, Some(recorder.clone())).await),
        SdkS3::new(s3_client_as(&server, &function, Some(recorder.clone())).await),
        settings(),
    )
    .with_backoff(fast_backoff());

    let err = app
        .handle(lambda_event(scheduled_event(), Duration::from_secs(120)))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            JobError::Hour {
                error: HourError::Query {
                    step: Step::Count,
                    failure: QueryFailure::Submit { .. },
                    ..
                },
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with(
            "hour 2026-11-28T00: could not start the count query: StartQueryExecution failed"
        ),
        "{message}"
    );
    assert!(message.contains("WorkGroup does not exist"), "{message}");
    let seen = recorder.seen();
    let mut expected = earlier_listings();
    expected.push(Seen::List {
        prefix: JSON_PREFIX.to_owned(),
    });
    assert_eq!(
        seen[..expected.len()],
        expected,
        "the JSON listings, then one StartQueryExecution: {seen:?}"
    );
    assert!(
        matches!(&seen[expected.len()..], [Seen::Start { .. }]),
        "{seen:?}"
    );
}

#[tokio::test]
async fn query_stuck_in_moto_is_stopped_at_the_deadline() {
    let world = World::new().await;
    // A thousand GetQueryExecution calls per state step: never done within the budget.
    world.server.athena_transition(1000);
    world.put(&format!("{JSON_PREFIX}firehose-1.json")).await;
    let recorder = Recorder::default();
    let app = world
        .app(&recorder)
        .await
        .with_safety_margin(Duration::from_secs(1));

    let began = Instant::now();
    let err = app
        .handle(lambda_event(scheduled_event(), Duration::from_secs(3)))
        .await
        .unwrap_err();
    let took = began.elapsed();

    let JobError::Hour {
        error:
            HourError::Query {
                step,
                failure:
                    QueryFailure::Deadline {
                        query_execution_id,
                        last_state,
                        ..
                    },
                ..
            },
        ..
    } = &err
    else {
        panic!("expected a deadline error, got {err:?}");
    };
    assert_eq!(*step, Step::Count);
    assert_eq!(last_state.as_str(), "QUEUED");
    assert_eq!(err.kind(), "QueryTimedOut");
    assert!(err.to_string().contains("2026-11-28T00"), "{err}");
    assert!(
        err.to_string().contains(query_execution_id.as_str()),
        "{err}"
    );
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert_eq!(
        recorder.seen().last(),
        Some(&Seen::Stop(query_execution_id.clone()))
    );

    let execution = world
        .athena
        .get_query_execution()
        .query_execution_id(query_execution_id)
        .send()
        .await
        .unwrap()
        .query_execution
        .unwrap();
    assert_eq!(
        execution.status().and_then(|s| s.state()),
        Some(&QueryExecutionState::Cancelled),
        "StopQueryExecution reached moto"
    );
}

/// The rendered policy without the statement `sid`: what the job's role gets in a test
/// proving that a call needs it.
fn policy_without(sid: &str) -> Policy {
    function_policy()
        .without_statement(sid)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Access control is on: the job's DeleteObjects of an earlier run's Parquet files needs the
/// module's `WriteParquet` statement (s3:DeleteObject on the Parquet folder), and without it
/// moto refuses every key, so the files stay and the CTAS query is never started.
#[tokio::test]
async fn without_write_parquet_the_old_parquet_files_cannot_be_deleted() {
    let world = World::with_policy(&policy_without("WriteParquet")).await;
    world.put(&format!("{JSON_PREFIX}firehose-1.json")).await;
    let earlier = format!("{PARQUET_PREFIX}20261128_000000_00001_abc");
    world.put(&earlier).await;
    world
        .server
        .queue_athena_results(vec![count_result(1, 1), no_result(), no_result()]);

    let recorder = Recorder::default();
    let err = world
        .try_run(&recorder, json!({"hour": "2026-11-28T00"}))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "S3DeleteRefused", "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("{earlier} (AccessDenied: Access Denied)")),
        "{message}"
    );
    assert_eq!(world.keys(PARQUET_PREFIX).await, [earlier]);
    let queries: Vec<String> = world
        .executions()
        .await
        .into_iter()
        .map(|(q, _)| q)
        .collect();
    assert_eq!(queries, [sql::count_rows(&settings(), &common::hour())]);
}

/// Without the module's `HourManifests` statement the hour's manifest cannot be deleted, and
/// the hour fails before its Parquet files are touched: they never change while a manifest
/// still says they are complete.
#[tokio::test]
async fn without_hour_manifests_the_parquet_files_are_left_alone() {
    let world = World::with_policy(&policy_without("HourManifests")).await;
    world.put(&format!("{JSON_PREFIX}firehose-1.json")).await;
    let earlier = format!("{PARQUET_PREFIX}20261128_000000_00001_abc");
    world.put(&earlier).await;
    world
        .server
        .queue_athena_results(vec![count_result(1, 1), no_result(), no_result()]);

    let err = world
        .try_run(&Recorder::default(), json!({"hour": "2026-11-28T00"}))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "S3DeleteFailed", "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "could not delete the manifest s3://{BUCKET}/{MANIFEST_KEY}: AccessDenied"
        )),
        "{message}"
    );
    assert_eq!(world.keys(PARQUET_PREFIX).await, [earlier]);
    let queries: Vec<String> = world
        .executions()
        .await
        .into_iter()
        .map(|(q, _)| q)
        .collect();
    assert_eq!(queries, [sql::count_rows(&settings(), &common::hour())]);
}

/// Athena calls are checked by action: without the module's `RunQueries` statement the count
/// query cannot be started.
#[tokio::test]
async fn without_run_queries_no_query_can_be_started() {
    let world = World::with_policy(&policy_without("RunQueries")).await;
    world.put(&format!("{JSON_PREFIX}firehose-1.json")).await;

    let recorder = Recorder::default();
    let err = world
        .try_run(&recorder, json!({"hour": "2026-11-28T00"}))
        .await
        .unwrap_err();

    assert!(
        matches!(
            &err,
            JobError::Hour {
                error: HourError::Query {
                    step: Step::Count,
                    failure: QueryFailure::Submit { .. },
                    ..
                },
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("AccessDenied")
            && message.contains(&format!(
                "assumed-role/{FUNCTION_NAME}/{FUNCTION_NAME} is not authorized to perform: \
                 athena:StartQueryExecution"
            )),
        "{message}"
    );
    assert!(world.executions().await.is_empty(), "no query started");
}
