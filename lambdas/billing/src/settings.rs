//! The function's settings, read from the Lambda environment (Terraform sets them).

use std::fmt;

use lambda_support::env::{
    invalid, minutes, optional, parsed, required, work_group, EnvError, Identifier,
};
use lambda_support::lease::LockPrefix;
use lambda_support::location::S3Location;

pub const ENV_ATHENA_WORK_GROUP: &str = "ATHENA_WORK_GROUP";
pub const ENV_USAGE_DATABASE: &str = "USAGE_DATABASE";
pub const ENV_USAGE_TABLE: &str = "USAGE_TABLE";
pub const ENV_METERING_CONFIG_URI: &str = "METERING_CONFIG_URI";
pub const ENV_INVOICES_BUCKET: &str = "INVOICES_BUCKET";
pub const ENV_INVOICES_PREFIX: &str = "INVOICES_PREFIX";
pub const ENV_BILLING_DELAY_MINUTES: &str = "BILLING_DELAY_MINUTES";
/// `s3://bucket/folder` of the JSON table: the Firehose folders whose objects every hour of
/// the month must have in Parquet before the month is billed.
pub const ENV_JSON_LOCATION_PREFIX: &str = "JSON_LOCATION_PREFIX";
/// `s3://bucket/prefix` of the compaction's manifests ([`lambda_support::manifest`]).
pub const ENV_MANIFEST_PREFIX: &str = "MANIFEST_PREFIX";
/// Where the months' leases live: `s3://bucket/prefix`, one object `<prefix>/YYYY-MM` per
/// month being billed (Terraform sets `s3://<results bucket>/locks/billing`). Optional to
/// [`Settings::from_lookup`], so that tests can run without a lock; the function refuses to
/// start without it (`main.rs`).
pub const ENV_LOCK_PREFIX: &str = "LOCK_PREFIX";
/// Set by Lambda itself.
pub const ENV_AWS_REGION: &str = "AWS_REGION";

/// The variables that must be set, in the order they are checked.
pub const REQUIRED: [&str; 8] = [
    ENV_ATHENA_WORK_GROUP,
    ENV_USAGE_DATABASE,
    ENV_USAGE_TABLE,
    ENV_METERING_CONFIG_URI,
    ENV_INVOICES_BUCKET,
    ENV_JSON_LOCATION_PREFIX,
    ENV_MANIFEST_PREFIX,
    ENV_AWS_REGION,
];

/// `INVOICES_PREFIX` when it is not set.
pub const DEFAULT_INVOICES_PREFIX: &str = "invoices/";

/// Minutes after a month's late-arrival window ends before the month may be billed, when
/// `BILLING_DELAY_MINUTES` is not set.
///
/// The window's last hour is in the Parquet table only once the hourly compaction has
/// rewritten it: that run starts at minute 10 (`COMPACTION_DELAY_MINUTES`) of the next hour
/// and may take its whole 15-minute timeout; EventBridge retries a failed run twice, about 1
/// and 2 minutes later. 10 + 15 + 1 + 15 + 2 + 15 = 58 minutes after the window ends the last
/// try has finished; an hour covers it (the default schedule, 04:10 on the 1st with
/// `late_arrival_hours` 3, is 70 minutes after the window).
pub const DEFAULT_BILLING_DELAY_MINUTES: u32 = 60;
const MAX_BILLING_DELAY_MINUTES: u32 = 7 * 24 * 60;

/// A variable that is missing, blank or invalid.
pub type SettingsError = EnvError;

/// An S3 object, `s3://bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    pub bucket: String,
    pub key: String,
}

impl S3Object {
    pub fn parse(value: &str) -> Result<Self, String> {
        let rest = value
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{value:?} is not an S3 URI like s3://bucket/metering.json"))?;
        let (bucket, key) = rest
            .split_once('/')
            .ok_or_else(|| format!("{value:?} names no object after the bucket"))?;
        check_bucket(bucket)?;
        if key.is_empty() || key.ends_with('/') {
            return Err(format!("{value:?} names a folder, not an object"));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }
}

impl fmt::Display for S3Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub work_group: String,
    pub database: Identifier,
    pub table: Identifier,
    pub config_object: S3Object,
    pub invoices_bucket: String,
    /// Empty (the bucket's root) or ending in `/`.
    pub invoices_prefix: String,
    pub billing_delay_minutes: u32,
    /// `JSON_LOCATION_PREFIX`: the JSON table's folder.
    pub json_location: S3Location,
    /// `MANIFEST_PREFIX`: the compaction's manifests.
    pub manifest_prefix: S3Location,
    pub region: String,
    /// `LOCK_PREFIX`: where the months' leases live. Required by the function (`main.rs`);
    /// `None` only in tests that run without a lock.
    pub lock_prefix: Option<LockPrefix>,
}

impl Settings {
    /// Reads the settings through `lookup`, which returns an environment variable by name.
    pub fn from_lookup<F>(lookup: F) -> Result<Self, SettingsError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let work_group = parsed(&lookup, ENV_ATHENA_WORK_GROUP, work_group)?;
        let database = parsed(&lookup, ENV_USAGE_DATABASE, Identifier::parse)?;
        let table = parsed(&lookup, ENV_USAGE_TABLE, Identifier::parse)?;
        let config_object = parsed(&lookup, ENV_METERING_CONFIG_URI, S3Object::parse)?;
        let invoices_bucket = parsed(&lookup, ENV_INVOICES_BUCKET, check_bucket)?;
        let invoices_prefix = match lookup(ENV_INVOICES_PREFIX) {
            None => DEFAULT_INVOICES_PREFIX.to_owned(),
            Some(value) => normalize_prefix(value.trim()).map_err(invalid(ENV_INVOICES_PREFIX))?,
        };
        let billing_delay_minutes = optional(&lookup, ENV_BILLING_DELAY_MINUTES, |v| {
            minutes(v, MAX_BILLING_DELAY_MINUTES)
        })?
        .unwrap_or(DEFAULT_BILLING_DELAY_MINUTES);
        let json_location = parsed(&lookup, ENV_JSON_LOCATION_PREFIX, S3Location::parse)?;
        let manifest_prefix = parsed(&lookup, ENV_MANIFEST_PREFIX, S3Location::parse)?;
        let region = required(&lookup, ENV_AWS_REGION)?;
        let lock_prefix = optional(&lookup, ENV_LOCK_PREFIX, LockPrefix::parse)?;
        // A run deletes whatever it did not write in a month's invoices folder, and the
        // invoices table reads every object under the prefix.
        if let Some(lock) = &lock_prefix {
            if lock.overlaps(&invoices_bucket, invoices_prefix.trim_end_matches('/')) {
                return Err(invalid(ENV_LOCK_PREFIX)(format!(
                    "{lock} overlaps the invoices, s3://{invoices_bucket}/{invoices_prefix}; it \
                     must be a separate folder"
                )));
            }
        }
        Ok(Self {
            work_group,
            database,
            table,
            config_object,
            invoices_bucket,
            invoices_prefix,
            billing_delay_minutes,
            json_location,
            manifest_prefix,
            region,
            lock_prefix,
        })
    }
}

fn check_bucket(value: &str) -> Result<String, String> {
    let ok = (3..=63).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !value.starts_with(['-', '.'])
        && !value.ends_with(['-', '.']);
    if ok {
        Ok(value.to_owned())
    } else {
        Err(format!("{value:?} is not an S3 bucket name"))
    }
}

/// `invoices` and `invoices/` both give `invoices/`; an empty prefix is the bucket's root.
fn normalize_prefix(value: &str) -> Result<String, String> {
    let trimmed = value.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(format!("{value:?} has an empty, `.` or `..` path segment"));
    }
    if let Some(bad) = trimmed
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "!-_.*()/=".contains(*c)))
    {
        return Err(format!("{value:?} contains {bad:?}"));
    }
    Ok(format!("{trimmed}/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env() -> HashMap<&'static str, String> {
        HashMap::from([
            (ENV_ATHENA_WORK_GROUP, "metering-wg".to_owned()),
            (ENV_USAGE_DATABASE, "metering".to_owned()),
            (ENV_USAGE_TABLE, "api_access_parquet".to_owned()),
            (
                ENV_METERING_CONFIG_URI,
                "s3://deploy-bucket/billing/metering.json".to_owned(),
            ),
            (ENV_INVOICES_BUCKET, "invoices-bucket".to_owned()),
            (ENV_JSON_LOCATION_PREFIX, "s3://data/json-data".to_owned()),
            (
                ENV_MANIFEST_PREFIX,
                "s3://data/compaction-manifests".to_owned(),
            ),
            (ENV_AWS_REGION, "eu-west-1".to_owned()),
        ])
    }

    fn load(env: &HashMap<&'static str, String>) -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| env.get(name).cloned())
    }

    #[test]
    fn reads_the_environment_with_defaults() {
        let settings = load(&env()).unwrap();
        assert_eq!(settings.config_object.bucket, "deploy-bucket");
        assert_eq!(settings.config_object.key, "billing/metering.json");
        assert_eq!(
            settings.config_object.to_string(),
            "s3://deploy-bucket/billing/metering.json"
        );
        assert_eq!(settings.invoices_prefix, "invoices/");
        assert_eq!(settings.billing_delay_minutes, 60);
    }

    #[test]
    fn every_required_variable_is_named_when_missing() {
        for var in REQUIRED {
            let mut env = env();
            env.remove(var);
            assert_eq!(load(&env).unwrap_err(), SettingsError::Missing(var));
        }
    }

    #[test]
    fn prefixes_are_normalized() {
        for (given, expected) in [
            ("invoices", "invoices/"),
            ("/billing/invoices/", "billing/invoices/"),
            ("", ""),
            ("/", ""),
        ] {
            let mut env = env();
            env.insert(ENV_INVOICES_PREFIX, given.to_owned());
            assert_eq!(load(&env).unwrap().invoices_prefix, expected, "{given}");
        }
    }

    #[test]
    fn lock_prefix_is_optional_validated_and_apart_from_the_invoices() {
        assert_eq!(load(&env()).unwrap().lock_prefix, None);
        let mut env_with_lock = env();
        env_with_lock.insert(
            ENV_LOCK_PREFIX,
            "s3://results-bucket/locks/billing".to_owned(),
        );
        let lock = load(&env_with_lock).unwrap().lock_prefix.unwrap();
        assert_eq!(lock.object_key("2026-10"), "locks/billing/2026-10");
        // In the invoices bucket but outside the invoices prefix: fine.
        env_with_lock.insert(ENV_LOCK_PREFIX, "s3://invoices-bucket/locks".to_owned());
        assert!(load(&env_with_lock).is_ok());
        for (prefix, lock) in [
            (None, "s3://invoices-bucket/invoices/locks"),
            (None, "s3://invoices-bucket"),
            (Some(""), "s3://invoices-bucket/locks"),
            (None, "invoices-bucket/locks"),
            (None, "s3://results-bucket/a//b"),
        ] {
            let mut env = env();
            if let Some(prefix) = prefix {
                env.insert(ENV_INVOICES_PREFIX, prefix.to_owned());
            }
            env.insert(ENV_LOCK_PREFIX, lock.to_owned());
            let err = load(&env).unwrap_err();
            assert!(
                matches!(
                    &err,
                    SettingsError::Invalid {
                        var: ENV_LOCK_PREFIX,
                        ..
                    }
                ),
                "{lock}: {err:?}"
            );
        }
    }

    #[test]
    fn bad_values_are_refused_with_the_variable() {
        for (var, value) in [
            (ENV_USAGE_DATABASE, "metering\"; DROP"),
            (ENV_USAGE_TABLE, "a.b"),
            (ENV_ATHENA_WORK_GROUP, "wg'"),
            (ENV_METERING_CONFIG_URI, "s3://bucket/"),
            (ENV_METERING_CONFIG_URI, "https://bucket/x.json"),
            (ENV_INVOICES_BUCKET, "Invoices"),
            (ENV_INVOICES_PREFIX, "a//b"),
            (ENV_INVOICES_PREFIX, "a/../b"),
            (ENV_BILLING_DELAY_MINUTES, "-5"),
            (ENV_BILLING_DELAY_MINUTES, "99999"),
        ] {
            let mut env = env();
            env.insert(var, value.to_owned());
            let err = load(&env).unwrap_err();
            assert!(
                matches!(&err, SettingsError::Invalid { var: v, .. } if *v == var),
                "{var}={value}: {err:?}"
            );
        }
    }
}
