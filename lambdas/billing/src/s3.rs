//! The S3 calls the function makes, behind a trait like [`crate::athena::Athena`].
//! Production uses [`SdkS3`].

use std::future::Future;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use crate::sdk::ApiError;

/// Most keys one DeleteObjects call takes.
pub const MAX_DELETE_BATCH: usize = 1000;

/// One page of ListObjectsV2.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectPage {
    pub keys: Vec<String>,
    /// Set when more keys follow.
    pub next_continuation_token: Option<String>,
}

/// A key DeleteObjects did not delete, with S3's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteFailure {
    pub key: String,
    pub code: String,
    pub message: String,
}

pub trait S3: Send + Sync {
    /// GetObject, the whole body.
    fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;

    /// PutObject.
    fn put_object(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// ListObjectsV2, one page.
    fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation_token: Option<&str>,
    ) -> impl Future<Output = Result<ObjectPage, ApiError>> + Send;

    /// DeleteObjects of at most [`MAX_DELETE_BATCH`] keys; returns the keys S3 refused.
    fn delete_objects(
        &self,
        bucket: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<DeleteFailure>, ApiError>> + Send;
}

/// [`S3`] over the AWS SDK client.
#[derive(Debug, Clone)]
pub struct SdkS3 {
    client: aws_sdk_s3::Client,
}

impl SdkS3 {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }
}

impl S3 for SdkS3 {
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
