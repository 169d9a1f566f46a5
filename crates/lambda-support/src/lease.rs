//! A lease lock in S3, so that two runs of a function never work on the same hour (or month)
//! at the same time, without reserved concurrency.
//!
//! A lease is a small JSON object, `{"holder": …, "token": …, "acquired_at": …, "expires_at":
//! …}` (the Lambda request id, a token unique to the process that wrote it, epoch
//! milliseconds), at `<LOCK_PREFIX>/<name>`. It relies on S3's
//! conditional writes and deletes, as documented in the Amazon S3 User Guide, "How to prevent
//! object overwrites with conditional writes"
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html>), "How to
//! perform conditional deletes"
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html>, general
//! purpose buckets included) and the PutObject API reference:
//!
//! - PutObject with `If-None-Match: *` writes only if the key does not exist, else answers
//!   `412 Precondition Failed`;
//! - PutObject with `If-Match: <ETag>` writes only if the object's ETag is that one, else
//!   `412`;
//! - either answers `409 ConditionalRequestConflict` when a conflicting write happens at the
//!   same time;
//! - DeleteObject with `If-Match: <ETag>` deletes only that version of the content, else `412`.
//!
//! So:
//!
//! - **acquire**: PutObject `If-None-Match: *`. On `412` someone holds it: GetObject it (body
//!   and ETag). If it is the very lease we wrote (same holder and token: the SDK retried a
//!   PutObject whose answer was lost), it is ours. If it has expired, take it over with
//!   PutObject `If-Match: <that ETag>`: of several takers only one can win, the others get
//!   `412`. A live lease of the same request id but another token (a retry of this
//!   invocation while the earlier try may still run, or a duplicate delivery) counts as held. A `409`, or a lost takeover, means another run got
//!   there at the same moment: locked, try later. A live lease of another run: locked.
//! - **expiry**: the holder's Lambda deadline plus [`LEASE_MARGIN`] (for clocks that differ a
//!   little): no run lives past its deadline, so an older lease is stale.
//! - **release**: DeleteObject `If-Match: <our ETag>`, so that a lease someone else has taken
//!   over meanwhile is never deleted.
//!
//! The S3 calls are behind [`LeaseStore`]; [`crate::s3::SdkS3`] implements it. Permissions:
//! `s3:PutObject`, `s3:GetObject` (also needed by the conditional PutObject and DeleteObject
//! with an ETag) and `s3:DeleteObject` on `<LOCK_PREFIX>/*`.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::sdk::ApiError;

/// How long a lease outlives its holder's deadline: room for clocks that differ a little.
pub const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// How long a lease object whose body cannot be read counts as held after it was written
/// (its `LastModified`): the longest a Lambda invocation lives (15 minutes), plus
/// [`LEASE_MARGIN`].
pub const UNREADABLE_LEASE_TTL: Duration = Duration::from_secs(15 * 60 + 30);

/// Writes of the lease before giving up when it keeps disappearing between a `412` and the
/// read that follows (released in between).
const MAX_TRIES: usize = 3;

/// Milliseconds since the Unix epoch, now.
pub fn now_epoch_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(u64::MAX)
}

/// RFC 3339 of epoch milliseconds, for messages.
fn rfc3339(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .map_or_else(
            || format!("{ms} ms since the epoch"),
            |t| t.to_rfc3339_opts(SecondsFormat::Millis, true),
        )
}

/// `s3://bucket[/prefix]`: where the leases of one function live (`LOCK_PREFIX`).
pub use crate::location::S3Location as LockPrefix;

/// Who takes a lease, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The Lambda request id.
    pub id: String,
    /// Unique to this holder in this process: tells our own lease from one another try of the
    /// same request wrote.
    pub token: String,
    /// When its leases expire (epoch milliseconds).
    pub expires_at_ms: u64,
}

impl Holder {
    /// `id`, with a new token, whose leases expire at `expires_at_ms`.
    pub fn new(id: &str, expires_at_ms: u64) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Self {
            id: id.to_owned(),
            token: format!(
                "{nanos:x}-{:x}-{:x}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ),
            expires_at_ms,
        }
    }

    /// The invocation `request_id` whose deadline is `deadline_epoch_ms` (the Lambda
    /// context's): its leases expire [`LEASE_MARGIN`] after the deadline.
    pub fn invocation(request_id: &str, deadline_epoch_ms: u64) -> Self {
        Self::new(
            request_id,
            deadline_epoch_ms.saturating_add(u64::try_from(LEASE_MARGIN.as_millis()).unwrap_or(0)),
        )
    }
}

/// The body of a lease object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    /// The Lambda request id of the run that holds it.
    pub holder: String,
    /// The holder's [`Holder::token`].
    pub token: String,
    /// When it was written (epoch milliseconds).
    pub acquired_at_ms: u64,
    /// When it stops counting (epoch milliseconds).
    pub expires_at_ms: u64,
}

impl LeaseRecord {
    /// `{"holder": …, "token": …, "acquired_at": …, "expires_at": …}`.
    pub fn to_json(&self) -> Vec<u8> {
        json!({
            "holder": self.holder,
            "token": self.token,
            "acquired_at": self.acquired_at_ms,
            "expires_at": self.expires_at_ms,
        })
        .to_string()
        .into_bytes()
    }

    /// Reads [`Self::to_json`]'s output back (other fields are ignored).
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| format!("not a JSON lease: {e}"))?;
        let holder = value["holder"]
            .as_str()
            .ok_or("no \"holder\" string")?
            .to_owned();
        let number = |field: &str| {
            value[field]
                .as_u64()
                .ok_or_else(|| format!("no \"{field}\" in epoch milliseconds"))
        };
        Ok(Self {
            holder,
            token: value["token"].as_str().unwrap_or_default().to_owned(),
            acquired_at_ms: number("acquired_at")?,
            expires_at_ms: number("expires_at")?,
        })
    }
}

/// A lease object as GetObject gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLease {
    pub body: Vec<u8>,
    pub etag: String,
    /// `LastModified`, epoch milliseconds.
    pub last_modified_ms: Option<u64>,
}

/// Why a conditional write or delete did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// `412 Precondition Failed`: the key exists (`If-None-Match`) or holds another ETag
    /// (`If-Match`).
    PreconditionFailed,
    /// `409 ConditionalRequestConflict`: a conflicting write at the same time.
    Conflict,
    /// `404 NoSuchKey`: nothing to match (`If-Match`).
    NotFound,
    /// Any other failure.
    Api(ApiError),
}

/// The S3 calls of a lease. Bucket and key are the lease's; ETags are S3's, quotes included.
pub trait LeaseStore: Send + Sync {
    /// PutObject with `If-None-Match: *`; the new object's ETag.
    fn create(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<String, WriteError>> + Send;

    /// PutObject with `If-Match: <etag>`; the new object's ETag.
    fn replace(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        etag: &str,
    ) -> impl Future<Output = Result<String, WriteError>> + Send;

    /// GetObject; `None` when there is no such key.
    fn read(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<StoredLease>, ApiError>> + Send;

    /// DeleteObject with `If-Match: <etag>`.
    fn delete(
        &self,
        bucket: &str,
        key: &str,
        etag: &str,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;
}

/// A lease this run holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub bucket: String,
    pub key: String,
    /// The ETag of our lease object: what the release deletes.
    pub etag: String,
    /// What we wrote.
    pub record: LeaseRecord,
    /// The expired lease of another run that we took over, if any.
    pub took_over: Option<LeaseRecord>,
}

impl Lease {
    /// `s3://bucket/key`.
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// Why a lease is not ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Busy {
    /// A live lease of another run.
    Held(LeaseRecord),
    /// Another run wrote the lease at the same moment (S3's answer): locked, try later.
    Raced { answer: &'static str },
    /// A lease object whose body cannot be read, written less than
    /// [`UNREADABLE_LEASE_TTL`] ago.
    Unreadable {
        problem: String,
        /// When it stops counting, if S3 said when it was written.
        until_ms: Option<u64>,
    },
}

/// The lease is held by another run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(.uri, .busy))]
pub struct Locked {
    /// `s3://bucket/key` of the lease.
    pub uri: String,
    pub busy: Busy,
}

fn describe(uri: &str, busy: &Busy) -> String {
    match busy {
        Busy::Held(record) => format!(
            "{uri} is held by {} until {} (acquired {})",
            record.holder,
            rfc3339(record.expires_at_ms),
            rfc3339(record.acquired_at_ms)
        ),
        Busy::Raced { answer } => {
            format!("another run wrote {uri} at the same moment ({answer}); try again later")
        }
        Busy::Unreadable { problem, until_ms } => format!(
            "{uri} holds a lease this function cannot read ({problem}); it counts as held {}",
            until_ms.map_or_else(
                || "until deleted".to_owned(),
                |t| format!("until {}", rfc3339(t))
            )
        ),
    }
}

impl Locked {
    /// The run that holds the lease, when known.
    pub fn holder(&self) -> Option<&str> {
        match &self.busy {
            Busy::Held(record) => Some(&record.holder),
            Busy::Raced { .. } | Busy::Unreadable { .. } => None,
        }
    }

    /// When the lease expires (epoch milliseconds), when known.
    pub fn expires_at_ms(&self) -> Option<u64> {
        match &self.busy {
            Busy::Held(record) => Some(record.expires_at_ms),
            Busy::Unreadable { until_ms, .. } => *until_ms,
            Busy::Raced { .. } => None,
        }
    }
}

/// Why a lease could not be acquired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcquireError {
    /// Another run holds it.
    #[error(transparent)]
    Locked(#[from] Locked),
    /// An S3 call failed.
    #[error("could not take the lease {uri}: {error}")]
    Failed { uri: String, error: ApiError },
}

/// What a release did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Released {
    /// Our lease object is deleted.
    Deleted,
    /// There was no lease object any more.
    Gone,
    /// The lease object is another run's now (it took ours over): left alone.
    NotOurs,
}

/// The leases of one function: a [`LeaseStore`] and the [`LockPrefix`] they live under.
#[derive(Debug, Clone)]
pub struct LeaseLock<L> {
    store: L,
    prefix: LockPrefix,
}

impl<L: LeaseStore> LeaseLock<L> {
    pub fn new(store: L, prefix: LockPrefix) -> Self {
        Self { store, prefix }
    }

    pub fn prefix(&self) -> &LockPrefix {
        &self.prefix
    }

    /// `s3://bucket/key` of the lease `name`.
    pub fn uri(&self, name: &str) -> String {
        format!(
            "s3://{}/{}",
            self.prefix.bucket(),
            self.prefix.object_key(name)
        )
    }

    /// Takes the lease `name` for `holder`, now.
    pub async fn acquire(&self, name: &str, holder: &Holder) -> Result<Lease, AcquireError> {
        self.acquire_at(name, holder, now_epoch_ms()).await
    }

    /// Takes the lease `name` for `holder`, `now_ms` being the time (epoch milliseconds).
    pub async fn acquire_at(
        &self,
        name: &str,
        holder: &Holder,
        now_ms: u64,
    ) -> Result<Lease, AcquireError> {
        let bucket = self.prefix.bucket();
        let key = self.prefix.object_key(name);
        let uri = self.uri(name);
        let failed = |error: ApiError| AcquireError::Failed {
            uri: uri.clone(),
            error,
        };
        let locked = |busy: Busy| {
            AcquireError::Locked(Locked {
                uri: uri.clone(),
                busy,
            })
        };
        let record = LeaseRecord {
            holder: holder.id.clone(),
            token: holder.token.clone(),
            acquired_at_ms: now_ms,
            expires_at_ms: holder.expires_at_ms,
        };
        let lease = |etag: String, took_over: Option<LeaseRecord>| Lease {
            bucket: bucket.to_owned(),
            key: key.clone(),
            etag,
            record: record.clone(),
            took_over,
        };
        for _ in 0..MAX_TRIES {
            match self.store.create(bucket, &key, record.to_json()).await {
                Ok(etag) => return Ok(lease(etag, None)),
                Err(WriteError::PreconditionFailed) => {}
                Err(WriteError::Conflict) => {
                    return Err(locked(Busy::Raced {
                        answer: "409 ConditionalRequestConflict",
                    }))
                }
                Err(WriteError::NotFound) => {
                    return Err(failed(ApiError::new("PutObject failed: 404 Not Found")))
                }
                Err(WriteError::Api(error)) => return Err(failed(error)),
            }
            // Someone holds it: whose, and until when?
            let Some(current) = self.store.read(bucket, &key).await.map_err(failed)? else {
                // Released since: try again.
                continue;
            };
            let held = LeaseRecord::parse(&current.body);
            let took_over = match held {
                // Our own write: the SDK retried a PutObject whose answer was lost.
                Ok(held) if held.holder == holder.id && held.token == holder.token => {
                    return Ok(lease(current.etag, None));
                }
                Ok(held) if held.expires_at_ms <= now_ms => Some(held),
                Ok(held) => return Err(locked(Busy::Held(held))),
                Err(problem) => {
                    let ttl = u64::try_from(UNREADABLE_LEASE_TTL.as_millis()).unwrap_or(0);
                    let until_ms = current.last_modified_ms.map(|t| t.saturating_add(ttl));
                    if until_ms.is_none_or(|until| until > now_ms) {
                        return Err(locked(Busy::Unreadable { problem, until_ms }));
                    }
                    None
                }
            };
            // Expired (or unreadable and old): take it over. Only one of several takers can
            // match the ETag.
            return match self
                .store
                .replace(bucket, &key, record.to_json(), &current.etag)
                .await
            {
                Ok(etag) => Ok(lease(etag, took_over)),
                Err(WriteError::PreconditionFailed | WriteError::NotFound) => {
                    Err(locked(Busy::Raced {
                        answer: "412 Precondition Failed on the takeover",
                    }))
                }
                Err(WriteError::Conflict) => Err(locked(Busy::Raced {
                    answer: "409 ConditionalRequestConflict on the takeover",
                })),
                Err(WriteError::Api(error)) => Err(failed(error)),
            };
        }
        Err(locked(Busy::Raced {
            answer: "the lease kept appearing and disappearing",
        }))
    }

    /// Deletes `lease` if it is still ours (DeleteObject `If-Match` on its ETag).
    pub async fn release(&self, lease: &Lease) -> Result<Released, ApiError> {
        match self
            .store
            .delete(&lease.bucket, &lease.key, &lease.etag)
            .await
        {
            Ok(()) => Ok(Released::Deleted),
            Err(WriteError::NotFound) => Ok(Released::Gone),
            Err(WriteError::PreconditionFailed | WriteError::Conflict) => Ok(Released::NotOurs),
            Err(WriteError::Api(error)) => Err(error),
        }
    }

    /// Runs `work` holding the lease `name`: takes it for `holder` (taking over an expired one
    /// is logged as a warning), runs `work`, and releases it whatever came of `work` (a release
    /// that fails is logged: the lease expires anyway). A lease that cannot be taken is
    /// `refused`'s error, and `work` is not run.
    pub async fn holding<T, E, Fut>(
        &self,
        name: &str,
        holder: &Holder,
        refused: impl FnOnce(AcquireError) -> E,
        work: impl FnOnce() -> Fut,
    ) -> Result<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        let lease = self.acquire(name, holder).await.map_err(refused)?;
        if let Some(previous) = &lease.took_over {
            tracing::warn!(
                lease = %lease.uri(),
                previous_holder = %previous.holder,
                previous_expires_at = previous.expires_at_ms,
                "took over the expired lease of another run"
            );
        }
        let outcome = work().await;
        self.release_logged(&lease).await;
        outcome
    }

    /// [`Self::release`], with what went wrong logged (a warning: the lease expires anyway).
    pub async fn release_logged(&self, lease: &Lease) {
        match self.release(lease).await {
            Ok(Released::Deleted | Released::Gone) => {}
            Ok(Released::NotOurs) => tracing::warn!(
                lease = %lease.uri(),
                holder = %lease.record.holder,
                "lease not released: another run has taken it over"
            ),
            Err(error) => tracing::warn!(
                lease = %lease.uri(),
                holder = %lease.record.holder,
                error = %error,
                "lease not released; it expires at its holder's deadline"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    /// S3 as the conditional requests document it, in memory, with scripted interference.
    #[derive(Default)]
    struct MemoryStore {
        /// key → (body, ETag)
        objects: Mutex<BTreeMap<String, (Vec<u8>, String)>>,
        next_etag: Mutex<u32>,
        /// Calls, in order: `create k`, `read k`, `replace k "etag"`, `delete k "etag"`.
        calls: Mutex<Vec<String>>,
        /// Answers for the next writes instead of evaluating them.
        forced: Mutex<Vec<WriteError>>,
        /// Written by "another run" right after our read, before our takeover.
        sneak_in: Mutex<Option<Vec<u8>>>,
    }

    impl MemoryStore {
        fn put(&self, key: &str, body: Vec<u8>) -> String {
            let mut next = self.next_etag.lock().unwrap();
            *next += 1;
            let etag = format!("\"e{next}\"");
            self.objects
                .lock()
                .unwrap()
                .insert(key.to_owned(), (body, etag.clone()));
            etag
        }

        fn record(&self, key: &str) -> Option<LeaseRecord> {
            let objects = self.objects.lock().unwrap();
            objects
                .get(key)
                .map(|(body, _)| LeaseRecord::parse(body).unwrap())
        }

        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }

        fn forced(&self) -> Option<WriteError> {
            let mut forced = self.forced.lock().unwrap();
            (!forced.is_empty()).then(|| forced.remove(0))
        }

        fn etag_of(&self, key: &str) -> Option<String> {
            let objects = self.objects.lock().unwrap();
            objects.get(key).map(|(_, etag)| etag.clone())
        }
    }

    impl LeaseStore for MemoryStore {
        async fn create(
            &self,
            _bucket: &str,
            key: &str,
            body: Vec<u8>,
        ) -> Result<String, WriteError> {
            self.calls.lock().unwrap().push(format!("create {key}"));
            if let Some(error) = self.forced() {
                return Err(error);
            }
            if self.etag_of(key).is_some() {
                return Err(WriteError::PreconditionFailed);
            }
            Ok(self.put(key, body))
        }

        async fn replace(
            &self,
            _bucket: &str,
            key: &str,
            body: Vec<u8>,
            etag: &str,
        ) -> Result<String, WriteError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("replace {key} {etag}"));
            if let Some(body) = self.sneak_in.lock().unwrap().take() {
                self.put(key, body);
            }
            if let Some(error) = self.forced() {
                return Err(error);
            }
            match self.etag_of(key) {
                None => Err(WriteError::NotFound),
                Some(current) if current != etag => Err(WriteError::PreconditionFailed),
                Some(_) => Ok(self.put(key, body)),
            }
        }

        async fn read(&self, _bucket: &str, key: &str) -> Result<Option<StoredLease>, ApiError> {
            self.calls.lock().unwrap().push(format!("read {key}"));
            let objects = self.objects.lock().unwrap();
            Ok(objects.get(key).map(|(body, etag)| StoredLease {
                body: body.clone(),
                etag: etag.clone(),
                last_modified_ms: Some(1_000),
            }))
        }

        async fn delete(&self, _bucket: &str, key: &str, etag: &str) -> Result<(), WriteError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("delete {key} {etag}"));
            if let Some(error) = self.forced() {
                return Err(error);
            }
            match self.etag_of(key) {
                None => Err(WriteError::NotFound),
                Some(current) if current != etag => Err(WriteError::PreconditionFailed),
                Some(_) => {
                    self.objects.lock().unwrap().remove(key);
                    Ok(())
                }
            }
        }
    }

    const KEY: &str = "locks/compaction/2026110105";
    const NOW: u64 = 1_800_000_000_000;

    fn new_lock() -> LeaseLock<MemoryStore> {
        LeaseLock::new(
            MemoryStore::default(),
            LockPrefix::parse("s3://results-bucket/locks/compaction/").unwrap(),
        )
    }

    fn holder(id: &str) -> Holder {
        Holder::new(id, NOW + 900_000)
    }

    fn record(holder: &str, expires_at_ms: u64) -> Vec<u8> {
        LeaseRecord {
            holder: holder.to_owned(),
            token: format!("{holder}-token"),
            acquired_at_ms: NOW - 60_000,
            expires_at_ms,
        }
        .to_json()
    }

    #[tokio::test]
    async fn a_free_lease_is_acquired_with_if_none_match_and_released_with_if_match() {
        let lock = new_lock();

        let me = holder("req-1");
        let lease = lock.acquire_at("2026110105", &me, NOW).await.unwrap();

        assert_eq!(lease.uri(), format!("s3://results-bucket/{KEY}"));
        assert_eq!(lease.took_over, None);
        assert_eq!(
            lock.store.record(KEY),
            Some(LeaseRecord {
                holder: "req-1".to_owned(),
                token: me.token.clone(),
                acquired_at_ms: NOW,
                expires_at_ms: NOW + 900_000
            })
        );
        assert_eq!(lock.release(&lease).await.unwrap(), Released::Deleted);
        assert_eq!(lock.store.record(KEY), None);
        assert_eq!(
            lock.store.calls(),
            [format!("create {KEY}"), format!("delete {KEY} \"e1\"")]
        );
    }

    #[tokio::test]
    async fn a_live_lease_of_another_run_locks() {
        let lock = new_lock();
        lock.store.put(KEY, record("req-0", NOW + 1));

        let error = lock
            .acquire_at("2026110105", &holder("req-1"), NOW)
            .await
            .unwrap_err();

        let AcquireError::Locked(locked) = &error else {
            panic!("{error:?}");
        };
        assert_eq!(locked.holder(), Some("req-0"));
        assert_eq!(locked.expires_at_ms(), Some(NOW + 1));
        assert_eq!(
            error.to_string(),
            format!(
                "s3://results-bucket/{KEY} is held by req-0 until 2027-01-15T08:00:00.001Z \
                 (acquired 2027-01-15T07:59:00.000Z)"
            )
        );
        assert_eq!(lock.store.record(KEY).unwrap().holder, "req-0", "untouched");
        assert_eq!(
            lock.store.calls(),
            [format!("create {KEY}"), format!("read {KEY}")]
        );
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over_with_if_match_on_its_etag() {
        let lock = new_lock();
        let old = lock.store.put(KEY, record("req-0", NOW));

        let lease = lock
            .acquire_at("2026110105", &holder("req-1"), NOW)
            .await
            .unwrap();

        assert_eq!(
            lease.took_over.as_ref().map(|r| r.holder.as_str()),
            Some("req-0")
        );
        assert_eq!(lock.store.record(KEY).unwrap().holder, "req-1");
        assert_eq!(
            lock.store.calls(),
            [
                format!("create {KEY}"),
                format!("read {KEY}"),
                format!("replace {KEY} {old}")
            ]
        );
        assert_eq!(lease.etag, lock.store.etag_of(KEY).unwrap());
    }

    #[tokio::test]
    async fn our_own_lease_whose_answer_was_lost_is_ours_but_another_try_of_ours_is_not() {
        // The SDK retried our PutObject after its answer was lost: 412 on our own lease.
        let lock = new_lock();
        let me = holder("req-1");
        let etag = lock.store.put(
            KEY,
            LeaseRecord {
                holder: me.id.clone(),
                token: me.token.clone(),
                acquired_at_ms: NOW,
                expires_at_ms: me.expires_at_ms,
            }
            .to_json(),
        );
        let lease = lock.acquire_at("2026110105", &me, NOW).await.unwrap();
        assert_eq!((lease.etag, lease.took_over), (etag, None));
        assert_eq!(
            lock.store.calls().len(),
            2,
            "create, read; nothing rewritten"
        );

        // The same request id with another token (a retry of this invocation, or a
        // duplicate delivery, while the other may still run): held until it expires.
        let lock = new_lock();
        lock.store.put(KEY, record("req-1", NOW + 5_000));
        let error = lock
            .acquire_at("2026110105", &holder("req-1"), NOW)
            .await
            .unwrap_err();
        assert!(matches!(&error, AcquireError::Locked(l) if l.holder() == Some("req-1")));
        let lease = lock
            .acquire_at("2026110105", &holder("req-1"), NOW + 5_000)
            .await
            .unwrap();
        assert_eq!(
            lease.took_over.map(|r| r.token),
            Some("req-1-token".to_owned())
        );
    }

    #[tokio::test]
    async fn a_lost_takeover_race_locks() {
        // Another taker writes between our read and our If-Match: 412.
        let lock = new_lock();
        lock.store.put(KEY, record("req-0", NOW - 1));
        *lock.store.sneak_in.lock().unwrap() = Some(record("req-2", NOW + 900_000));

        let error = lock
            .acquire_at("2026110105", &holder("req-1"), NOW)
            .await
            .unwrap_err();

        assert_eq!(
            error,
            AcquireError::Locked(Locked {
                uri: format!("s3://results-bucket/{KEY}"),
                busy: Busy::Raced {
                    answer: "412 Precondition Failed on the takeover"
                },
            })
        );
        assert_eq!(
            lock.store.record(KEY).unwrap().holder,
            "req-2",
            "the winner's"
        );

        // S3 answers 409 to conflicting writes, on the create or on the takeover.
        for forced_at_takeover in [false, true] {
            let lock = new_lock();
            let mut forced = vec![WriteError::Conflict];
            if forced_at_takeover {
                lock.store.put(KEY, record("req-0", NOW - 1));
                forced.insert(0, WriteError::PreconditionFailed);
            }
            *lock.store.forced.lock().unwrap() = forced;
            let error = lock
                .acquire_at("2026110105", &holder("req-1"), NOW)
                .await
                .unwrap_err();
            let AcquireError::Locked(Locked {
                busy: Busy::Raced { answer },
                ..
            }) = &error
            else {
                panic!("{error:?}");
            };
            assert!(
                answer.starts_with("409 ConditionalRequestConflict"),
                "{answer}"
            );
            assert!(error.to_string().ends_with("; try again later"), "{error}");
        }
    }

    #[tokio::test]
    async fn a_lease_released_between_the_412_and_the_read_is_tried_again() {
        let lock = new_lock();
        lock.store
            .forced
            .lock()
            .unwrap()
            .push(WriteError::PreconditionFailed);

        let lease = lock.acquire_at("2026110105", &holder("req-1"), NOW).await;

        assert!(lease.is_ok(), "{lease:?}");
        assert_eq!(
            lock.store.calls(),
            [
                format!("create {KEY}"),
                format!("read {KEY}"),
                format!("create {KEY}")
            ]
        );
    }

    #[tokio::test]
    async fn an_unreadable_lease_counts_as_held_for_the_longest_invocation() {
        let lock = new_lock();
        lock.store.put(KEY, b"not json".to_vec());
        // Written at 1 000 ms (the store's LastModified).
        let error = lock
            .acquire_at("2026110105", &holder("req-1"), 1_000 + 60_000)
            .await
            .unwrap_err();
        let AcquireError::Locked(locked) = &error else {
            panic!("{error:?}");
        };
        assert_eq!(locked.expires_at_ms(), Some(1_000 + 930_000));
        assert!(error.to_string().contains("cannot read"), "{error}");

        let lease = lock
            .acquire_at("2026110105", &holder("req-1"), 1_000 + 930_000)
            .await
            .unwrap();
        assert_eq!(lease.took_over, None);
        assert_eq!(lock.store.record(KEY).unwrap().holder, "req-1");
    }

    #[tokio::test]
    async fn release_deletes_only_our_own_lease() {
        let lock = new_lock();
        let lease = lock
            .acquire_at("2026110105", &holder("req-1"), NOW)
            .await
            .unwrap();
        // Taken over meanwhile by another run.
        lock.store.put(KEY, record("req-2", NOW + 900_000));

        assert_eq!(lock.release(&lease).await.unwrap(), Released::NotOurs);
        assert_eq!(lock.store.record(KEY).unwrap().holder, "req-2", "kept");

        lock.store.objects.lock().unwrap().clear();
        assert_eq!(lock.release(&lease).await.unwrap(), Released::Gone);

        let lease = lock
            .acquire_at("2026110105", &holder("req-1"), NOW)
            .await
            .unwrap();
        lock.store
            .forced
            .lock()
            .unwrap()
            .push(WriteError::Api(ApiError::new(
                "DeleteObject failed: AccessDenied",
            )));
        assert_eq!(
            lock.release(&lease).await,
            Err(ApiError::new("DeleteObject failed: AccessDenied"))
        );
    }

    #[test]
    fn records_round_trip_and_bad_bodies_say_why() {
        let record = LeaseRecord {
            holder: "8f5e-request".to_owned(),
            token: "t-1".to_owned(),
            acquired_at_ms: 1,
            expires_at_ms: 2,
        };
        assert_eq!(
            serde_json::from_slice::<Value>(&record.to_json()).unwrap(),
            json!({"holder": "8f5e-request", "token": "t-1", "acquired_at": 1, "expires_at": 2})
        );
        assert_eq!(LeaseRecord::parse(&record.to_json()), Ok(record));
        assert!(LeaseRecord::parse(b"{}").unwrap_err().contains("holder"));
        assert!(LeaseRecord::parse(br#"{"holder":"x","acquired_at":1}"#)
            .unwrap_err()
            .contains("expires_at"));
    }

    #[test]
    fn holders_expire_a_margin_after_their_deadline() {
        let holder = Holder::invocation("req-1", 1_000_000);
        assert_eq!(
            (holder.id.as_str(), holder.expires_at_ms),
            ("req-1", 1_030_000)
        );
        assert_ne!(holder.token, Holder::invocation("req-1", 1_000_000).token);
    }

    #[test]
    fn lock_prefixes_are_validated_like_the_other_s3_prefixes() {
        let prefix = LockPrefix::parse("s3://results-bucket/locks/compaction/").unwrap();
        assert_eq!(prefix.to_string(), "s3://results-bucket/locks/compaction");
        assert_eq!(prefix.bucket(), "results-bucket");
        assert_eq!(prefix.key_prefix(), "locks/compaction");
        assert_eq!(prefix.object_key("2026-10"), "locks/compaction/2026-10");
        let root = LockPrefix::parse("s3://results-bucket").unwrap();
        assert_eq!(root.object_key("2026-10"), "2026-10");
        assert_eq!(root.to_string(), "s3://results-bucket");
        for bad in [
            "results-bucket/locks",
            "s3://",
            "s3:///locks",
            "s3://Results/locks",
            "s3://results-bucket/a//b",
            "s3://results-bucket/a/../b",
            "s3://results-bucket/a b",
            "s3://results-bucket/a'b",
        ] {
            assert!(LockPrefix::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn overlaps_compares_whole_folders() {
        let prefix = LockPrefix::parse("s3://bucket/locks/billing").unwrap();
        assert!(prefix.overlaps("bucket", ""));
        assert!(prefix.overlaps("bucket", "locks"));
        assert!(prefix.overlaps("bucket", "locks/billing"));
        assert!(prefix.overlaps("bucket", "locks/billing/x"));
        assert!(!prefix.overlaps("bucket", "locks/billing-old"));
        assert!(!prefix.overlaps("bucket", "invoices"));
        assert!(!prefix.overlaps("other", "locks"));
        let root = LockPrefix::parse("s3://bucket").unwrap();
        assert!(root.overlaps("bucket", "invoices"));
    }
}
