//! The S3 calls both functions make, behind the [`S3`] trait their tests fake: listing a
//! folder ([`list_keys`] reads every page), reading, writing and deleting objects. [`SdkS3`]
//! makes them over the SDK, and the lease's conditional calls ([`crate::lease`]) too.

use std::future::Future;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use crate::lease::{LeaseStore, StoredLease, WriteError};
use crate::sdk::ApiError;

/// Most keys one DeleteObjects call takes.
pub const MAX_DELETE_BATCH: usize = 1000;

/// One page of ListObjectsV2.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectPage {
    /// The keys of the page, in S3's order.
    pub keys: Vec<String>,
    /// Set when more keys follow.
    pub next_continuation_token: Option<String>,
}

/// A key DeleteObjects did not delete, with S3's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteFailure {
    /// The key not deleted.
    pub key: String,
    /// S3's error code, e.g. `AccessDenied`.
    pub code: String,
    /// S3's error message.
    pub message: String,
}

/// The S3 calls of the functions. Production uses [`SdkS3`].
pub trait S3: Send + Sync {
    /// ListObjectsV2, one page (S3's default of at most 1000 keys) from `continuation_token`
    /// (`None` for the first page).
    fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation_token: Option<&str>,
    ) -> impl Future<Output = Result<ObjectPage, ApiError>> + Send;

    /// GetObject, the whole body.
    fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;

    /// PutObject of `body`.
    fn put_object(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// DeleteObjects (quiet) of at most [`MAX_DELETE_BATCH`] keys; returns the keys S3
    /// refused.
    fn delete_objects(
        &self,
        bucket: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<DeleteFailure>, ApiError>> + Send;
}

/// Every key under `prefix`, page by page, in S3's order.
pub async fn list_keys<S: S3>(s3: &S, bucket: &str, prefix: &str) -> Result<Vec<String>, ApiError> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = s3.list_objects(bucket, prefix, token.as_deref()).await?;
        keys.extend(page.keys);
        match page.next_continuation_token {
            Some(next) => token = Some(next),
            None => return Ok(keys),
        }
    }
}

/// The S3 calls over the AWS SDK client.
#[derive(Debug, Clone)]
pub struct SdkS3 {
    client: aws_sdk_s3::Client,
}

impl SdkS3 {
    /// The calls over `client`, which [`crate::sdk::clients`] builds.
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }

    /// The SDK client, for the calls a function makes itself.
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }
}

impl S3 for SdkS3 {
    async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation_token: Option<&str>,
    ) -> Result<ObjectPage, ApiError> {
        let output = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(continuation_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ListObjectsV2", e))?;
        Ok(ObjectPage {
            keys: output
                .contents()
                .iter()
                .filter_map(|object| object.key().map(str::to_owned))
                .collect(),
            next_continuation_token: output
                .next_continuation_token()
                .filter(|_| output.is_truncated() == Some(true))
                .map(str::to_owned),
        })
    }

    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, ApiError> {
        let output = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("GetObject", e))?;
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| ApiError::new(format!("GetObject failed reading the body: {e}")))?;
        Ok(body.into_bytes().to_vec())
    }

    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(), ApiError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("PutObject", e))?;
        Ok(())
    }

    async fn delete_objects(
        &self,
        bucket: &str,
        keys: &[String],
    ) -> Result<Vec<DeleteFailure>, ApiError> {
        let objects = keys
            .iter()
            .map(|key| ObjectIdentifier::builder().key(key).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::new(format!("DeleteObjects request: {e}")))?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| ApiError::new(format!("DeleteObjects request: {e}")))?;
        let output = self
            .client
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("DeleteObjects", e))?;
        Ok(output
            .errors()
            .iter()
            .map(|error| DeleteFailure {
                key: error.key().unwrap_or_default().to_owned(),
                code: error.code().unwrap_or("no code").to_owned(),
                message: error.message().unwrap_or("no message").to_owned(),
            })
            .collect())
    }
}

impl WriteError {
    /// A failed conditional call: S3's `412 Precondition Failed`, `409
    /// ConditionalRequestConflict` and `404 NoSuchKey` by their status and code, anything else
    /// an [`ApiError`].
    fn from_sdk<E>(operation: &str, error: SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = error.raw_response().map(|r| r.status().as_u16());
        match (status, error.code()) {
            (_, Some("PreconditionFailed")) | (Some(412), _) => Self::PreconditionFailed,
            (_, Some("ConditionalRequestConflict")) | (Some(409), _) => Self::Conflict,
            (_, Some("NoSuchKey")) => Self::NotFound,
            _ => Self::Api(ApiError::from_sdk(operation, error)),
        }
    }
}

fn etag(operation: &str, etag: Option<&str>) -> Result<String, WriteError> {
    etag.filter(|e| !e.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| WriteError::Api(ApiError::new(format!("{operation} returned no ETag"))))
}

/// The lease's calls: conditional PutObject and DeleteObject, and GetObject.
impl LeaseStore for SdkS3 {
    async fn create(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<String, WriteError> {
        let output = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .if_none_match("*")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| WriteError::from_sdk("PutObject", e))?;
        etag("PutObject", output.e_tag())
    }

    async fn replace(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        if_match: &str,
    ) -> Result<String, WriteError> {
        let output = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .if_match(if_match)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| WriteError::from_sdk("PutObject", e))?;
        etag("PutObject", output.e_tag())
    }

    async fn read(&self, bucket: &str, key: &str) -> Result<Option<StoredLease>, ApiError> {
        let output = match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(ApiError::from_sdk("GetObject", e)),
        };
        let etag = output
            .e_tag()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::new("GetObject returned no ETag"))?;
        let last_modified_ms = output
            .last_modified()
            .and_then(|t| t.to_millis().ok())
            .and_then(|ms| u64::try_from(ms).ok());
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| ApiError::new(format!("GetObject failed reading the body: {e}")))?;
        Ok(Some(StoredLease {
            body: body.into_bytes().to_vec(),
            etag,
            last_modified_ms,
        }))
    }

    async fn delete(&self, bucket: &str, key: &str, if_match: &str) -> Result<(), WriteError> {
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .if_match(if_match)
            .send()
            .await
            .map_err(|e| WriteError::from_sdk("DeleteObject", e))?;
        Ok(())
    }
}
