//! The S3 calls the function makes, behind a trait like [`lambda_support::athena::Athena`].
//! Production uses [`SdkS3`].

use std::future::Future;

use lambda_support::s3::{DeleteFailure, ObjectPage, SdkS3};
use lambda_support::sdk::ApiError;

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

    /// DeleteObjects of at most [`lambda_support::s3::MAX_DELETE_BATCH`] keys; returns the
    /// keys S3 refused.
    fn delete_objects(
        &self,
        bucket: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<DeleteFailure>, ApiError>> + Send;
}

/// [`S3`] over the AWS SDK client: the shared client's futures as they are.
impl S3 for SdkS3 {
    fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send {
        self.get_object_bytes(bucket, key)
    }

    fn put_object(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        self.put_object_bytes(bucket, key, content_type, body)
    }

    fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation_token: Option<&str>,
    ) -> impl Future<Output = Result<ObjectPage, ApiError>> + Send {
        self.list_objects_v2(bucket, prefix, None, continuation_token)
    }

    fn delete_objects(
        &self,
        bucket: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<DeleteFailure>, ApiError>> + Send {
        self.delete_object_batch(bucket, keys)
    }
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
