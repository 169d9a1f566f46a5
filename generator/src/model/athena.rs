//! The `athena` section (and the sample README's top-level `athena_work_group_name`): the
//! workgroup and the query-results bucket.

use super::firehose::AccessLogs;
use super::{rules, Checker};
use crate::context::Context;
use serde::Serialize;

pub const DEFAULT_RESULTS_BUCKET: &str = "aws-athena-query-results-{region}-{account-id}";

#[derive(Debug, Clone, Serialize)]
pub struct AthenaModel {
    pub workgroup: String,
    pub results_bucket: String,
}

/// The workgroup's name, from `athena.work_group_name` or the top-level key; `None` (and
/// reported) when neither or both are given, or when it breaks a naming rule.
pub(super) fn workgroup(ctx: &Context, c: &mut Checker) -> Option<String> {
    let nested = ctx.athena.as_ref().and_then(|a| a.work_group_name.clone());
    let (path, name) = match (nested, ctx.athena_work_group_name.clone()) {
        (Some(_), Some(_)) => {
            c.fail(
                "athena_work_group_name",
                "the workgroup is also named at `athena.work_group_name`; keep one of the two",
            );
            return None;
        }
        (Some(n), None) => ("athena.work_group_name", n),
        (None, Some(n)) => ("athena_work_group_name", n),
        (None, None) => {
            c.fail(
                "athena.work_group_name",
                "required key is missing (the sample README's top-level `athena_work_group_name` is accepted too)",
            );
            return None;
        }
    };
    c.check(path, rules::workgroup_name(&name));
    Some(name)
}

pub(super) fn results_bucket(ctx: &Context, c: &mut Checker) -> String {
    let bucket = ctx
        .athena
        .as_ref()
        .and_then(|a| a.query_results_s3_bucket.clone())
        .unwrap_or_else(|| DEFAULT_RESULTS_BUCKET.to_string());
    c.check(
        "athena.query_results_s3_bucket",
        rules::bucket_name(&bucket),
    );
    bucket
}

pub(super) fn apart_from_access_logs(results_bucket: &str, logs: &AccessLogs, c: &mut Checker) {
    if logs.bucket == results_bucket {
        c.fail(
            "athena.query_results_s3_bucket",
            "must differ from the access-log bucket `firehose.s3_bucket`",
        );
    }
}
