//! The `firehose` section: the access-log delivery stream, its bucket and its prefixes.

use super::rules::{self, PrefixKind};
use super::Checker;
use crate::context::Firehose;
use serde::Serialize;

pub const DELIVERY_STREAM_PREFIX: &str = "amazon-apigateway-";
pub const DEFAULT_ACCESS_LOG_BUCKET: &str = "apigw-access-log-to-firehose-{region}-{account-id}";

#[derive(Debug, Clone, Serialize)]
pub struct AccessLogs {
    /// Bucket name, possibly with `{region}` / `{account-id}` placeholders.
    pub bucket: String,
    pub delivery_stream_name: String,
    pub buffer_size_in_mbs: i64,
    pub buffer_interval_in_seconds: i64,
    pub prefix: String,
    pub error_output_prefix: String,
    pub folder: String,
    /// The folder of the error prefix before its first expression (`error/` of
    /// `error/year=!{…}/…`): where Firehose's error output starts, whatever its layout.
    pub error_folder: String,
}

pub(super) fn build(f: &Firehose, c: &mut Checker) -> AccessLogs {
    c.range("firehose.buffer_size_in_mbs", f.buffer_size_in_mbs, 1, 128);
    c.range(
        "firehose.buffer_interval_in_seconds",
        f.buffer_interval_in_seconds,
        0,
        900,
    );
    let delivery_stream_name = format!("{DELIVERY_STREAM_PREFIX}{}", f.stream_name);
    if f.stream_name.is_empty() {
        c.fail("firehose.stream_name", "may not be empty");
    } else {
        c.check(
            "firehose.stream_name",
            rules::delivery_stream_name(&delivery_stream_name),
        );
    }
    let bucket = f
        .s3_bucket
        .clone()
        .unwrap_or_else(|| DEFAULT_ACCESS_LOG_BUCKET.to_string());
    c.check("firehose.s3_bucket", rules::bucket_name(&bucket));
    c.check(
        "firehose.s3_output_folder",
        rules::folder(&f.s3_output_folder)
            .and_then(|()| rules::apart_from_stack_folders(&f.s3_output_folder)),
    );

    let folder_slash = format!("{}/", f.s3_output_folder);
    match rules::firehose_prefix(&f.prefix, PrefixKind::Data) {
        Err(e) => c.fail("firehose.prefix", e),
        Ok(_) if !f.prefix.starts_with(&folder_slash) => c.fail(
            "firehose.prefix",
            format!("must start with `s3_output_folder` and a slash: `{folder_slash}`"),
        ),
        Ok(_) if f.prefix != rules::hourly_layout(&f.s3_output_folder) => c.fail(
            "firehose.prefix",
            format!(
                "must be `{}`: both Glue tables project their hourly partitions from that layout",
                rules::hourly_layout(&f.s3_output_folder)
            ),
        ),
        Ok(_) => {}
    }
    match rules::firehose_prefix(&f.error_output_prefix, PrefixKind::Error) {
        Err(e) => c.fail("firehose.error_output_prefix", e),
        Ok(exprs) if !exprs.is_empty() && !exprs.iter().any(|e| e == "firehose:error-output-type") => c.fail(
            "firehose.error_output_prefix",
            "Firehose requires `!{firehose:error-output-type}` in an error prefix that uses expressions",
        ),
        Ok(_) if f.error_output_prefix.is_empty() => c.fail(
            "firehose.error_output_prefix",
            "may not be empty: Firehose requires an error prefix when the prefix uses expressions",
        ),
        Ok(_) if f.error_output_prefix.starts_with(&folder_slash) => c.fail(
            "firehose.error_output_prefix",
            format!("must lie outside the data folder `{folder_slash}`, or the JSON table would read failed records"),
        ),
        Ok(_) => {}
    }
    AccessLogs {
        bucket,
        delivery_stream_name,
        buffer_size_in_mbs: f.buffer_size_in_mbs,
        buffer_interval_in_seconds: f.buffer_interval_in_seconds,
        prefix: f.prefix.clone(),
        error_output_prefix: f.error_output_prefix.clone(),
        folder: f.s3_output_folder.clone(),
        error_folder: error_folder(&f.error_output_prefix),
    }
}

/// `error/` of `error/year=!{timestamp:yyyy}/…`: the prefix up to its first expression, cut
/// after its last `/` (the whole static part when it has none).
fn error_folder(prefix: &str) -> String {
    let fixed = prefix.split("!{").next().unwrap_or_default();
    match fixed.rfind('/') {
        Some(end) => fixed[..=end].to_owned(),
        None => fixed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::error_folder;

    #[test]
    fn the_error_folder_is_the_prefix_before_its_expressions() {
        assert_eq!(error_folder("error/year=!{timestamp:yyyy}/x"), "error/");
        assert_eq!(
            error_folder("logs/errors/!{firehose:error-output-type}/"),
            "logs/errors/"
        );
        assert_eq!(error_folder("failed/"), "failed/");
        assert_eq!(error_folder("err!{firehose:error-output-type}"), "err");
    }
}
