//! The `usage_events` section: the Firehose stream (DirectPut) the SaaS backend sends its usage
//! events to, in its own hourly folder of the access-log bucket, transformed on the way by
//! the `usage-events` function (each line canonical, or flagged with why it cannot be billed);
//! the Glue tables over those lines and over their hourly compaction into Parquet.

use super::catalog::{Column, Table, TEMP_TABLE_EXTRA};
use super::compaction::ENV;
use super::rules::{self, PrefixKind};
use super::{AccessLogs, Checker};
use crate::context::{MergeSmallFilesEnv, UsageEvents};
use serde::Serialize;

const SECTION: &str = "usage_events";

/// Where the events compaction writes one manifest per compacted hour: its own folder, apart
/// from the access logs' (`compaction-manifests`), which another function writes.
pub const MANIFEST_FOLDER: &str = "usage-events-manifests";

/// The types and descriptions of the events' JSON table's columns, [`metering::EVENT_COLUMNS`]
/// (the keys of the canonical line the `usage-events` function writes). `value` stays text
/// here: the compaction casts it to a decimal, exact to the digit.
const JSON_COLUMNS: [(&str, &str); 7] = [
    ("string", "The event's id: copies of an id are billed once."),
    ("string", "The tenant billed for the event."),
    (
        "string",
        "What happened, e.g. tokens.generated; meters select events by it.",
    ),
    ("bigint", "When it happened, epoch milliseconds (UTC)."),
    (
        "string",
        "The event's amount, a decimal number as text; NULL when it has none.",
    ),
    (
        "map<string,string>",
        "The event's properties, for filters and unique counts.",
    ),
    (
        "string",
        "Why the line cannot be billed, set by the ingestion function; NULL for an event.",
    ),
];

/// The Parquet table's type of `value`: [`metering::VALUE_SCALE`] digits after the point and
/// [`metering::MAX_VALUE_INTEGER_DIGITS`] before it.
const PARQUET_VALUE_TYPE: &str = "decimal(24,9)";
const _: () = assert!(metering::MAX_VALUE_INTEGER_DIGITS + metering::VALUE_SCALE as usize == 24);

fn columns(parquet: bool) -> Vec<Column> {
    metering::EVENT_COLUMNS
        .iter()
        .zip(JSON_COLUMNS)
        .map(|(&name, (glue_type, comment))| Column {
            name: name.into(),
            glue_type: if parquet && name == "value" {
                PARQUET_VALUE_TYPE.into()
            } else {
                glue_type.into()
            },
            comment: match (parquet, name) {
                (true, "value") => "The event's amount, exact to 9 decimal places; NULL when it has none.".into(),
                (true, "problem") => "Why the event is not billed (e.g. its time is outside any window); NULL for a billable event.".into(),
                _ => comment.into(),
            },
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct UsageEventsModel {
    pub delivery_stream_name: String,
    pub folder: String,
    pub prefix: String,
    pub error_output_prefix: String,
    /// Where the error output starts (`<folder>-errors/`).
    pub error_folder: String,
    pub buffer_size_in_mbs: i64,
    pub buffer_interval_in_seconds: i64,
    /// The Glue table over the delivered lines (Hive JSON SerDe).
    pub json_table: Table,
    /// The Glue table of the hourly compaction.
    pub parquet_table: Table,
    /// Where the events compaction keeps its manifests ([`MANIFEST_FOLDER`]).
    pub manifest_folder: String,
    /// `metering.late_arrival_hours`: which times each hour folder's events may have to be
    /// in some month's bill (`metering::times_billed_from`); the compaction marks the others.
    pub late_arrival_hours: i64,
}

const NEW_FOLDER_KEY: &str = "merge_small_files_lambda_env.NEW_TABLE_S3_FOLDER_NAME";

/// The folders the table folders of the bucket may not be, contain or lie in.
fn nests(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
}

/// The access logs' folders of the bucket, each with the key that names it: the events'
/// folders may not be, contain or lie in them.
fn access_log_folders<'a>(
    logs: Option<&'a AccessLogs>,
    parquet_folder: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut folders = Vec::new();
    if let Some(l) = logs {
        folders.push(("firehose.s3_output_folder", l.folder.as_str()));
        folders.push((
            "firehose.error_output_prefix",
            l.error_folder.trim_end_matches('/'),
        ));
    }
    folders.extend(parquet_folder.map(|p| (NEW_FOLDER_KEY, p)));
    folders
}

pub(super) fn build(
    events: &UsageEvents,
    logs: Option<&AccessLogs>,
    env: Option<&MergeSmallFilesEnv>,
    late_arrival_hours: i64,
    c: &mut Checker,
) -> UsageEventsModel {
    let parquet_folder = env.map(|e| e.new_table_s3_folder_name.as_str());
    let path = |key: &str| format!("{SECTION}.{key}");
    c.range(
        &path("buffer_size_in_mbs"),
        events.buffer_size_in_mbs,
        1,
        128,
    );
    c.range(
        &path("buffer_interval_in_seconds"),
        events.buffer_interval_in_seconds,
        0,
        900,
    );
    if events.stream_name.is_empty() {
        c.fail(&path("stream_name"), "may not be empty");
    } else {
        c.check(
            &path("stream_name"),
            rules::delivery_stream_name(&events.stream_name),
        );
        if let Some(logs) = logs {
            if logs.delivery_stream_name == events.stream_name {
                c.fail(
                    &path("stream_name"),
                    "must differ from the access-log stream's name",
                );
            }
        }
    }
    let folder = &events.s3_output_folder;
    let error_folder = format!("{folder}-errors/");
    match rules::folder(folder).and_then(|()| rules::apart_from_stack_folders(folder)) {
        Err(e) => c.fail(&path("s3_output_folder"), e),
        Ok(()) => {
            for (key, other) in access_log_folders(logs, parquet_folder) {
                if !other.is_empty()
                    && (nests(folder, other) || nests(error_folder.trim_end_matches('/'), other))
                {
                    c.fail(
                        &path("s3_output_folder"),
                        format!(
                            "`{folder}` (and its error output `{error_folder}`) may not be, contain or lie in `{other}`, the folder of `{key}`: the tables would read each other's files"
                        ),
                    );
                }
            }
        }
    }
    let prefix = rules::hourly_layout(folder);
    let error_output_prefix = format!(
        "{error_folder}year=!{{timestamp:yyyy}}/month=!{{timestamp:MM}}/day=!{{timestamp:dd}}/hour=!{{timestamp:HH}}/!{{firehose:error-output-type}}/"
    );
    // A folder name that is fine may still make a prefix longer than Firehose takes.
    if rules::folder(folder).is_ok() {
        for (kind, built) in [
            (PrefixKind::Data, &prefix),
            (PrefixKind::Error, &error_output_prefix),
        ] {
            if let Err(e) = rules::firehose_prefix(built, kind) {
                c.fail(
                    &path("s3_output_folder"),
                    format!("the stream's prefix `{built}`: {e}"),
                );
            }
        }
    }
    let events_parquet = &events.parquet_folder;
    match rules::folder(events_parquet)
        .and_then(|()| rules::apart_from_stack_folders(events_parquet))
    {
        Err(e) => c.fail(&path("parquet_folder"), e),
        Ok(()) => {
            let taken = [
                ("usage_events.s3_output_folder", folder.as_str()),
                (
                    "usage_events.s3_output_folder",
                    error_folder.trim_end_matches('/'),
                ),
            ]
            .into_iter()
            .chain(access_log_folders(logs, parquet_folder));
            for (key, other) in taken {
                if !other.is_empty() && nests(events_parquet, other) {
                    c.fail(
                        &path("parquet_folder"),
                        format!("`{events_parquet}` may not be, contain or lie in `{other}` (from `{key}`): the tables would read each other's files"),
                    );
                }
            }
        }
    }
    let json_database = env.map(|e| e.old_database.clone()).unwrap_or_default();
    let parquet_database = env.map(|e| e.new_database.clone()).unwrap_or_default();
    c.check(
        &path("json_table_name"),
        rules::glue_name(&events.json_table_name, 255),
    );
    c.check(
        &path("parquet_table_name"),
        rules::glue_name(&events.parquet_table_name, 255 - TEMP_TABLE_EXTRA),
    );
    if let Some(env) = env {
        // Two tables of one name in one database: the second would replace the first.
        let tables = [
            ("json_table_name", &json_database, &events.json_table_name),
            (
                "parquet_table_name",
                &parquet_database,
                &events.parquet_table_name,
            ),
        ];
        let access_tables = [
            ("OLD_TABLE_NAME", &env.old_database, &env.old_table_name),
            ("NEW_TABLE_NAME", &env.new_database, &env.new_table_name),
        ];
        for (key, database, name) in tables {
            for (other_key, other_database, other_name) in access_tables {
                if database == other_database && name == other_name {
                    c.fail(
                        &path(key),
                        format!("`{name}` is already the table `{ENV}.{other_key}` in the database `{database}`"),
                    );
                }
            }
        }
        if json_database == parquet_database && events.json_table_name == events.parquet_table_name
        {
            c.fail(
                &path("parquet_table_name"),
                "must differ from `usage_events.json_table_name`: both tables are in the same database",
            );
        }
    }
    let json_table = Table {
        format: "events_json".into(),
        description: "Usage events as the ingestion function writes them: one JSON line per event (or flagged line), one folder per arrival hour.".into(),
        database: json_database,
        name: events.json_table_name.clone(),
        folder: folder.clone(),
        columns: columns(false),
    };
    let parquet_table = Table {
        format: "events_parquet".into(),
        description: "Usage events compacted hourly into Snappy Parquet, one row per event id."
            .into(),
        database: parquet_database,
        name: events.parquet_table_name.clone(),
        folder: events_parquet.clone(),
        columns: columns(true),
    };
    UsageEventsModel {
        json_table,
        parquet_table,
        manifest_folder: MANIFEST_FOLDER.into(),
        late_arrival_hours,
        delivery_stream_name: events.stream_name.clone(),
        folder: folder.clone(),
        prefix,
        error_output_prefix,
        error_folder,
        buffer_size_in_mbs: events.buffer_size_in_mbs,
        buffer_interval_in_seconds: events.buffer_interval_in_seconds,
    }
}
