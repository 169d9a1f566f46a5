//! The S3 calls the job makes, behind a trait like [`lambda_support::athena::Athena`].
//! Production uses [`SdkS3`].

use std::future::Future;

use lambda_support::s3::{DeleteFailure, ObjectPage, SdkS3};
use lambda_support::sdk::ApiError;

/// A ListObjectsV2 call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest<'a> {
    pub bucket: &'a str,
    pub prefix: &'a str,
    pub max_keys: Option<i32>,
    pub continuation_token: Option<&'a str>,
}

pub trait S3: Send + Sync {
    /// ListObjectsV2, one page.
    fn list_objects(
        &self,
        request: ListRequest<'_>,
    ) -> impl Future<Output = Result<ObjectPage, ApiError>> + Send;

    /// DeleteObjects of at most [`lambda_support::s3::MAX_DELETE_BATCH`] keys; returns the
    /// keys S3 refused.
    fn delete_objects(
        &self,
        bucket: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<DeleteFailure>, ApiError>> + Send;

    /// GetObject, the whole body.
    fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;

    /// PutObject of a JSON body.
    fn put_json(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// [`S3`] over the AWS SDK client: the shared client's futures as they are.
impl S3 for SdkS3 {
    fn list_objects(
        &self,
        request: ListRequest<'_>,
    ) -> impl Future<Output = Result<ObjectPage, ApiError>> + Send {
        self.list_objects_v2(
            request.bucket,
            request.prefix,
            request.max_keys,
            request.continuation_token,
        )
    }

    fn delete_objects(
        &self,
        bucket: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<DeleteFailure>, ApiError>> + Send {
        self.delete_object_batch(bucket, keys)
    }

    fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send {
        self.get_object_bytes(bucket, key)
    }

    fn put_json(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        self.put_object_bytes(bucket, key, "application/json", body)
    }
}
