//! An hour's folder in S3: what is in it, and emptying it.

use std::fmt;

use lambda_support::location::S3Location;
use lambda_support::s3::{DeleteFailure, MAX_DELETE_BATCH};
use lambda_support::sdk::ApiError;

use crate::settings::S3Prefix;
use lambda_support::s3::S3;

/// Keys named in an error when S3 refuses to delete several.
const FAILURES_SHOWN: usize = 5;

/// `s3://bucket/prefix`, the prefix ending in `/` so that `hour=01/` never matches `hour=010`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Folder {
    pub bucket: String,
    pub prefix: String,
}

impl S3Folder {
    /// The folder `path` (no leading or trailing `/`) under `base`.
    pub fn new(base: &S3Prefix, path: &str) -> Self {
        let prefix = match base.key() {
            "" => format!("{path}/"),
            key => format!("{key}/{path}/"),
        };
        Self {
            bucket: base.bucket().to_owned(),
            prefix,
        }
    }

    /// The folder `path` under a location of the function's own (`MANIFEST_PREFIX`).
    pub fn new_in(base: &S3Location, path: &str) -> Self {
        Self {
            bucket: base.bucket().to_owned(),
            prefix: format!("{}/", base.object_key(path)),
        }
    }
}

impl fmt::Display for S3Folder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FolderError {
    #[error("{0}")]
    List(ApiError),
    #[error("{0}")]
    Delete(ApiError),
    #[error("S3 refused to delete {}", describe(.0))]
    Refused(Vec<DeleteFailure>),
}

fn describe(failures: &[DeleteFailure]) -> String {
    let mut text = failures
        .iter()
        .take(FAILURES_SHOWN)
        .map(|f| format!("{} ({}: {})", f.key, f.code, f.message))
        .collect::<Vec<_>>()
        .join(", ");
    if failures.len() > FAILURES_SHOWN {
        text.push_str(&format!(" and {} more", failures.len() - FAILURES_SHOWN));
    }
    text
}

/// Every key in the folder, in S3's order, page by page.
pub async fn list_keys<S: S3>(s3: &S, folder: &S3Folder) -> Result<Vec<String>, ApiError> {
    lambda_support::s3::list_keys(s3, &folder.bucket, &folder.prefix).await
}

/// Deletes every object in the folder, [`MAX_DELETE_BATCH`] keys per DeleteObjects call, and
/// adds the number deleted to `deleted` as it goes. In a versioned bucket this leaves delete
/// markers: the folder looks empty, which is what Athena's CTAS needs.
pub async fn empty_folder<S: S3>(
    s3: &S,
    folder: &S3Folder,
    deleted: &mut u64,
) -> Result<(), FolderError> {
    let keys = list_keys(s3, folder).await.map_err(FolderError::List)?;
    for batch in keys.chunks(MAX_DELETE_BATCH) {
        let failures = s3
            .delete_objects(&folder.bucket, batch)
            .await
            .map_err(FolderError::Delete)?;
        *deleted += (batch.len() - failures.len()) as u64;
        if !failures.is_empty() {
            return Err(FolderError::Refused(failures));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(key: &str) -> DeleteFailure {
        DeleteFailure {
            key: key.to_owned(),
            code: "AccessDenied".to_owned(),
            message: "Access Denied".to_owned(),
        }
    }

    #[test]
    fn folders_end_with_a_slash() {
        let base = S3Prefix::parse("s3://bucket/parquet-data/").unwrap();
        let folder = S3Folder::new(&base, "year=2026/month=11/day=28/hour=00");
        assert_eq!(folder.bucket, "bucket");
        assert_eq!(
            folder.prefix,
            "parquet-data/year=2026/month=11/day=28/hour=00/"
        );
        assert_eq!(
            folder.to_string(),
            "s3://bucket/parquet-data/year=2026/month=11/day=28/hour=00/"
        );

        let whole_bucket = S3Prefix::parse("s3://bucket").unwrap();
        let folder = S3Folder::new(&whole_bucket, "year=2026/month=11/day=28/hour=00");
        assert_eq!(folder.prefix, "year=2026/month=11/day=28/hour=00/");

        let nested = S3Prefix::parse("s3://bucket/a/b").unwrap();
        assert_eq!(S3Folder::new(&nested, "x").prefix, "a/b/x/");
    }

    #[test]
    fn refused_deletes_name_keys_codes_and_messages() {
        let one = FolderError::Refused(vec![failure("p/a.parquet")]);
        assert_eq!(
            one.to_string(),
            "S3 refused to delete p/a.parquet (AccessDenied: Access Denied)"
        );
        let many = FolderError::Refused((0..7).map(|i| failure(&format!("k{i}"))).collect());
        let text = many.to_string();
        assert!(
            text.contains("k0 (AccessDenied: Access Denied), k1"),
            "{text}"
        );
        assert!(
            text.contains("k4 (AccessDenied: Access Denied) and 2 more"),
            "{text}"
        );
        assert!(!text.contains("k5"), "{text}");
    }
}
