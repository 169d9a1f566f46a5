//! The `usage_events` section: the Firehose stream (DirectPut) the SaaS backend sends its usage
//! events to, in its own hourly folder of the access-log bucket, transformed on the way by
//! the `usage-events` function (each line canonical, or flagged with why it cannot be billed).

use super::rules::{self, PrefixKind};
use super::{AccessLogs, Checker};
use crate::context::UsageEvents;
use serde::Serialize;

const SECTION: &str = "usage_events";

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
}

/// The folders the table folders of the bucket may not be, contain or lie in.
fn nests(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
}

pub(super) fn build(
    events: &UsageEvents,
    logs: Option<&AccessLogs>,
    parquet_folder: Option<&str>,
    c: &mut Checker,
) -> UsageEventsModel {
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
            let taken = logs
                .map(|l| ("firehose.s3_output_folder", l.folder.as_str()))
                .into_iter()
                .chain(logs.map(|l| {
                    (
                        "firehose.error_output_prefix",
                        l.error_folder.trim_end_matches('/'),
                    )
                }))
                .chain(
                    parquet_folder
                        .map(|p| ("merge_small_files_lambda_env.NEW_TABLE_S3_FOLDER_NAME", p)),
                );
            for (key, other) in taken {
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
    debug_assert!(
        rules::firehose_prefix(&prefix, PrefixKind::Data).is_ok() || rules::folder(folder).is_err()
    );
    UsageEventsModel {
        delivery_stream_name: events.stream_name.clone(),
        folder: folder.clone(),
        prefix,
        error_output_prefix,
        error_folder,
        buffer_size_in_mbs: events.buffer_size_in_mbs,
        buffer_interval_in_seconds: events.buffer_interval_in_seconds,
    }
}
