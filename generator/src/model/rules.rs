//! Naming and format rules of the AWS services involved. Each returns `Err(reason)`; the
//! caller attaches the file and JSON path.

pub type Rule = Result<(), String>;

/// Placeholders the sample documents for bucket names, resolved at apply time.
pub const BUCKET_PLACEHOLDERS: &[&str] = &["{region}", "{account-id}"];

/// S3 general-purpose bucket naming rules, checked with each placeholder replaced by the
/// longest value it can take.
pub fn bucket_name(name: &str) -> Rule {
    let mut rest = name;
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .map(|e| start + e + 1)
            .ok_or_else(|| format!("unterminated placeholder in `{name}`"))?;
        let placeholder = &rest[start..end];
        if !BUCKET_PLACEHOLDERS.contains(&placeholder) {
            return Err(format!(
                "unknown placeholder `{placeholder}`; only `{{region}}` and `{{account-id}}` are resolved"
            ));
        }
        rest = &rest[end..];
    }
    let widest = name
        .replace("{region}", "ap-southeast-5")
        .replace("{account-id}", "123456789012");
    if !(3..=63).contains(&widest.len()) {
        return Err(format!(
            "an S3 bucket name must have 3 to 63 characters (with placeholders resolved it can have {})",
            widest.len()
        ));
    }
    if let Some(c) = widest
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
    {
        return Err(format!(
            "an S3 bucket name may hold only lower-case letters, digits, dots and hyphens, not `{c}`"
        ));
    }
    let first = widest.chars().next().unwrap_or('-');
    let last = widest.chars().last().unwrap_or('-');
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err("an S3 bucket name must begin and end with a letter or digit".into());
    }
    if widest.contains("..") || widest.contains(".-") || widest.contains("-.") {
        return Err("an S3 bucket name may not contain `..`, `.-` or `-.`".into());
    }
    if widest.split('.').count() == 4 && widest.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Err("an S3 bucket name may not look like an IP address".into());
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if widest.starts_with(prefix) {
            return Err(format!("an S3 bucket name may not begin with `{prefix}`"));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if widest.ends_with(suffix) {
            return Err(format!("an S3 bucket name may not end with `{suffix}`"));
        }
    }
    Ok(())
}

/// Glue database and table names. Glue folds names to lower case when it stores them, and
/// Athena accepts only lower-case letters, digits and underscores; anything else would make
/// `terraform plan` show a change on every run or break the compaction query.
pub fn glue_name(name: &str, max: usize) -> Rule {
    if name.is_empty() {
        return Err("a Glue name may not be empty".into());
    }
    if name.len() > max {
        return Err(format!(
            "a Glue name here may have at most {max} characters, not {}",
            name.len()
        ));
    }
    if name.chars().any(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(format!(
            "Glue stores names in lower case; write `{}`",
            name.to_ascii_lowercase()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(format!(
            "a Glue name may hold only lower-case letters, digits and underscores, not `{c}`"
        ));
    }
    Ok(())
}

/// An S3 folder (key prefix without slashes at either end), safe inside HCL and SQL strings.
/// The folders the stack keeps in the access-log bucket beside the tables' (the compaction
/// module's `manifest_folder`, the billing module's `invoices_prefix`). A table's folder must
/// neither be one of them nor nest with one: Athena reads every object under a table's
/// location as data, and the compaction empties the Parquet hour folders.
pub const STACK_FOLDERS: [&str; 3] = ["compaction-manifests", "usage-events-manifests", "invoices"];

/// A table's data folder apart from [`STACK_FOLDERS`].
pub fn apart_from_stack_folders(name: &str) -> Rule {
    let nests = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/"));
    match STACK_FOLDERS
        .iter()
        .find(|own| nests(name, own) || nests(own, name))
    {
        Some(own) => Err(format!(
            "may not be, contain or lie in `{own}/`, which the stack keeps for itself in the same bucket"
        )),
        None => Ok(()),
    }
}

pub fn folder(name: &str) -> Rule {
    if name.is_empty() {
        return Err("a folder name may not be empty".into());
    }
    if name.starts_with('/') || name.ends_with('/') {
        return Err("a folder name may not begin or end with `/`".into());
    }
    if name
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err("a folder name may not contain empty, `.` or `..` segments".into());
    }
    if let Some(c) = name.chars().find(|c| !safe_key_char(*c) && *c != '/') {
        return Err(format!(
            "a folder name may hold only letters, digits and `_ . - =`, not `{c}`"
        ));
    }
    Ok(())
}

fn safe_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '=')
}

/// Firehose's `amazon-apigateway-…` stream name (API Gateway requires the prefix).
pub fn delivery_stream_name(full: &str) -> Rule {
    if full.len() > 64 {
        return Err(format!(
            "the delivery stream name `{full}` has {} characters; Firehose allows 64",
            full.len()
        ));
    }
    if let Some(c) = full
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "a delivery stream name may hold only letters, digits, `_`, `.` and `-`, not `{c}`"
        ));
    }
    Ok(())
}

/// What the stack appends to the workgroup's name for its functions' workgroup.
pub const FUNCTIONS_WORKGROUP_SUFFIX: &str = "-functions";

/// Athena workgroup names (1 to 128 characters, the functions' workgroup's suffix included).
pub fn workgroup_name(name: &str) -> Rule {
    let max = 128 - FUNCTIONS_WORKGROUP_SUFFIX.len();
    if !(1..=max).contains(&name.len()) {
        return Err(format!(
            "an Athena workgroup name must have 1 to {max} characters (the functions' workgroup adds `{FUNCTIONS_WORKGROUP_SUFFIX}` within Athena's 128), not {}",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "an Athena workgroup name may hold only letters, digits, `_`, `.` and `-`, not `{c}`"
        ));
    }
    Ok(())
}

/// Where a Firehose prefix is used: the error prefix may also name the error type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PrefixKind {
    Data,
    Error,
}

/// Firehose custom-prefix expressions: `!{timestamp:…}` and `!{firehose:random-string}`, plus
/// `!{firehose:error-output-type}` in the error prefix. Dynamic partitioning is not enabled,
/// so `partitionKeyFrom…` namespaces are refused.
pub fn firehose_prefix(prefix: &str, kind: PrefixKind) -> Result<Vec<String>, String> {
    let mut expressions = Vec::new();
    let mut rest = prefix;
    loop {
        let Some(start) = rest.find("!{") else {
            check_literal(rest)?;
            break;
        };
        check_literal(&rest[..start])?;
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unterminated expression `{}`", &rest[start..]))?;
        let inner = &after[..end];
        let known = match inner.split_once(':') {
            Some(("timestamp", format)) => !format.is_empty(),
            Some(("firehose", "random-string")) => true,
            Some(("firehose", "error-output-type")) => kind == PrefixKind::Error,
            _ => false,
        };
        if !known {
            let allowed = match kind {
                PrefixKind::Data => "`!{timestamp:…}` and `!{firehose:random-string}`",
                PrefixKind::Error => {
                    "`!{timestamp:…}`, `!{firehose:random-string}` and `!{firehose:error-output-type}`"
                }
            };
            return Err(format!(
                "unknown expression `!{{{inner}}}`; allowed here: {allowed}"
            ));
        }
        expressions.push(inner.to_string());
        rest = &after[end + 1..];
    }
    if prefix.len() > 1024 {
        return Err("a Firehose prefix may have at most 1024 characters".into());
    }
    Ok(expressions)
}

fn check_literal(text: &str) -> Rule {
    match text.chars().find(|c| !safe_key_char(*c) && *c != '/') {
        Some(c) => Err(format!(
            "a prefix may hold only letters, digits, `/ _ . - =` and `!{{…}}` expressions, not `{c}`"
        )),
        None => Ok(()),
    }
}

/// The only prefix layout both Glue tables' partition projection reads: Firehose's arrival
/// time, zero-padded, one folder per hour.
pub fn hourly_layout(folder: &str) -> String {
    format!(
        "{folder}/year=!{{timestamp:yyyy}}/month=!{{timestamp:MM}}/day=!{{timestamp:dd}}/hour=!{{timestamp:HH}}/"
    )
}

/// CloudWatch Logs accepts only these retention periods.
pub const LOG_RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// A KMS key ARN. Aliases are refused: CloudWatch Logs and key grants need the key itself.
pub fn kms_key_arn(arn: &str) -> Rule {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let key_id = parts.get(5).and_then(|r| r.strip_prefix("key/"));
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "kms"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && key_id.is_some_and(|id| {
            !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{arn}` is not a KMS key ARN (arn:aws:kms:us-east-1:123456789012:key/<key id>; aliases are not accepted)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        assert!(bucket_name("apigw-access-log-to-firehose-{region}-{account-id}").is_ok());
        assert!(bucket_name("my-bucket.logs").is_ok());
        assert!(bucket_name("ab").unwrap_err().contains("3 to 63"));
        assert!(bucket_name("My-Bucket").unwrap_err().contains("`M`"));
        assert!(bucket_name("-bucket")
            .unwrap_err()
            .contains("begin and end"));
        assert!(bucket_name("a..b").unwrap_err().contains("`..`"));
        assert!(bucket_name("192.168.5.4")
            .unwrap_err()
            .contains("IP address"));
        assert!(bucket_name("xn--bucket").unwrap_err().contains("xn--"));
        assert!(bucket_name("bucket-s3alias")
            .unwrap_err()
            .contains("-s3alias"));
        assert!(bucket_name("logs-{stage}").unwrap_err().contains("{stage}"));
        assert!(bucket_name("logs-{region")
            .unwrap_err()
            .contains("unterminated"));
        let long = format!("{}-{{region}}-{{account-id}}", "a".repeat(36));
        assert!(bucket_name(&long).unwrap_err().contains("3 to 63"));
    }

    #[test]
    fn glue_names() {
        assert!(glue_name("restapi_access_log_json", 255).is_ok());
        assert!(glue_name("MyDatabase", 255)
            .unwrap_err()
            .contains("`mydatabase`"));
        assert!(glue_name("my-db", 255).unwrap_err().contains("`-`"));
        assert!(glue_name("", 255).is_err());
        assert!(glue_name(&"a".repeat(256), 255)
            .unwrap_err()
            .contains("at most 255"));
    }

    #[test]
    fn prefixes() {
        let p = hourly_layout("json-data");
        assert_eq!(firehose_prefix(&p, PrefixKind::Data).unwrap().len(), 4);
        let e = "error/!{timestamp:yyyy}/!{firehose:error-output-type}";
        assert_eq!(firehose_prefix(e, PrefixKind::Error).unwrap().len(), 2);
        assert!(firehose_prefix(e, PrefixKind::Data)
            .unwrap_err()
            .contains("error-output-type"));
        assert!(firehose_prefix("a/!{partitionKeyFromQuery:x}/", PrefixKind::Data).is_err());
        assert!(firehose_prefix("a/!{timestamp:yyyy/", PrefixKind::Data)
            .unwrap_err()
            .contains("unterminated"));
        assert!(firehose_prefix("a/${x}/", PrefixKind::Data)
            .unwrap_err()
            .contains("`$`"));
    }

    #[test]
    fn kms_keys() {
        let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert!(kms_key_arn(key).is_ok());
        assert!(kms_key_arn("arn:aws:kms:eu-west-1:123456789012:alias/billing").is_err());
        assert!(kms_key_arn("arn:aws:kms::123456789012:key/abc").is_err());
        assert!(kms_key_arn("arn:aws:kms:eu-west-1:12345:key/abc").is_err());
        assert!(kms_key_arn("arn:aws:kms:eu-west-1:123456789012:key/").is_err());
        assert!(kms_key_arn("1234abcd-12ab-34cd-56ef-1234567890ab").is_err());
    }

    #[test]
    fn names() {
        assert!(delivery_stream_name("amazon-apigateway-random-gen").is_ok());
        assert!(delivery_stream_name("amazon-apigateway-random gen")
            .unwrap_err()
            .contains("` `"));
        assert!(workgroup_name("SaaSMeteringDemo").is_ok());
        assert!(workgroup_name("a/b").is_err());
        // Athena's limit is 128 for both workgroups, the functions' one with its suffix.
        assert!(workgroup_name(&"w".repeat(118)).is_ok());
        assert!(workgroup_name(&"w".repeat(119))
            .unwrap_err()
            .contains("1 to 118 characters"));
        assert!(folder("json-data").is_ok());
        assert!(folder("a/b").is_ok());
        assert!(folder("/a").is_err());
        assert!(folder("a//b").is_err());
        assert!(folder("a'b").is_err());
    }
}
