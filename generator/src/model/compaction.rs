//! The hourly JSON-to-Parquet compaction: the `compaction` section (when it runs) and the
//! fields it keeps, `COLUMN_NAMES` of `merge_small_files_lambda_env`.

use super::metering::MeteringModel;
use super::Checker;
use crate::context::{Compaction, Firehose, MergeSmallFilesEnv};
use crate::diagnostic::did_you_mean;
use access_log::FIELDS;
use serde::Serialize;
use std::collections::BTreeSet;

/// The compaction job's settings, as the reference sample names them.
pub(super) const ENV: &str = "merge_small_files_lambda_env";

#[derive(Debug, Clone, Serialize)]
pub struct CompactionModel {
    /// `COLUMN_NAMES` as the user wrote them (record key spelling), in order.
    pub column_names: Vec<String>,
    pub schedule_expression: String,
    pub delay_minutes: i64,
}

/// The compacted fields: `COLUMN_NAMES`, the fields this project added, and none missing that
/// the meters of `metering` read.
pub(super) fn column_names(
    env: &MergeSmallFilesEnv,
    metering: &MeteringModel,
    c: &mut Checker,
) -> Vec<String> {
    let mut names = listed(&env.column_names, c);
    compacted_added_fields(&mut names);
    if let Some(billing) = &metering.billing {
        let missing: Vec<&str> = billing
            .columns
            .iter()
            .filter(|f| !names.iter().any(|n| n.eq_ignore_ascii_case(f)))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            c.fail(
                &format!("{ENV}.COLUMN_NAMES"),
                format!(
                    "the meters of `metering` need {}, which the Parquet table would not have",
                    missing.join(", ")
                ),
            );
        }
    }
    names
}

fn listed(list: &str, c: &mut Checker) -> Vec<String> {
    let path = format!("{ENV}.COLUMN_NAMES");
    let mut seen = BTreeSet::new();
    let mut names = Vec::new();
    for (i, raw) in list.split(',').enumerate() {
        let name = raw.trim();
        let position = i + 1;
        if name.is_empty() {
            c.fail(&path, format!("column {position} is empty"));
        } else if access_log::find(name).is_none() {
            let mut message = format!("column {position} `{name}` is not an access-log field");
            match did_you_mean(name, FIELDS.iter().map(|f| f.name)) {
                Some(hint) => message = format!("{message}; {hint}"),
                None => {
                    let all: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
                    message = format!("{message}; the fields are {}", all.join(", "));
                }
            }
            c.fail(&path, message);
        } else if !seen.insert(name.to_ascii_lowercase()) {
            c.fail(&path, format!("column {position} `{name}` is listed twice"));
        } else {
            names.push(name.to_string());
        }
    }
    names
}

/// Fields the sample's `COLUMN_NAMES` cannot list (they are this project's additions) are
/// always compacted: tenants are what usage is billed by.
fn compacted_added_fields(names: &mut Vec<String>) {
    for added in access_log::ADDED_FIELDS {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(added)) {
            names.push(added.to_string());
        }
    }
}

/// Firehose names an object's folder after its records' arrival hour but writes it up to one
/// buffer interval later: an hour is complete only once that interval (and a minute for the
/// write itself) has passed after its end.
pub(super) fn delay(compaction: &Compaction, firehose: Option<&Firehose>, c: &mut Checker) {
    c.range("compaction.delay_minutes", compaction.delay_minutes, 0, 59);
    if let Some(f) = firehose {
        delay_after(
            compaction,
            "firehose.buffer_interval_in_seconds",
            f.buffer_interval_in_seconds,
            c,
        );
    }
}

/// The delay leaves a stream whose buffer interval is `interval_key` = `interval` seconds the
/// time to write an hour's last records. Both compactions (access logs and usage events) run
/// on the one schedule.
pub(super) fn delay_after(
    compaction: &Compaction,
    interval_key: &str,
    interval: i64,
    c: &mut Checker,
) {
    let delay = compaction.delay_minutes;
    // An interval out of its range is reported with its own section.
    if !(0..=900).contains(&interval) {
        return;
    }
    let needed_seconds = interval + 60;
    if (0..=59).contains(&delay) && delay * 60 < needed_seconds {
        c.fail(
            "compaction.delay_minutes",
            format!(
                "{delay} minutes after an hour ends is too early: Firehose writes its last records \
                 up to `{interval_key}` = {interval} s later; use at least {} minutes",
                (needed_seconds + 59) / 60
            ),
        );
    }
}

/// `compaction.schedule_expression`, by default every hour as soon as the last one is complete.
pub(super) fn schedule(compaction: &Compaction, c: &mut Checker) -> String {
    let (expression, _) = c.schedule(
        "compaction.schedule_expression",
        compaction.schedule_expression.as_deref(),
        || format!("cron({} * * * ? *)", compaction.delay_minutes),
    );
    expression
}
