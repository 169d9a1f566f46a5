//! The `deployment` section: settings that apply to every resource.

use super::{rules, Checker};
use crate::context::Deployment;

pub(super) fn check(d: &Deployment, c: &mut Checker) {
    if !rules::LOG_RETENTION_DAYS.contains(&d.log_retention_in_days) {
        c.fail(
            "deployment.log_retention_in_days",
            format!(
                "CloudWatch Logs accepts only {:?} days, not {}",
                rules::LOG_RETENTION_DAYS,
                d.log_retention_in_days
            ),
        );
    }
    if let Some(arn) = &d.kms_key_arn {
        c.check("deployment.kms_key_arn", rules::kms_key_arn(arn));
    }
    if let Some(bucket) = &d.s3_access_log_bucket {
        c.check(
            "deployment.s3_access_log_bucket",
            rules::bucket_name(bucket),
        );
    }
    // The raw JSON must outlive the hour it is compacted in, with room for a backfill.
    c.range(
        "deployment.json_retention_in_days",
        d.json_retention_in_days,
        2,
        36_500,
    );
    c.range(
        "deployment.query_results_retention_in_days",
        d.query_results_retention_in_days,
        1,
        36_500,
    );
    c.range(
        "deployment.noncurrent_version_retention_in_days",
        d.noncurrent_version_retention_in_days,
        1,
        36_500,
    );
    for (key, value) in &d.tags {
        let path = format!("deployment.tags.{key}");
        if key.is_empty() || key.chars().count() > 128 {
            c.fail(&path, "a tag key must have 1 to 128 characters");
        } else if key.to_ascii_lowercase().starts_with("aws:") {
            c.fail(&path, "tag keys beginning with `aws:` are reserved by AWS");
        }
        if value.chars().count() > 256 {
            c.fail(&path, "a tag value may have at most 256 characters");
        }
    }
}

/// The bucket receiving S3 server access logs lies outside the stack: a bucket that logs to
/// itself logs its own log writes.
pub(super) fn access_logs_apart_from(d: &Deployment, stack_buckets: [&String; 2], c: &mut Checker) {
    if let Some(target) = &d.s3_access_log_bucket {
        if stack_buckets.contains(&target) {
            c.fail(
                "deployment.s3_access_log_bucket",
                "must be a bucket outside this stack: a bucket that logs to itself logs its own log writes",
            );
        }
    }
}
