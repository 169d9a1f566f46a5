//! The hour's lease lock over the wire: the real SDK client against moto's S3 server, which
//! implements `If-None-Match: *` and `If-Match` on PutObject and `If-Match` on DeleteObject
//! (moto 5.2, `moto/s3/responses.py`), in a versioned bucket as the results bucket is.
//!
//! Needs moto 5 with its server extra for the Python in `METERING_PYTHON` (default
//! `python3`). If moto cannot be started the tests fail. The clients use the harness's admin
//! credentials: these tests are about S3's conditional requests, not about the role's
//! permissions.

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use compaction::{App, HourError, JobError, Settings};
use lambda_support::athena::SdkAthena;
use lambda_support::lease::{
    now_epoch_ms, AcquireError, Busy, Holder, LeaseLock, LeaseRecord, LeaseStore, LockPrefix,
    Released, WriteError,
};
use lambda_support::moto::{athena_client, query_executions, s3_client, MotoServer};
use lambda_support::s3::SdkS3;
use lambda_support::testing::lambda_event;
use serde_json::json;

const RESULTS: &str = "athena-results";
const DATA: &str = "usage-bucket";
const LOCKS: &str = "s3://athena-results/locks/compaction";
const KEY: &str = "locks/compaction/2026112800";
const WORK_GROUP: &str = "metering-wg";

/// Our own: the harness's interceptor type for "no interceptor".
#[derive(Debug)]
struct NoInterceptor;

impl aws_sdk_s3::config::Intercept for NoInterceptor {
    fn name(&self) -> &'static str {
        "NoInterceptor"
    }
}

async fn s3(server: &MotoServer) -> aws_sdk_s3::Client {
    s3_client(server, None::<NoInterceptor>).await
}

/// moto with the versioned results bucket.
async fn moto() -> (MotoServer, aws_sdk_s3::Client) {
    let server = MotoServer::start();
    let s3 = s3(&server).await;
    for bucket in [RESULTS, DATA] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    (server, s3)
}

fn holder(id: &str) -> Holder {
    Holder::new(id, now_epoch_ms() + 900_000)
}

async fn lease_holder(s3: &aws_sdk_s3::Client) -> Option<String> {
    let object = s3.get_object().bucket(RESULTS).key(KEY).send().await.ok()?;
    let body = object.body.collect().await.unwrap().into_bytes();
    Some(LeaseRecord::parse(&body).unwrap().holder)
}

#[tokio::test]
async fn leases_are_exclusive_taken_over_when_expired_and_released_only_by_their_holder() {
    let (server, s3) = moto().await;
    let lock = LeaseLock::new(SdkS3::new(s3.clone()), LockPrefix::parse(LOCKS).unwrap());

    // Free: taken.
    let first = lock
        .acquire("2026112800", &holder("req-1"))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log_tail()));
    assert_eq!(lease_holder(&s3).await.as_deref(), Some("req-1"));

    // Held and live: locked, and left as it is.
    let error = lock
        .acquire("2026112800", &holder("req-2"))
        .await
        .unwrap_err();
    let AcquireError::Locked(locked) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(locked.holder(), Some("req-1"));
    assert_eq!(lease_holder(&s3).await.as_deref(), Some("req-1"));

    // Released by its holder: gone (a delete marker in the versioned bucket), and free again.
    assert_eq!(lock.release(&first).await.unwrap(), Released::Deleted);
    assert_eq!(lease_holder(&s3).await, None);
    let second = lock.acquire("2026112800", &holder("req-2")).await.unwrap();
    assert_eq!(lease_holder(&s3).await.as_deref(), Some("req-2"));

    // Expired: taken over with If-Match on its ETag.
    let expired = LeaseRecord {
        holder: "req-2".to_owned(),
        token: "t-req-2".to_owned(),
        acquired_at_ms: 1,
        expires_at_ms: 2,
    };
    s3.put_object()
        .bucket(RESULTS)
        .key(KEY)
        .body(ByteStream::from(expired.to_json()))
        .send()
        .await
        .unwrap();
    let third = lock.acquire("2026112800", &holder("req-3")).await.unwrap();
    assert_eq!(third.took_over, Some(expired));
    assert_eq!(lease_holder(&s3).await.as_deref(), Some("req-3"));

    // The ETag the second run holds is stale: its release leaves the third run's lease.
    assert_eq!(lock.release(&second).await.unwrap(), Released::NotOurs);
    assert_eq!(lease_holder(&s3).await.as_deref(), Some("req-3"));

    // moto's answers to the conditional writes, one by one.
    let store = SdkS3::new(s3.clone());
    let body = LeaseRecord {
        holder: "req-4".to_owned(),
        token: "t-req-4".to_owned(),
        acquired_at_ms: 1,
        expires_at_ms: 2,
    }
    .to_json();
    assert_eq!(
        store.create(RESULTS, KEY, body.clone()).await,
        Err(WriteError::PreconditionFailed),
        "If-None-Match: * on an existing key"
    );
    assert_eq!(
        store
            .replace(RESULTS, KEY, body.clone(), &second.etag)
            .await,
        Err(WriteError::PreconditionFailed),
        "If-Match on a stale ETag"
    );
    assert_eq!(
        store.delete(RESULTS, KEY, &second.etag).await,
        Err(WriteError::PreconditionFailed),
        "DeleteObject If-Match on a stale ETag"
    );
    assert_eq!(lock.release(&third).await.unwrap(), Released::Deleted);
    assert_eq!(lock.release(&third).await.unwrap(), Released::Gone);
}

fn settings() -> Settings {
    Settings::from_lookup(|name| {
        Some(
            match name {
                "OLD_DATABASE" => "metering",
                "OLD_TABLE_NAME" => "api_access_json",
                "NEW_DATABASE" => "metering",
                "NEW_TABLE_NAME" => "api_access_parquet",
                "COLUMN_NAMES" => "requestId,ip,requestTime",
                "ATHENA_WORK_GROUP" => WORK_GROUP,
                "OLD_TABLE_LOCATION_PREFIX" => "s3://usage-bucket/json-data",
                "OUTPUT_PREFIX" => "s3://usage-bucket/parquet-data",
                "STAGING_OUTPUT_PREFIX" => "s3://athena-results/tmp",
                "REGION_NAME" => "us-east-1",
                "MANIFEST_PREFIX" => "s3://usage-bucket/compaction-manifests",
                "LOCK_PREFIX" => LOCKS,
                _ => return None,
            }
            .to_owned(),
        )
    })
    .unwrap()
}

/// The function as `main.rs` builds it, with the lock of `LOCK_PREFIX`, over moto.
async fn app(server: &MotoServer) -> App<SdkAthena, SdkS3, SdkS3> {
    let settings = settings();
    let prefix = settings.lock_prefix.clone().expect("LOCK_PREFIX is set");
    let s3 = SdkS3::new(s3(server).await);
    App::new(
        SdkAthena::new(athena_client(server, None::<NoInterceptor>).await),
        s3.clone(),
        settings,
    )
    .with_backoff(lambda_support::query::Backoff {
        initial: Duration::from_millis(20),
        factor: 2,
        max: Duration::from_millis(200),
    })
    .with_clock(|| {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    })
    .with_lock(LeaseLock::new(s3, prefix))
}

#[tokio::test]
async fn the_function_compacts_an_hour_holding_its_lease_and_refuses_a_locked_one() {
    let (server, s3) = moto().await;
    let athena = athena_client(&server, None::<NoInterceptor>).await;
    athena
        .create_work_group()
        .name(WORK_GROUP)
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(DATA)
        .key("json-data/year=2026/month=11/day=28/hour=00/firehose-1.json")
        .body(ByteStream::from_static(b"{\"requestId\":\"r-1\"}\n"))
        .send()
        .await
        .unwrap();
    let cell = |v: &str| json!({ "VarCharValue": v });
    let column = |name: &str| json!({"Name": name, "Label": name, "Type": "bigint"});
    server.queue_athena_results(vec![
        json!({
            "rows": [
                {"Data": [cell("rows_in"), cell("rows_out")]},
                {"Data": [cell("1"), cell("1")]},
            ],
            "column_info": [column("rows_in"), column("rows_out")],
        }),
        json!({"rows": [], "column_info": []}),
        json!({"rows": [], "column_info": []}),
        json!({"rows": [], "column_info": []}),
    ]);
    let app = app(&server).await;

    // Free: compacted holding the lease, which is released after.
    let response = app
        .handle(lambda_event(
            json!({"hour": "2026-11-28T00"}),
            Duration::from_secs(120),
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log_tail()));
    assert_eq!(response.hours[0].outcome, "compacted");
    assert_eq!(lease_holder(&s3).await, None, "released");
    let versions = s3
        .list_object_versions()
        .bucket(RESULTS)
        .prefix(KEY)
        .send()
        .await
        .unwrap();
    let written: Vec<String> = versions
        .versions()
        .iter()
        .filter_map(|v| v.key().map(str::to_owned))
        .collect();
    assert_eq!(written, [KEY], "the lease was written once");
    assert_eq!(versions.delete_markers().len(), 1, "and deleted once");
    let queries = query_executions(&athena).await.len();
    assert_eq!(queries, 4);

    // Held by a live run: the hour fails as Locked, nothing is started, the lease stays.
    let live = LeaseRecord {
        holder: "req-0".to_owned(),
        token: "t-req-0".to_owned(),
        acquired_at_ms: now_epoch_ms(),
        expires_at_ms: now_epoch_ms() + 600_000,
    };
    s3.put_object()
        .bucket(RESULTS)
        .key(KEY)
        .body(ByteStream::from(live.to_json()))
        .send()
        .await
        .unwrap();
    let err = app
        .handle(lambda_event(
            json!({"hour": "2026-11-28T00"}),
            Duration::from_secs(120),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "Locked");
    assert!(
        matches!(&err, JobError::Hour { error: HourError::Locked { locked, .. }, .. }
            if matches!(&locked.busy, Busy::Held(record) if *record == live)),
        "{err:?}"
    );
    assert_eq!(query_executions(&athena).await.len(), queries, "no query");
    assert_eq!(lease_holder(&s3).await.as_deref(), Some("req-0"));
}
