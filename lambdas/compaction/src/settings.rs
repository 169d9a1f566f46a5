//! Configuration read from the Lambda environment.
//!
//! Every value that ends up inside an Athena query is validated here, so the
//! query builders in [`crate::sql`] can splice them in without escaping.
//!
//! `SOURCE` says what the folders hold ([`Source`]): `access_logs` (the default) or
//! `usage_events`. Access logs read `COLUMN_NAMES`; usage events have fixed columns
//! ([`crate::sql::EVENT_COLUMNS`]) and read `LATE_ARRIVAL_HOURS` instead. A variable the source
//! does not read is refused when it is set, rather than silently ignored.
//!
//! `LOCK_PREFIX` (`s3://bucket/prefix`, where the hours' leases live; Terraform sets
//! `s3://<results bucket>/locks/compaction`) is optional to [`Settings::from_lookup`], so that
//! tests can run without a lock, but the function refuses to start without it (see
//! `main.rs`).

use std::collections::HashSet;
use std::fmt;

pub use lambda_support::env::Identifier;
use lambda_support::env::{invalid, minutes, optional, parsed, work_group, EnvError};
use lambda_support::lease::LockPrefix;
use lambda_support::location::S3Location;

/// Partition keys of both tables; a data column must not reuse one of them.
pub const PARTITION_KEYS: [&str; 4] = ["year", "month", "day", "hour"];

pub const ENV_OLD_DATABASE: &str = "OLD_DATABASE";
pub const ENV_OLD_TABLE_NAME: &str = "OLD_TABLE_NAME";
pub const ENV_NEW_DATABASE: &str = "NEW_DATABASE";
pub const ENV_NEW_TABLE_NAME: &str = "NEW_TABLE_NAME";
pub const ENV_COLUMN_NAMES: &str = "COLUMN_NAMES";
pub const ENV_ATHENA_WORK_GROUP: &str = "ATHENA_WORK_GROUP";
pub const ENV_OLD_TABLE_LOCATION_PREFIX: &str = "OLD_TABLE_LOCATION_PREFIX";
pub const ENV_OUTPUT_PREFIX: &str = "OUTPUT_PREFIX";
pub const ENV_STAGING_OUTPUT_PREFIX: &str = "STAGING_OUTPUT_PREFIX";
pub const ENV_REGION_NAME: &str = "REGION_NAME";
pub const ENV_COMPACTION_DELAY_MINUTES: &str = "COMPACTION_DELAY_MINUTES";
/// Where the hours' manifests live: `s3://bucket/prefix`, one object
/// `<prefix>/year=YYYY/month=MM/day=DD/hour=HH/manifest.json` per compacted hour
/// ([`lambda_support::manifest`]).
pub const ENV_MANIFEST_PREFIX: &str = "MANIFEST_PREFIX";
/// Where the hours' leases live: `s3://bucket/prefix`, one object `<prefix>/YYYYMMDDHH` per
/// hour being compacted.
pub const ENV_LOCK_PREFIX: &str = "LOCK_PREFIX";
/// What the JSON folders hold: `access_logs` (the default when unset) or `usage_events`
/// ([`Source`]).
pub const ENV_SOURCE: &str = "SOURCE";
/// With `SOURCE=usage_events` only, and then required: the metering configuration's
/// `late_arrival_hours` (1 to [`metering::MAX_LATE_ARRIVAL_HOURS`]), which decides the event
/// times a folder's bills read ([`metering::times_billed_from`]). It must be the value billing
/// reads, or the compaction would flag events that billing counts (or the reverse).
pub const ENV_LATE_ARRIVAL_HOURS: &str = "LATE_ARRIVAL_HOURS";

/// Minutes after the end of an hour before its Firehose folder counts as complete, when
/// `COMPACTION_DELAY_MINUTES` is not set.
pub const DEFAULT_COMPACTION_DELAY_MINUTES: u32 = 10;
const MAX_COMPACTION_DELAY_MINUTES: u32 = 59;

/// Alias of the de-duplication rank inside the CTAS; no data column may take it.
pub const RANK_COLUMN: &str = "dedup_rank";

/// The variables that must be set, in the order they are checked.
pub const ENV_VARS: [&str; 11] = [
    ENV_OLD_DATABASE,
    ENV_OLD_TABLE_NAME,
    ENV_NEW_DATABASE,
    ENV_NEW_TABLE_NAME,
    ENV_COLUMN_NAMES,
    ENV_ATHENA_WORK_GROUP,
    ENV_OLD_TABLE_LOCATION_PREFIX,
    ENV_OUTPUT_PREFIX,
    ENV_STAGING_OUTPUT_PREFIX,
    ENV_REGION_NAME,
    ENV_MANIFEST_PREFIX,
];

/// The variables that must be set with `SOURCE=usage_events`, in the order they are checked:
/// [`ENV_VARS`] without `COLUMN_NAMES`, with `LATE_ARRIVAL_HOURS`.
pub const USAGE_EVENTS_ENV_VARS: [&str; 11] = [
    ENV_OLD_DATABASE,
    ENV_OLD_TABLE_NAME,
    ENV_NEW_DATABASE,
    ENV_NEW_TABLE_NAME,
    ENV_ATHENA_WORK_GROUP,
    ENV_OLD_TABLE_LOCATION_PREFIX,
    ENV_OUTPUT_PREFIX,
    ENV_STAGING_OUTPUT_PREFIX,
    ENV_REGION_NAME,
    ENV_MANIFEST_PREFIX,
    ENV_LATE_ARRIVAL_HOURS,
];

/// A variable that is missing, blank or invalid.
pub type SettingsError = EnvError;

/// What an instance of the function compacts (`SOURCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `access_logs`: API Gateway's access-log lines as Firehose writes them, one row per
    /// request id, the columns of `COLUMN_NAMES`.
    AccessLogs,
    /// `usage_events`: the lines the usage-events ingestion writes (a canonical event, or a
    /// flagged line with its `problem`), one row per event id, the columns of
    /// [`crate::sql::EVENT_COLUMNS`]; an event whose time no bill reads from its folder is
    /// kept, flagged ([`crate::sql::OUTSIDE_ANY_WINDOW`]).
    UsageEvents {
        /// `LATE_ARRIVAL_HOURS`: the metering configuration's `late_arrival_hours`.
        late_arrival_hours: u32,
    },
}

impl Source {
    /// The values `SOURCE` takes, the default first.
    pub const NAMES: [&'static str; 2] = ["access_logs", "usage_events"];

    /// `access_logs` or `usage_events`: the value of `SOURCE`, and how the log line and the
    /// response name the instance.
    pub fn name(self) -> &'static str {
        match self {
            Source::AccessLogs => Self::NAMES[0],
            Source::UsageEvents { .. } => Self::NAMES[1],
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether `SOURCE` names usage events: `false` for `access_logs`.
fn is_usage_events(value: &str) -> Result<bool, String> {
    match value {
        "access_logs" => Ok(false),
        "usage_events" => Ok(true),
        _ => Err(format!(
            "{value:?} is not a source: expected {} (the default) or {}",
            Source::NAMES[0],
            Source::NAMES[1]
        )),
    }
}

/// A whole number of hours from 1 to [`metering::MAX_LATE_ARRIVAL_HOURS`], the bounds the
/// metering configuration puts on `late_arrival_hours` (`metering::Config::validate`).
pub fn late_arrival_hours(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(hours) if (1..=metering::MAX_LATE_ARRIVAL_HOURS).contains(&hours) => Ok(hours),
        _ => Err(format!(
            "{value:?} is not a whole number of hours from 1 to {} (the metering \
             configuration's late_arrival_hours)",
            metering::MAX_LATE_ARRIVAL_HOURS
        )),
    }
}

/// An `s3://bucket[/prefix]` location without a trailing `/`, free of
/// characters that could break out of an SQL string literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Prefix(String);

impl S3Prefix {
    pub fn parse(value: &str) -> Result<Self, String> {
        let trimmed = value.trim_end_matches('/');
        let Some(rest) = trimmed.strip_prefix("s3://") else {
            return Err(format!("{value:?} does not start with s3://"));
        };
        let bucket = rest.split('/').next().unwrap_or_default();
        if bucket.is_empty() {
            return Err(format!("{value:?} has no bucket name"));
        }
        if rest.contains("//") {
            return Err(format!("{value:?} contains an empty path segment"));
        }
        // S3's "safe" key characters, minus the quote, plus the separators used
        // by Hive-style folders.
        if let Some(bad) = rest
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "!-_.*()/=".contains(*c)))
        {
            return Err(format!("{value:?} contains {bad:?}"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The prefix without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn bucket(&self) -> &str {
        self.path().split('/').next().unwrap_or_default()
    }

    /// The key prefix inside the bucket, without leading or trailing `/`; empty for a
    /// whole bucket.
    pub fn key(&self) -> &str {
        self.path().split_once('/').map_or("", |(_, key)| key)
    }

    /// Whether one of the two is the other or a folder inside it.
    pub fn overlaps(&self, other: &S3Prefix) -> bool {
        let inside = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/"));
        inside(&self.0, &other.0) || inside(&other.0, &self.0)
    }

    /// `bucket/key`: the part after `s3://`.
    fn path(&self) -> &str {
        &self.0["s3://".len()..]
    }
}

impl fmt::Display for S3Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `SOURCE`: what the JSON folders hold, and how they are compacted.
    pub source: Source,
    pub old_database: Identifier,
    pub old_table_name: Identifier,
    pub new_database: Identifier,
    pub new_table_name: Identifier,
    /// `COLUMN_NAMES` for access logs; the fixed [`crate::sql::EVENT_COLUMNS`] for usage
    /// events.
    pub column_names: Vec<Identifier>,
    pub athena_work_group: String,
    pub old_table_location_prefix: S3Prefix,
    pub output_prefix: S3Prefix,
    pub staging_output_prefix: S3Prefix,
    pub region_name: String,
    pub compaction_delay_minutes: u32,
    /// `MANIFEST_PREFIX`: where each compacted hour's manifest lives.
    pub manifest_prefix: S3Location,
    /// `LOCK_PREFIX`: where the hours' leases live. Required by the function (`main.rs`);
    /// `None` only in tests that run without a lock.
    pub lock_prefix: Option<LockPrefix>,
}

impl Settings {
    /// Reads the configuration through `lookup`, which returns the value of
    /// an environment variable by name.
    pub fn from_lookup<F>(lookup: F) -> Result<Self, SettingsError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let usage_events = optional(&lookup, ENV_SOURCE, is_usage_events)?.unwrap_or(false);
        // A variable the source does not read would be ignored without a word: refused.
        let not_read = |var: &'static str, why: &str| match lookup(var) {
            Some(_) => Err(invalid(var)(format!(
                "set, but not read when {ENV_SOURCE} is {}: {why}; unset it",
                if usage_events {
                    Source::NAMES[1]
                } else {
                    Source::NAMES[0]
                }
            ))),
            None => Ok(()),
        };
        let old_database = parsed(&lookup, ENV_OLD_DATABASE, Identifier::parse)?;
        let old_table_name = parsed(&lookup, ENV_OLD_TABLE_NAME, Identifier::parse)?;
        let new_database = parsed(&lookup, ENV_NEW_DATABASE, Identifier::parse)?;
        let new_table_name = parsed(&lookup, ENV_NEW_TABLE_NAME, Identifier::parse)?;
        let column_names = if usage_events {
            not_read(
                ENV_COLUMN_NAMES,
                &format!(
                    "the columns of usage events are fixed ({})",
                    crate::sql::EVENT_COLUMNS.join(", ")
                ),
            )?;
            crate::sql::EVENT_COLUMNS
                .iter()
                .map(|name| Identifier::parse(name).expect("the event columns are identifiers"))
                .collect()
        } else {
            parsed(&lookup, ENV_COLUMN_NAMES, parse_columns)?
        };
        let athena_work_group = parsed(&lookup, ENV_ATHENA_WORK_GROUP, work_group)?;
        let old_table_location_prefix =
            parsed(&lookup, ENV_OLD_TABLE_LOCATION_PREFIX, S3Prefix::parse)?;
        let output_prefix = parsed(&lookup, ENV_OUTPUT_PREFIX, S3Prefix::parse)?;
        let staging_output_prefix = parsed(&lookup, ENV_STAGING_OUTPUT_PREFIX, S3Prefix::parse)?;
        let region_name = parsed(&lookup, ENV_REGION_NAME, validate_region)?;
        // The job deletes everything under OUTPUT_PREFIX's hour folders before rewriting them.
        if old_table_location_prefix.overlaps(&output_prefix) {
            return Err(invalid(ENV_OUTPUT_PREFIX)(format!(
                "{output_prefix} overlaps {ENV_OLD_TABLE_LOCATION_PREFIX} \
                 {old_table_location_prefix}; the job deletes old Parquet files under it, so \
                 it must be a separate folder"
            )));
        }
        let compaction_delay_minutes = optional(&lookup, ENV_COMPACTION_DELAY_MINUTES, |v| {
            minutes(v, MAX_COMPACTION_DELAY_MINUTES)
        })?
        .unwrap_or(DEFAULT_COMPACTION_DELAY_MINUTES);

        // Athena reads every object under the tables' folders as data, and the job deletes
        // the Parquet hour folders: the manifests and leases live elsewhere.
        let apart = |var: &'static str, location: &S3Location, what: &str| {
            for (data_var, data) in [
                (ENV_OLD_TABLE_LOCATION_PREFIX, &old_table_location_prefix),
                (ENV_OUTPUT_PREFIX, &output_prefix),
            ] {
                if location.overlaps(data.bucket(), data.key()) {
                    return Err(invalid(var)(format!(
                        "{location} overlaps {data_var} {data}; Athena would read the {what} \
                         as data, so it must be a separate folder"
                    )));
                }
            }
            Ok(())
        };
        let manifest_prefix = parsed(&lookup, ENV_MANIFEST_PREFIX, S3Location::parse)?;
        apart(ENV_MANIFEST_PREFIX, &manifest_prefix, "manifests")?;
        let lock_prefix = optional(&lookup, ENV_LOCK_PREFIX, LockPrefix::parse)?;
        if let Some(lock) = &lock_prefix {
            apart(ENV_LOCK_PREFIX, lock, "leases")?;
        }
        let source = if usage_events {
            Source::UsageEvents {
                late_arrival_hours: parsed(&lookup, ENV_LATE_ARRIVAL_HOURS, late_arrival_hours)?,
            }
        } else {
            not_read(
                ENV_LATE_ARRIVAL_HOURS,
                "access-log requests are not checked against the billing windows",
            )?;
            Source::AccessLogs
        };

        Ok(Self {
            source,
            old_database,
            old_table_name,
            new_database,
            new_table_name,
            column_names,
            athena_work_group,
            old_table_location_prefix,
            output_prefix,
            staging_output_prefix,
            region_name,
            compaction_delay_minutes,
            manifest_prefix,
            lock_prefix,
        })
    }

    /// Athena's `ResultConfiguration.OutputLocation` for every query.
    pub fn staging_output_location(&self) -> String {
        format!("{}/", self.staging_output_prefix)
    }
}

/// Splits a comma-separated column list; names keep their case.
pub fn parse_columns(value: &str) -> Result<Vec<Identifier>, String> {
    let mut seen = HashSet::new();
    let mut columns = Vec::new();
    for (index, raw) in value.split(',').enumerate() {
        let name = raw.trim();
        if name.is_empty() {
            return Err(format!("column #{} is empty", index + 1));
        }
        let column = Identifier::parse(name)?;
        let lower = name.to_ascii_lowercase();
        if PARTITION_KEYS.contains(&lower.as_str()) {
            return Err(format!(
                "column {name:?} is a partition key; the job adds year, month, day and hour itself"
            ));
        }
        if lower == RANK_COLUMN {
            return Err(format!(
                "column {name:?} is reserved: the compaction query uses it to de-duplicate rows"
            ));
        }
        // Athena folds column names to lower case, so these would collide.
        if !seen.insert(lower) {
            return Err(format!("column {name:?} is listed twice"));
        }
        columns.push(column);
    }
    Ok(columns)
}

pub fn validate_region(value: &str) -> Result<String, String> {
    let well_formed = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if !well_formed {
        return Err(format!("{value:?} is not a region name like us-east-1"));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn sample_env() -> HashMap<&'static str, String> {
        HashMap::from([
            (ENV_OLD_DATABASE, "metering".to_owned()),
            (ENV_OLD_TABLE_NAME, "api_access_json".to_owned()),
            (ENV_NEW_DATABASE, "metering".to_owned()),
            (ENV_NEW_TABLE_NAME, "api_access_parquet".to_owned()),
            (
                ENV_COLUMN_NAMES,
                "requestId,ip,user,requestTime,httpMethod,resourcePath,status,protocol,responseLength"
                    .to_owned(),
            ),
            (ENV_ATHENA_WORK_GROUP, "metering-wg".to_owned()),
            (ENV_OLD_TABLE_LOCATION_PREFIX, "s3://bucket/json-data".to_owned()),
            (ENV_OUTPUT_PREFIX, "s3://bucket/parquet-data/".to_owned()),
            (ENV_STAGING_OUTPUT_PREFIX, "s3://results-bucket/tmp".to_owned()),
            (ENV_REGION_NAME, "eu-west-1".to_owned()),
            (
                ENV_MANIFEST_PREFIX,
                "s3://bucket/compaction-manifests".to_owned(),
            ),
        ])
    }

    fn load(env: &HashMap<&'static str, String>) -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| env.get(name).cloned())
    }

    #[test]
    fn reads_a_complete_environment() {
        let settings = load(&sample_env()).unwrap();
        assert_eq!(settings.old_database.as_str(), "metering");
        assert_eq!(settings.new_table_name.as_str(), "api_access_parquet");
        let columns: Vec<&str> = settings
            .column_names
            .iter()
            .map(Identifier::as_str)
            .collect();
        assert_eq!(
            columns,
            [
                "requestId",
                "ip",
                "user",
                "requestTime",
                "httpMethod",
                "resourcePath",
                "status",
                "protocol",
                "responseLength"
            ]
        );
        assert_eq!(settings.athena_work_group, "metering-wg");
        assert_eq!(settings.output_prefix.as_str(), "s3://bucket/parquet-data");
        assert_eq!(
            settings.staging_output_location(),
            "s3://results-bucket/tmp/"
        );
        assert_eq!(settings.region_name, "eu-west-1");
    }

    #[test]
    fn every_variable_is_required_and_named_when_missing() {
        for var in ENV_VARS {
            let mut env = sample_env();
            env.remove(var);
            let err = load(&env).unwrap_err();
            assert_eq!(err, SettingsError::Missing(var));
            assert!(err.to_string().contains(var), "{err}");
        }
    }

    #[test]
    fn every_variable_is_rejected_when_empty() {
        for var in ENV_VARS {
            let mut env = sample_env();
            env.insert(var, "  ".to_owned());
            let err = load(&env).unwrap_err();
            assert_eq!(err, SettingsError::Empty(var));
            assert_eq!(
                err.to_string(),
                format!("environment variable {var} is empty")
            );
        }
    }

    #[test]
    fn injection_attempts_are_rejected_with_the_variable_name() {
        let cases = [
            (ENV_OLD_DATABASE, "metering\"; DROP DATABASE x; --"),
            (ENV_OLD_TABLE_NAME, "a`b"),
            (ENV_NEW_DATABASE, "new db"),
            (ENV_NEW_TABLE_NAME, "tbl.name"),
            (ENV_COLUMN_NAMES, "requestId,ip\" FROM x --"),
            (ENV_ATHENA_WORK_GROUP, "wg'"),
            (ENV_OLD_TABLE_LOCATION_PREFIX, "s3://bucket/json'data"),
            (ENV_OUTPUT_PREFIX, "s3://bucket/x', format = 'JSON"),
            (ENV_STAGING_OUTPUT_PREFIX, "https://bucket/tmp"),
            (ENV_REGION_NAME, "us-east-1; rm"),
            (ENV_MANIFEST_PREFIX, "s3://bucket/manifests'x"),
        ];
        for (var, value) in cases {
            let mut env = sample_env();
            env.insert(var, value.to_owned());
            match load(&env) {
                Err(SettingsError::Invalid { var: got, problem }) => {
                    assert_eq!(got, var, "{problem}");
                }
                other => panic!("{var}={value:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn columns_are_trimmed_keep_case_and_must_be_unique() {
        let cols = parse_columns(" requestId , ip,user ").unwrap();
        let names: Vec<&str> = cols.iter().map(Identifier::as_str).collect();
        assert_eq!(names, ["requestId", "ip", "user"]);

        assert!(parse_columns("a,,b")
            .unwrap_err()
            .contains("column #2 is empty"));
        assert!(parse_columns("a,")
            .unwrap_err()
            .contains("column #2 is empty"));
        assert!(parse_columns("ip,IP").unwrap_err().contains("listed twice"));
        assert!(parse_columns("ip,Hour")
            .unwrap_err()
            .contains("partition key"));
    }

    #[test]
    fn s3_prefixes_are_normalised_and_checked() {
        assert_eq!(
            S3Prefix::parse("s3://bucket/a/b//").unwrap().as_str(),
            "s3://bucket/a/b"
        );
        assert_eq!(
            S3Prefix::parse("s3://bucket/a/b/").unwrap().as_str(),
            "s3://bucket/a/b"
        );
        assert_eq!(
            S3Prefix::parse("s3://bucket").unwrap().as_str(),
            "s3://bucket"
        );
        assert_eq!(
            S3Prefix::parse("s3://my-bucket.1/json-data/x=1")
                .unwrap()
                .as_str(),
            "s3://my-bucket.1/json-data/x=1"
        );
        assert!(S3Prefix::parse("s3://").is_err());
        assert!(S3Prefix::parse("s3:///key").is_err());
        assert!(S3Prefix::parse("bucket/key").is_err());
        assert!(S3Prefix::parse("s3://bucket/a//b").is_err());
        assert!(S3Prefix::parse("s3://bucket/a b").is_err());
        assert!(S3Prefix::parse("s3://bucket/a\\b").is_err());
    }

    #[test]
    fn compaction_delay_defaults_to_10_and_takes_0_to_59() {
        assert_eq!(load(&sample_env()).unwrap().compaction_delay_minutes, 10);
        for (value, minutes) in [("0", 0), ("10", 10), (" 59 ", 59), ("007", 7)] {
            let mut env = sample_env();
            env.insert(ENV_COMPACTION_DELAY_MINUTES, value.to_owned());
            assert_eq!(load(&env).unwrap().compaction_delay_minutes, minutes);
        }
        for value in ["60", "-1", "1.5", "ten", "10m", "99999999999"] {
            let mut env = sample_env();
            env.insert(ENV_COMPACTION_DELAY_MINUTES, value.to_owned());
            let err = load(&env).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "environment variable COMPACTION_DELAY_MINUTES: {value:?} is not a whole \
                     number of minutes from 0 to 59"
                )
            );
        }
        let mut env = sample_env();
        env.insert(ENV_COMPACTION_DELAY_MINUTES, "".to_owned());
        assert_eq!(
            load(&env).unwrap_err(),
            SettingsError::Empty(ENV_COMPACTION_DELAY_MINUTES)
        );
    }

    #[test]
    fn output_prefix_must_not_overlap_the_json_folder() {
        for (json, output) in [
            ("s3://bucket/data", "s3://bucket/data/"),
            ("s3://bucket/data", "s3://bucket/data/parquet"),
            ("s3://bucket/data/json", "s3://bucket/data"),
            ("s3://bucket/json", "s3://bucket"),
        ] {
            let mut env = sample_env();
            env.insert(ENV_OLD_TABLE_LOCATION_PREFIX, json.to_owned());
            env.insert(ENV_OUTPUT_PREFIX, output.to_owned());
            match load(&env) {
                Err(SettingsError::Invalid { var, problem }) => {
                    assert_eq!(var, ENV_OUTPUT_PREFIX);
                    assert!(
                        problem.contains("overlaps OLD_TABLE_LOCATION_PREFIX"),
                        "{problem}"
                    );
                }
                other => panic!("{json} / {output}: {other:?}"),
            }
        }
        for (json, output) in [
            ("s3://bucket/json-data", "s3://bucket/json-data-parquet"),
            ("s3://bucket/data", "s3://other/data"),
            ("s3://bucket/a/json", "s3://bucket/a/parquet"),
        ] {
            let mut env = sample_env();
            env.insert(ENV_OLD_TABLE_LOCATION_PREFIX, json.to_owned());
            env.insert(ENV_OUTPUT_PREFIX, output.to_owned());
            assert!(load(&env).is_ok(), "{json} / {output}");
        }
    }

    #[test]
    fn lock_prefix_is_optional_validated_and_kept_apart_from_the_data() {
        assert_eq!(load(&sample_env()).unwrap().lock_prefix, None);
        let mut env = sample_env();
        env.insert(
            ENV_LOCK_PREFIX,
            " s3://results-bucket/locks/compaction/ ".to_owned(),
        );
        let lock = load(&env).unwrap().lock_prefix.unwrap();
        assert_eq!(lock.to_string(), "s3://results-bucket/locks/compaction");
        assert_eq!(lock.object_key("2026110105"), "locks/compaction/2026110105");

        for value in [
            "results-bucket/locks",
            "s3://results-bucket/a//b",
            "s3://x/a'b",
        ] {
            let mut env = sample_env();
            env.insert(ENV_LOCK_PREFIX, value.to_owned());
            assert!(
                matches!(
                    load(&env),
                    Err(SettingsError::Invalid {
                        var: ENV_LOCK_PREFIX,
                        ..
                    })
                ),
                "{value}"
            );
        }
        for value in [
            "s3://bucket/json-data/locks",
            "s3://bucket/parquet-data",
            "s3://bucket",
        ] {
            let mut env = sample_env();
            env.insert(ENV_LOCK_PREFIX, value.to_owned());
            match load(&env) {
                Err(SettingsError::Invalid { var, problem }) => {
                    assert_eq!(var, ENV_LOCK_PREFIX);
                    assert!(problem.contains(" overlaps "), "{problem}");
                }
                other => panic!("{value}: {other:?}"),
            }
        }
        let mut env = sample_env();
        env.insert(ENV_LOCK_PREFIX, "".to_owned());
        assert_eq!(
            load(&env).unwrap_err(),
            SettingsError::Empty(ENV_LOCK_PREFIX)
        );
    }

    #[test]
    fn manifests_are_kept_apart_from_the_data() {
        let settings = load(&sample_env()).unwrap();
        assert_eq!(
            settings.manifest_prefix.to_string(),
            "s3://bucket/compaction-manifests"
        );
        for value in [
            "s3://bucket/json-data/manifests",
            "s3://bucket/parquet-data",
            "s3://bucket",
        ] {
            let mut env = sample_env();
            env.insert(ENV_MANIFEST_PREFIX, value.to_owned());
            match load(&env) {
                Err(SettingsError::Invalid { var, problem }) => {
                    assert_eq!(var, ENV_MANIFEST_PREFIX);
                    assert!(problem.contains(" overlaps "), "{problem}");
                }
                other => panic!("{value}: {other:?}"),
            }
        }
    }

    /// The environment of an instance compacting usage events.
    fn events_env() -> HashMap<&'static str, String> {
        let mut env = sample_env();
        env.remove(ENV_COLUMN_NAMES);
        env.insert(ENV_SOURCE, "usage_events".to_owned());
        env.insert(ENV_LATE_ARRIVAL_HOURS, "3".to_owned());
        env.insert(
            ENV_OLD_TABLE_LOCATION_PREFIX,
            "s3://bucket/usage-events".to_owned(),
        );
        env.insert(
            ENV_OUTPUT_PREFIX,
            "s3://bucket/usage-events-parquet".to_owned(),
        );
        env
    }

    #[test]
    fn source_defaults_to_access_logs_and_takes_the_two_names() {
        assert_eq!(load(&sample_env()).unwrap().source, Source::AccessLogs);
        let mut env = sample_env();
        env.insert(ENV_SOURCE, " access_logs ".to_owned());
        let settings = load(&env).unwrap();
        assert_eq!(settings.source, Source::AccessLogs);
        assert_eq!(settings, load(&sample_env()).unwrap());

        let settings = load(&events_env()).unwrap();
        assert_eq!(
            settings.source,
            Source::UsageEvents {
                late_arrival_hours: 3
            }
        );
        assert_eq!(settings.source.name(), "usage_events");
        assert_eq!(Source::AccessLogs.to_string(), "access_logs");
        let columns: Vec<&str> = settings
            .column_names
            .iter()
            .map(Identifier::as_str)
            .collect();
        assert_eq!(
            columns,
            [
                "id",
                "tenant",
                "type",
                "time",
                "value",
                "properties",
                "problem"
            ]
        );

        for value in [
            "usage-events",
            "ACCESS_LOGS",
            "events",
            "access_logs,usage_events",
        ] {
            let mut env = events_env();
            env.insert(ENV_SOURCE, value.to_owned());
            let err = load(&env).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "environment variable SOURCE: {value:?} is not a source: expected \
                     access_logs (the default) or usage_events"
                )
            );
        }
        let mut env = events_env();
        env.insert(ENV_SOURCE, " ".to_owned());
        assert_eq!(load(&env).unwrap_err(), SettingsError::Empty(ENV_SOURCE));
    }

    #[test]
    fn usage_events_need_every_variable_but_column_names_and_late_arrival_hours() {
        for var in USAGE_EVENTS_ENV_VARS {
            let mut env = events_env();
            env.remove(var);
            assert_eq!(load(&env).unwrap_err(), SettingsError::Missing(var));
            let mut env = events_env();
            env.insert(var, "\t".to_owned());
            assert_eq!(load(&env).unwrap_err(), SettingsError::Empty(var));
        }
        assert!(!USAGE_EVENTS_ENV_VARS.contains(&ENV_COLUMN_NAMES));
    }

    #[test]
    fn usage_events_refuse_column_names() {
        for value in [
            "requestId,ip",
            "id,tenant,type,time,value,properties,problem",
            "",
        ] {
            let mut env = events_env();
            env.insert(ENV_COLUMN_NAMES, value.to_owned());
            let err = load(&env).unwrap_err();
            assert_eq!(
                err.to_string(),
                "environment variable COLUMN_NAMES: set, but not read when SOURCE is \
                 usage_events: the columns of usage events are fixed (id, tenant, type, time, \
                 value, properties, problem); unset it",
                "{value:?}"
            );
        }
    }

    #[test]
    fn late_arrival_hours_take_the_metering_bounds() {
        assert_eq!(metering::MAX_LATE_ARRIVAL_HOURS, 22);
        for (value, hours) in [("1", 1), (" 22 ", 22), ("3", 3), ("07", 7)] {
            let mut env = events_env();
            env.insert(ENV_LATE_ARRIVAL_HOURS, value.to_owned());
            assert_eq!(
                load(&env).unwrap().source,
                Source::UsageEvents {
                    late_arrival_hours: hours
                },
                "{value}"
            );
        }
        for value in ["0", "23", "72", "-1", "1.5", "3h", "99999999999"] {
            let mut env = events_env();
            env.insert(ENV_LATE_ARRIVAL_HOURS, value.to_owned());
            assert_eq!(
                load(&env).unwrap_err().to_string(),
                format!(
                    "environment variable LATE_ARRIVAL_HOURS: {value:?} is not a whole number of \
                     hours from 1 to 22 (the metering configuration's late_arrival_hours)"
                )
            );
        }
    }

    #[test]
    fn access_logs_refuse_late_arrival_hours() {
        for source in [None, Some("access_logs")] {
            let mut env = sample_env();
            if let Some(source) = source {
                env.insert(ENV_SOURCE, source.to_owned());
            }
            env.insert(ENV_LATE_ARRIVAL_HOURS, "3".to_owned());
            let err = load(&env).unwrap_err();
            assert_eq!(
                err.to_string(),
                "environment variable LATE_ARRIVAL_HOURS: set, but not read when SOURCE is \
                 access_logs: access-log requests are not checked against the billing \
                 windows; unset it"
            );
        }
    }

    #[test]
    fn usage_events_keep_every_other_check() {
        let mut env = events_env();
        env.insert(
            ENV_OUTPUT_PREFIX,
            "s3://bucket/usage-events/parquet".to_owned(),
        );
        assert!(matches!(
            load(&env),
            Err(SettingsError::Invalid {
                var: ENV_OUTPUT_PREFIX,
                ..
            })
        ));
        let mut env = events_env();
        env.insert(ENV_MANIFEST_PREFIX, "s3://bucket/usage-events/m".to_owned());
        assert!(matches!(
            load(&env),
            Err(SettingsError::Invalid {
                var: ENV_MANIFEST_PREFIX,
                ..
            })
        ));
    }

    #[test]
    fn the_rank_column_is_reserved() {
        assert!(parse_columns("requestId,Dedup_Rank")
            .unwrap_err()
            .contains("reserved"));
    }

    #[test]
    fn s3_prefix_bucket_and_key() {
        let prefix = S3Prefix::parse("s3://my-bucket/json-data/x=1/").unwrap();
        assert_eq!(prefix.bucket(), "my-bucket");
        assert_eq!(prefix.key(), "json-data/x=1");
        let whole = S3Prefix::parse("s3://my-bucket").unwrap();
        assert_eq!(whole.bucket(), "my-bucket");
        assert_eq!(whole.key(), "");
    }

    #[test]
    fn regions() {
        assert_eq!(validate_region("us-east-1").unwrap(), "us-east-1");
        assert!(validate_region("US-EAST-1").is_err());
        assert!(validate_region("-us").is_err());
    }
}
