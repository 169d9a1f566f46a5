//! An `s3://bucket[/prefix]` location parsed from the environment.

use std::fmt;

/// `s3://bucket[/prefix]` without a trailing `/`: where a function keeps objects of its own
/// (the leases of `LOCK_PREFIX`, the compaction manifests of `MANIFEST_PREFIX`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    bucket: String,
    /// Without leading or trailing `/`; empty for the bucket's root.
    key: String,
}

impl S3Location {
    /// Parses `s3://bucket[/prefix]` (a trailing `/` is dropped): a valid bucket name, and a
    /// prefix of S3's safe key characters without empty segments — as the functions' other S3
    /// prefixes.
    pub fn parse(value: &str) -> Result<Self, String> {
        let trimmed = value.trim_end_matches('/');
        let Some(rest) = trimmed.strip_prefix("s3://") else {
            return Err(format!("{value:?} does not start with s3://"));
        };
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && !bucket.starts_with(['-', '.'])
            && !bucket.ends_with(['-', '.']);
        if !bucket_ok {
            return Err(format!("{value:?} does not name an S3 bucket after s3://"));
        }
        if key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
            && !key.is_empty()
        {
            return Err(format!("{value:?} has an empty, `.` or `..` path segment"));
        }
        if let Some(bad) = key
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "!-_.*()/=".contains(*c)))
        {
            return Err(format!("{value:?} contains {bad:?}"));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix, without leading or trailing `/`; empty for the bucket's root.
    pub fn key_prefix(&self) -> &str {
        &self.key
    }

    /// The key of the object `name` (which may hold `/`): `<prefix>/<name>`.
    pub fn object_key(&self, name: &str) -> String {
        if self.key.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.key)
        }
    }

    /// Whether objects of this location could land in the folder `key_prefix` (no leading or trailing `/`;
    /// empty for the whole bucket) of `bucket`, or that folder inside this one.
    pub fn overlaps(&self, bucket: &str, key_prefix: &str) -> bool {
        let inside = |a: &str, b: &str| b.is_empty() || a == b || a.starts_with(&format!("{b}/"));
        self.bucket == bucket && (inside(&self.key, key_prefix) || inside(key_prefix, &self.key))
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.key)
        }
    }
}
