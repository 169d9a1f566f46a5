//! The hour's lease lock ([`lambda_support::lease`]) through the real [`SdkS3`], its client
//! mocked by `aws-smithy-mocks` and configured as in production (`sdk::s3_config`): the
//! conditional requests it sends (If-None-Match, If-Match), how it reads S3's 412 and 409,
//! and what the function does with an hour that is locked.
//!
//! S3's rules run in `MatchAny` mode; a call no rule matches panics inside the client and
//! fails the test, as does any Athena call (no Athena rule is given).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::operation::put_object::{PutObjectError, PutObjectInput, PutObjectOutput};
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleBuilder, RuleMode};
use common::{far_deadline, settings, test_clock};
use compaction::{App, HourError, JobError};
use lambda_support::athena::SdkAthena;
use lambda_support::lease::{
    now_epoch_ms, AcquireError, Busy, Holder, LeaseLock, LeaseRecord, LockPrefix, Released,
};
use lambda_support::s3::SdkS3;
use lambda_support::sdk::{athena_config, s3_config};
use lambda_support::testing::lambda_event;
use serde_json::json;

type S3 = aws_sdk_s3::Client;

const LOCKS: &str = "s3://results-bucket/locks/compaction";
const BUCKET: &str = "results-bucket";
const KEY: &str = "locks/compaction/2026112800";

fn s3(rules: &[&Rule]) -> SdkS3 {
    SdkS3::new(mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        rules,
        s3_config
    ))
}

fn lock(rules: &[&Rule]) -> LeaseLock<SdkS3> {
    LeaseLock::new(s3(rules), LockPrefix::parse(LOCKS).unwrap())
}

fn holder(id: &str) -> Holder {
    Holder::new(id, now_epoch_ms() + 900_000)
}

fn body(holder: &str, expires_at_ms: u64) -> Vec<u8> {
    LeaseRecord {
        holder: holder.to_owned(),
        token: format!("{holder}-token"),
        acquired_at_ms: expires_at_ms - 900_000,
        expires_at_ms,
    }
    .to_json()
}

/// A REST-XML error as S3 sends it.
fn s3_error(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <Error><Code>{code}</Code><Message>{message}</Message><RequestId>R1</RequestId></Error>"
    )
}

/// What PutObject requests carried: key, If-None-Match, If-Match, body.
type SeenPut = (String, Option<String>, Option<String>, Vec<u8>);

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<SeenPut>>>);

impl Seen {
    fn puts(&self) -> Vec<SeenPut> {
        self.0.lock().unwrap().clone()
    }
}

/// PutObject of `key` with `If-None-Match: *`, answered by `status` (200 gives the ETag
/// `"e1"`).
fn create(seen: &Seen, key: &'static str, status: u16) -> Rule {
    let seen = seen.clone();
    let rule = mock!(S3::put_object).match_requests(move |r| {
        let matches = r.bucket() == Some(BUCKET)
            && r.key() == Some(key)
            && r.if_none_match() == Some("*")
            && r.if_match().is_none();
        if matches {
            seen.0.lock().unwrap().push((
                key.to_owned(),
                r.if_none_match().map(str::to_owned),
                None,
                r.body().bytes().unwrap_or_default().to_vec(),
            ));
        }
        matches
    });
    answer_put(rule, status, "\"e1\"")
}

/// PutObject of `key` with `If-Match: <etag>`, answered by `status` (200 gives `"e2"`).
fn replace(seen: &Seen, key: &'static str, etag: &'static str, status: u16) -> Rule {
    let seen = seen.clone();
    let rule = mock!(S3::put_object).match_requests(move |r| {
        let matches =
            r.key() == Some(key) && r.if_match() == Some(etag) && r.if_none_match().is_none();
        if matches {
            seen.0.lock().unwrap().push((
                key.to_owned(),
                None,
                Some(etag.to_owned()),
                r.body().bytes().unwrap_or_default().to_vec(),
            ));
        }
        matches
    });
    answer_put(rule, status, "\"e2\"")
}

/// A PutObject rule answering `status`: 200 with `etag`, else S3's error for it.
fn answer_put(
    rule: RuleBuilder<PutObjectInput, PutObjectOutput, PutObjectError>,
    status: u16,
    etag: &'static str,
) -> Rule {
    let (code, message) = match status {
        200 => return rule.then_output(move || PutObjectOutput::builder().e_tag(etag).build()),
        412 => (
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        ),
        409 => (
            "ConditionalRequestConflict",
            "A conflicting operation occurred. If using PutObject you can retry the request.",
        ),
        _ => ("AccessDenied", "Access Denied"),
    };
    rule.sequence()
        .http_status(status, Some(s3_error(code, message)))
        .repeatedly()
        .build()
}

/// GetObject of `key`: `lease` with ETag `"e0"`.
fn read(key: &'static str, lease: Vec<u8>) -> Rule {
    mock!(S3::get_object)
        .match_requests(move |r| r.bucket() == Some(BUCKET) && r.key() == Some(key))
        .then_output(move || {
            GetObjectOutput::builder()
                .body(ByteStream::from(lease.clone()))
                .e_tag("\"e0\"")
                .last_modified(DateTime::from_millis(now_epoch_ms() as i64 - 60_000))
                .build()
        })
}

/// DeleteObject of `key` with `If-Match: <etag>`, answered by `status`.
fn delete(key: &'static str, etag: &'static str, status: u16) -> Rule {
    let rule = mock!(S3::delete_object)
        .match_requests(move |r| r.key() == Some(key) && r.if_match() == Some(etag));
    if status == 204 {
        rule.then_output(|| DeleteObjectOutput::builder().build())
    } else {
        rule.sequence()
            .http_status(
                status,
                Some(s3_error(
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold",
                )),
            )
            .repeatedly()
            .build()
    }
}

// ---- the lease over the SDK ----

#[tokio::test(start_paused = true)]
async fn a_free_lease_is_created_with_if_none_match_and_released_with_if_match() {
    let seen = Seen::default();
    let (put, del) = (create(&seen, KEY, 200), delete(KEY, "\"e1\"", 204));
    let lock = lock(&[&put, &del]);
    let me = holder("req-1");

    let lease = lock.acquire("2026112800", &me).await.unwrap();

    assert_eq!(lease.uri(), format!("s3://{BUCKET}/{KEY}"));
    assert_eq!(lease.etag, "\"e1\"");
    assert_eq!(lease.took_over, None);
    let puts = seen.puts();
    assert_eq!(puts.len(), 1);
    let record = LeaseRecord::parse(&puts[0].3).unwrap();
    assert_eq!(record.holder, "req-1");
    assert_eq!(record.expires_at_ms, me.expires_at_ms);
    assert_eq!(lock.release(&lease).await.unwrap(), Released::Deleted);
    assert_eq!(del.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_live_lease_of_another_run_locks_and_is_left_alone() {
    let seen = Seen::default();
    let expires = now_epoch_ms() + 600_000;
    let (put, get) = (create(&seen, KEY, 412), read(KEY, body("req-0", expires)));
    // No If-Match rule: a takeover would panic.
    let lock = lock(&[&put, &get]);

    let error = lock
        .acquire("2026112800", &holder("req-1"))
        .await
        .unwrap_err();

    let AcquireError::Locked(locked) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(locked.holder(), Some("req-0"));
    assert_eq!(locked.expires_at_ms(), Some(expires));
    assert!(
        error
            .to_string()
            .starts_with(&format!("s3://{BUCKET}/{KEY} is held by req-0 until ")),
        "{error}"
    );
    assert_eq!((put.num_calls(), get.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn an_expired_lease_is_taken_over_with_if_match_on_its_etag() {
    let seen = Seen::default();
    let expired = now_epoch_ms() - 1;
    let (put, get, take) = (
        create(&seen, KEY, 412),
        read(KEY, body("req-0", expired)),
        replace(&seen, KEY, "\"e0\"", 200),
    );
    let lock = lock(&[&put, &get, &take]);

    let lease = lock.acquire("2026112800", &holder("req-1")).await.unwrap();

    assert_eq!(
        lease.etag, "\"e2\"",
        "the ETag of our write, for the release"
    );
    assert_eq!(
        lease
            .took_over
            .as_ref()
            .map(|r| (r.holder.as_str(), r.expires_at_ms)),
        Some(("req-0", expired))
    );
    let puts = seen.puts();
    assert_eq!(puts.len(), 2);
    assert_eq!(puts[1].2.as_deref(), Some("\"e0\""));
    assert_eq!(LeaseRecord::parse(&puts[1].3).unwrap().holder, "req-1");
}

#[tokio::test(start_paused = true)]
async fn a_lost_takeover_race_or_a_conflicting_write_locks() {
    // Another run took the expired lease between our read and our If-Match: 412.
    let seen = Seen::default();
    let (put, get, take) = (
        create(&seen, KEY, 412),
        read(KEY, body("req-0", now_epoch_ms() - 1)),
        replace(&seen, KEY, "\"e0\"", 412),
    );
    let error = lock(&[&put, &get, &take])
        .acquire("2026112800", &holder("req-1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, AcquireError::Locked(l)
            if l.busy == Busy::Raced { answer: "412 Precondition Failed on the takeover" }),
        "{error:?}"
    );
    assert_eq!(take.num_calls(), 1, "412 is not retried");

    // The same on the takeover with S3's 409.
    let (put, get, take) = (
        create(&seen, KEY, 412),
        read(KEY, body("req-0", now_epoch_ms() - 1)),
        replace(&seen, KEY, "\"e0\"", 409),
    );
    let error = lock(&[&put, &get, &take])
        .acquire("2026112800", &holder("req-1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, AcquireError::Locked(l)
            if l.busy == Busy::Raced { answer: "409 ConditionalRequestConflict on the takeover" }),
        "{error:?}"
    );

    // Conflicting creates: 409, locked without reading anything.
    let put = create(&seen, KEY, 409);
    let error = lock(&[&put])
        .acquire("2026112800", &holder("req-1"))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "another run wrote s3://{BUCKET}/{KEY} at the same moment \
             (409 ConditionalRequestConflict); try again later"
        )
    );
    assert_eq!(put.num_calls(), 1, "409 is not retried");
}

#[tokio::test(start_paused = true)]
async fn our_own_write_whose_answer_was_lost_is_adopted_not_rewritten() {
    let me = holder("req-1");
    // The first try's answer is lost (a 500 the SDK retries); the retry finds our lease.
    let put = mock!(S3::put_object)
        .match_requests(|r| r.key() == Some(KEY) && r.if_none_match() == Some("*"))
        .sequence()
        .http_status(
            500,
            Some(s3_error(
                "InternalError",
                "We encountered an internal error",
            )),
        )
        .http_status(
            412,
            Some(s3_error(
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
            )),
        )
        .build();
    let ours = LeaseRecord {
        holder: me.id.clone(),
        token: me.token.clone(),
        acquired_at_ms: now_epoch_ms(),
        expires_at_ms: me.expires_at_ms,
    };
    let get = read(KEY, ours.to_json());
    // No If-Match rule: a rewrite would panic.
    let lease = lock(&[&put, &get])
        .acquire("2026112800", &me)
        .await
        .unwrap();

    assert_eq!(put.num_calls(), 2, "the SDK's retry");
    assert_eq!((lease.etag.as_str(), lease.took_over), ("\"e0\"", None));
}

#[tokio::test(start_paused = true)]
async fn release_deletes_only_our_own_lease() {
    let seen = Seen::default();
    let put = create(&seen, KEY, 200);
    // The lease now holds another ETag: S3 refuses the delete.
    let del = delete(KEY, "\"e1\"", 412);
    let lock = lock(&[&put, &del]);
    let lease = lock.acquire("2026112800", &holder("req-1")).await.unwrap();

    assert_eq!(lock.release(&lease).await.unwrap(), Released::NotOurs);
    assert_eq!(del.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_refused_put_is_an_s3_failure_not_a_lock() {
    let seen = Seen::default();
    let put = create(&seen, KEY, 403);
    let error = lock(&[&put])
        .acquire("2026112800", &holder("req-1"))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "could not take the lease s3://{BUCKET}/{KEY}: PutObject failed: AccessDenied: \
             Access Denied (HTTP 403)"
        )
    );
}

// ---- the function ----

const JSON_05: &str = "json-data/year=2026/month=11/day=01/hour=05/";
const JSON_00: &str = "json-data/year=2026/month=11/day=28/hour=00/";

fn empty_listing(prefix: &'static str) -> Rule {
    mock!(S3::list_objects_v2)
        .match_requests(move |r| r.prefix() == Some(prefix))
        .then_output(|| ListObjectsV2Output::builder().key_count(0).build())
}

/// A backfill of the hour [`KEY`] leases (the scheduled run also surveys earlier hours, which
/// `sdk_faults.rs` and `moto_wire.rs` cover).
fn hour_00() -> serde_json::Value {
    serde_json::json!({"hour": "2026-11-28T00"})
}

/// The app with mocked clients (no Athena rule: any query panics) and the lock over `rules`.
fn app(rules: &[&Rule]) -> App<SdkAthena, SdkS3, SdkS3> {
    let athena = mock_client!(aws_sdk_athena, RuleMode::Sequential, &[], athena_config);
    let s3 = s3(rules);
    App::new(SdkAthena::new(athena), s3.clone(), settings())
        .with_clock(test_clock)
        .with_lock(LeaseLock::new(s3, LockPrefix::parse(LOCKS).unwrap()))
}

#[tokio::test(start_paused = true)]
async fn an_hour_locked_by_a_live_run_fails_loudly_and_touches_nothing() {
    let seen = Seen::default();
    let expires = now_epoch_ms() + 600_000;
    let (put, get) = (create(&seen, KEY, 412), read(KEY, body("req-0", expires)));
    // No listing rule and no Athena rule: touching the hour would panic.
    let app = app(&[&put, &get]);

    let err = app.run(&hour_00(), far_deadline()).await.unwrap_err();

    assert_eq!(err.kind(), "Locked");
    let JobError::Hour {
        error: HourError::Locked { hour, locked },
        done,
        left,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(hour.to_string(), "2026-11-28T00");
    assert_eq!(locked.holder(), Some("req-0"));
    assert!(done.is_empty() && left.len() == 1);
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "hour 2026-11-28T00: locked by another run: s3://{BUCKET}/{KEY} is held by req-0 \
             until "
        )),
        "{message}"
    );
    assert!(
        message.ends_with("; nothing was done for this hour"),
        "{message}"
    );
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "Compaction.Locked");
}

#[tokio::test(start_paused = true)]
async fn the_invocation_holds_the_hour_until_its_deadline_and_releases_it() {
    let seen = Seen::default();
    let (put, list, del) = (
        create(&seen, KEY, 200),
        empty_listing(JSON_00),
        delete(KEY, "\"e1\"", 204),
    );
    let app = app(&[&put, &list, &del]);
    let event = lambda_event(hour_00(), Duration::from_secs(600));
    let deadline = event.context.deadline;

    let response = app.handle(event).await.unwrap();

    assert_eq!(response.hours[0].outcome, "empty");
    let record = LeaseRecord::parse(&seen.puts()[0].3).unwrap();
    assert_eq!(record.holder, "test-invocation", "the Lambda request id");
    assert_eq!(
        record.expires_at_ms,
        deadline + 30_000,
        "the deadline plus the margin"
    );
    assert_eq!((list.num_calls(), del.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_failed_hour_releases_its_lease_too() {
    let seen = Seen::default();
    let denied = mock!(S3::list_objects_v2)
        .sequence()
        .http_status(403, Some(s3_error("AccessDenied", "Access Denied")))
        .build();
    let (put, del) = (create(&seen, KEY, 200), delete(KEY, "\"e1\"", 204));
    let app = app(&[&put, &denied, &del]);

    let err = app.run(&hour_00(), far_deadline()).await.unwrap_err();

    assert_eq!(err.kind(), "S3ListFailed");
    assert_eq!(del.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_backfill_stops_at_the_locked_hour_naming_hours_done_and_left() {
    let seen = Seen::default();
    let key_05 = "locks/compaction/2026110105";
    let key_06 = "locks/compaction/2026110106";
    let (put_05, list_05, del_05) = (
        create(&seen, key_05, 200),
        empty_listing(JSON_05),
        delete(key_05, "\"e1\"", 204),
    );
    let (put_06, get_06) = (
        create(&seen, key_06, 412),
        read(key_06, body("req-0", now_epoch_ms() + 600_000)),
    );
    let app = app(&[&put_05, &list_05, &del_05, &put_06, &get_06]);

    let err = app
        .run(
            &json!({"from": "2026-11-01T05", "to": "2026-11-01T07"}),
            far_deadline(),
        )
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "Locked");
    let message = err.to_string();
    assert!(
        message.starts_with(
            "hour 2026-11-01T06: locked by another run: \
             s3://results-bucket/locks/compaction/2026110106 is held by req-0 until "
        ),
        "{message}"
    );
    assert!(
        message.ends_with(
            "; nothing was done for this hour; hours done: 2026-11-01T05; \
             hours left: 2026-11-01T06, 2026-11-01T07 \
             (invoke again with {\"hours\":[\"2026-11-01T06\",\"2026-11-01T07\"]})"
        ),
        "{message}"
    );
    assert_eq!(del_05.num_calls(), 1, "05 compacted (empty) and released");
    let keys: Vec<String> = seen.puts().into_iter().map(|p| p.0).collect();
    assert_eq!(keys, [key_05, key_06], "nothing for 07");
}
