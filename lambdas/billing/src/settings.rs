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

/// The Glue database of the Parquet usage-events table (a stack with a `usage_events`
/// section). The four `EVENTS_*` variables are set together or not at all ([`EVENTS`]).
pub const ENV_EVENTS_DATABASE: &str = "EVENTS_DATABASE";
/// The Parquet usage-events table, as the events' compaction writes it.
pub const ENV_EVENTS_TABLE: &str = "EVENTS_TABLE";
/// `s3://bucket/folder` of the usage events' JSON folders (their Firehose stream's hourly
/// folders), as [`ENV_JSON_LOCATION_PREFIX`] for the access log.
pub const ENV_EVENTS_JSON_LOCATION_PREFIX: &str = "EVENTS_JSON_LOCATION_PREFIX";
/// `s3://bucket/prefix` of the manifests of the events' compaction (the compaction function
/// deployed a second time, for the events folder), as [`ENV_MANIFEST_PREFIX`] for the access
/// log.
pub const ENV_EVENTS_MANIFEST_PREFIX: &str = "EVENTS_MANIFEST_PREFIX";

/// The usage-events variables: all set (the function bills meters of usage events too) or
/// none (it bills the access log only, and refuses a config with an events meter). A variable
/// counts as set when it is in the environment at all: set to nothing but white space it is
/// refused as empty, as every other variable.
pub const EVENTS: [&str; 4] = [
    ENV_EVENTS_DATABASE,
    ENV_EVENTS_TABLE,
    ENV_EVENTS_JSON_LOCATION_PREFIX,
    ENV_EVENTS_MANIFEST_PREFIX,
];

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

/// Where the usage events are: their Parquet table (read by the usage query), their JSON
/// folders and their compaction's manifests (checked as the access log's before a month is
/// billed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsSettings {
    /// `EVENTS_DATABASE`.
    pub database: Identifier,
    /// `EVENTS_TABLE`.
    pub table: Identifier,
    /// `EVENTS_JSON_LOCATION_PREFIX`: the events' JSON folder.
    pub json_location: S3Location,
    /// `EVENTS_MANIFEST_PREFIX`: the events' compaction's manifests.
    pub manifest_prefix: S3Location,
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
    /// The four `EVENTS_*` variables; `None` when none is set.
    pub events: Option<EventsSettings>,
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
        let events = events_from_lookup(&lookup)?;
        if let Some(events) = &events {
            check_events_apart(
                events,
                (&database, &table),
                (&json_location, &manifest_prefix),
                (&invoices_bucket, &invoices_prefix),
            )?;
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
            events,
        })
    }
}

/// The `EVENTS_*` variables: `None` when none is in the environment; all four parsed when all
/// are; otherwise an error on the first missing one that names every missing one.
fn events_from_lookup<F>(lookup: &F) -> Result<Option<EventsSettings>, SettingsError>
where
    F: Fn(&str) -> Option<String>,
{
    let (set, missing): (Vec<&'static str>, Vec<&'static str>) =
        EVENTS.into_iter().partition(|var| lookup(var).is_some());
    if set.is_empty() {
        return Ok(None);
    }
    if let Some(first) = missing.first() {
        let names = |vars: &[&str]| match vars {
            [one] => format!("{one} is"),
            _ => format!("{} are", vars.join(", ")),
        };
        return Err(invalid(first)(format!(
            "not set, but the usage-events variables are set all together or not at all: {} \
             set, {} not",
            names(&set),
            names(&missing)
        )));
    }
    Ok(Some(EventsSettings {
        database: parsed(lookup, ENV_EVENTS_DATABASE, Identifier::parse)?,
        table: parsed(lookup, ENV_EVENTS_TABLE, Identifier::parse)?,
        json_location: parsed(lookup, ENV_EVENTS_JSON_LOCATION_PREFIX, S3Location::parse)?,
        manifest_prefix: parsed(lookup, ENV_EVENTS_MANIFEST_PREFIX, S3Location::parse)?,
    }))
}

/// The usage events' table is not the access log's, and their folders are apart from each
/// other, from the access log's and from the invoices:
///
/// - a manifest inside the events' JSON folder would count as one of the hour's JSON objects
///   (the hour never complete);
/// - the two compactions write `<manifests>/year=…/hour=HH/manifest.json`: in one folder they
///   would overwrite each other's manifests, and an hour would pass for compacted when only
///   the other source was;
/// - one source's JSON folder in the other's would be listed, and compared with the manifests,
///   as the other source's;
/// - a run deletes whatever it did not write in a month's invoices folder.
fn check_events_apart(
    events: &EventsSettings,
    (database, table): (&Identifier, &Identifier),
    (json_location, manifest_prefix): (&S3Location, &S3Location),
    (invoices_bucket, invoices_prefix): (&str, &str),
) -> Result<(), SettingsError> {
    if (&events.database, &events.table) == (database, table) {
        return Err(invalid(ENV_EVENTS_TABLE)(format!(
            "{database}.{table} is the access-log table ({ENV_USAGE_DATABASE}.{ENV_USAGE_TABLE}); \
             the usage events have their own table"
        )));
    }
    let invoices = format!("s3://{invoices_bucket}/{invoices_prefix}");
    let others: [(&str, &S3Location); 3] = [
        (ENV_JSON_LOCATION_PREFIX, json_location),
        (ENV_MANIFEST_PREFIX, manifest_prefix),
        (ENV_EVENTS_JSON_LOCATION_PREFIX, &events.json_location),
    ];
    for (var, location) in [
        (ENV_EVENTS_JSON_LOCATION_PREFIX, &events.json_location),
        (ENV_EVENTS_MANIFEST_PREFIX, &events.manifest_prefix),
    ] {
        for (other_var, other) in others {
            if other_var != var && location.overlaps(other.bucket(), other.key_prefix()) {
                return Err(invalid(var)(format!(
                    "{location} overlaps {other_var} {other}; the usage events' JSON folder and \
                     manifests must be separate folders, apart from each other and from the \
                     access log's"
                )));
            }
        }
        if location.overlaps(invoices_bucket, invoices_prefix.trim_end_matches('/')) {
            return Err(invalid(var)(format!(
                "{location} overlaps the invoices, {invoices}; a run deletes what it did not \
                 write there, so it must be a separate folder"
            )));
        }
    }
    Ok(())
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

    /// [`env`] with the four usage-events variables, in the data bucket as the stack puts them.
    fn env_with_events() -> HashMap<&'static str, String> {
        let mut env = env();
        env.extend([
            (ENV_EVENTS_DATABASE, "metering".to_owned()),
            (ENV_EVENTS_TABLE, "usage_events_parquet".to_owned()),
            (
                ENV_EVENTS_JSON_LOCATION_PREFIX,
                "s3://data/usage-events/".to_owned(),
            ),
            (
                ENV_EVENTS_MANIFEST_PREFIX,
                "s3://data/usage-events-manifests".to_owned(),
            ),
        ]);
        env
    }

    #[test]
    fn the_usage_events_variables_are_read_when_all_are_set() {
        assert_eq!(
            load(&env()).unwrap().events,
            None,
            "none set: access log only"
        );
        let events = load(&env_with_events()).unwrap().events.unwrap();
        assert_eq!(events.database.as_str(), "metering");
        assert_eq!(events.table.as_str(), "usage_events_parquet");
        assert_eq!(events.json_location.to_string(), "s3://data/usage-events");
        assert_eq!(events.json_location.bucket(), "data");
        assert_eq!(
            events.manifest_prefix.to_string(),
            "s3://data/usage-events-manifests"
        );
    }

    /// Every proper, non-empty subset of the four: refused on the first missing variable,
    /// naming the set and the missing ones.
    #[test]
    fn the_usage_events_variables_are_all_set_or_none() {
        for subset in 1..(1u32 << EVENTS.len()) - 1 {
            let mut env = env_with_events();
            let mut missing = Vec::new();
            for (i, var) in EVENTS.iter().enumerate() {
                if subset & (1 << i) == 0 {
                    env.remove(var);
                    missing.push(*var);
                }
            }
            let err = load(&env).unwrap_err();
            let SettingsError::Invalid { var, problem } = &err else {
                panic!("{missing:?} missing: {err:?}");
            };
            assert_eq!(*var, missing[0], "{err}");
            let not_set = match missing.as_slice() {
                [one] => format!("{one} is not"),
                many => format!("{} are not", many.join(", ")),
            };
            assert!(
                problem.starts_with("not set, but the usage-events variables are set all together")
                    && problem.ends_with(&not_set),
                "{err}"
            );
        }
        let mut env = env();
        env.insert(ENV_EVENTS_TABLE, "usage_events_parquet".to_owned());
        assert_eq!(
            load(&env).unwrap_err().to_string(),
            "environment variable EVENTS_DATABASE: not set, but the usage-events variables are \
             set all together or not at all: EVENTS_TABLE is set, EVENTS_DATABASE, \
             EVENTS_JSON_LOCATION_PREFIX, EVENTS_MANIFEST_PREFIX are not"
        );
        // Set to nothing is set, and refused as empty (as every other variable).
        let mut env = env_with_events();
        env.insert(ENV_EVENTS_MANIFEST_PREFIX, " ".to_owned());
        assert_eq!(
            load(&env).unwrap_err(),
            SettingsError::Empty(ENV_EVENTS_MANIFEST_PREFIX)
        );
    }

    #[test]
    fn the_usage_events_folders_are_apart_from_each_other_the_access_logs_and_the_invoices() {
        // Beside the access log's folders in the same bucket: fine.
        assert!(load(&env_with_events()).is_ok());
        for (var, value, overlapped) in [
            (ENV_EVENTS_TABLE, "api_access_parquet", "access-log table"),
            (
                ENV_EVENTS_MANIFEST_PREFIX,
                "s3://data/usage-events/manifests",
                ENV_EVENTS_JSON_LOCATION_PREFIX,
            ),
            (
                ENV_EVENTS_MANIFEST_PREFIX,
                "s3://data/compaction-manifests",
                ENV_MANIFEST_PREFIX,
            ),
            (
                ENV_EVENTS_MANIFEST_PREFIX,
                "s3://data/compaction-manifests/events",
                ENV_MANIFEST_PREFIX,
            ),
            (
                ENV_EVENTS_MANIFEST_PREFIX,
                "s3://data/json-data/manifests",
                ENV_JSON_LOCATION_PREFIX,
            ),
            (
                ENV_EVENTS_JSON_LOCATION_PREFIX,
                "s3://data/json-data",
                ENV_JSON_LOCATION_PREFIX,
            ),
            (
                ENV_EVENTS_JSON_LOCATION_PREFIX,
                "s3://data",
                ENV_JSON_LOCATION_PREFIX,
            ),
            (
                ENV_EVENTS_JSON_LOCATION_PREFIX,
                "s3://data/compaction-manifests/events",
                ENV_MANIFEST_PREFIX,
            ),
            (
                ENV_EVENTS_JSON_LOCATION_PREFIX,
                "s3://invoices-bucket/invoices/events",
                "the invoices",
            ),
            (
                ENV_EVENTS_MANIFEST_PREFIX,
                "s3://invoices-bucket/invoices",
                "the invoices",
            ),
        ] {
            let mut env = env_with_events();
            env.insert(var, value.to_owned());
            let err = load(&env).unwrap_err();
            assert!(
                matches!(&err, SettingsError::Invalid { var: v, problem } if *v == var && problem.contains(overlapped)),
                "{var}={value}: {err:?}"
            );
        }
        // The events' folders in another bucket, or beside the invoices: fine.
        let mut env = env_with_events();
        env.insert(
            ENV_EVENTS_JSON_LOCATION_PREFIX,
            "s3://invoices-bucket/usage-events".to_owned(),
        );
        env.insert(
            ENV_EVENTS_MANIFEST_PREFIX,
            "s3://events-bucket/compaction-manifests".to_owned(),
        );
        assert!(load(&env).is_ok());
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
            (ENV_EVENTS_DATABASE, "metering-events"),
            (ENV_EVENTS_TABLE, "events;"),
            (ENV_EVENTS_JSON_LOCATION_PREFIX, "data/usage-events"),
            (ENV_EVENTS_JSON_LOCATION_PREFIX, "s3://data/a//b"),
            (ENV_EVENTS_MANIFEST_PREFIX, "s3://Data/manifests"),
        ] {
            let mut env = env_with_events();
            env.insert(var, value.to_owned());
            let err = load(&env).unwrap_err();
            assert!(
                matches!(&err, SettingsError::Invalid { var: v, .. } if *v == var),
                "{var}={value}: {err:?}"
            );
        }
    }
}
