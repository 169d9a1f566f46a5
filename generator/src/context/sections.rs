//! One type per context section. The reference sample's sections keep its key names; this
//! project's own sections are optional and every key in them has a default.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `firehose`: the access-log delivery stream (reference sample).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Firehose {
    pub stream_name: String,
    pub buffer_size_in_mbs: i64,
    pub buffer_interval_in_seconds: i64,
    pub s3_bucket: Option<String>,
    pub s3_output_folder: String,
    pub prefix: String,
    pub error_output_prefix: String,
}

/// `athena` (reference sample).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Athena {
    pub work_group_name: Option<String>,
    pub query_results_s3_bucket: Option<String>,
}

/// `merge_small_files_lambda_env`: the compaction job's settings (reference sample).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeSmallFilesEnv {
    #[serde(rename = "OLD_DATABASE")]
    pub old_database: String,
    #[serde(rename = "OLD_TABLE_NAME")]
    pub old_table_name: String,
    #[serde(rename = "NEW_DATABASE")]
    pub new_database: String,
    #[serde(rename = "NEW_TABLE_NAME")]
    pub new_table_name: String,
    #[serde(rename = "NEW_TABLE_S3_FOLDER_NAME")]
    pub new_table_s3_folder_name: String,
    #[serde(rename = "COLUMN_NAMES")]
    pub column_names: String,
}

/// `deployment`: settings that apply to every resource.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Deployment {
    /// Added to every resource through the provider's `default_tags`.
    pub tags: BTreeMap<String, String>,
    /// Lets `terraform destroy` delete the buckets with their objects.
    pub force_destroy: bool,
    /// Retention of every log group the stack creates.
    pub log_retention_in_days: i64,
    /// A customer-managed KMS key (key ARN) for the buckets, Firehose, log groups, Lambda
    /// environment variables, Athena results and the dead-letter queue. Without it, data is
    /// encrypted with AWS-owned or AWS-managed keys (SSE-S3).
    pub kms_key_arn: Option<String>,
    /// An existing bucket that receives S3 server access logs of both buckets. It cannot be
    /// one of this stack's buckets: a bucket logging to itself logs its own log writes.
    pub s3_access_log_bucket: Option<String>,
    /// Days the raw JSON access logs are kept (they are compacted to Parquet hourly; the
    /// Parquet data, which invoices are built from, is kept until deleted).
    pub json_retention_in_days: i64,
    /// Days Athena query results are kept.
    pub query_results_retention_in_days: i64,
    /// Days overwritten or deleted object versions are kept in both (versioned) buckets.
    pub noncurrent_version_retention_in_days: i64,
}

impl Default for Deployment {
    fn default() -> Self {
        Deployment {
            tags: BTreeMap::new(),
            force_destroy: false,
            log_retention_in_days: 365,
            kms_key_arn: None,
            s3_access_log_bucket: None,
            json_retention_in_days: 90,
            query_results_retention_in_days: 30,
            noncurrent_version_retention_in_days: 30,
        }
    }
}

/// `api`: the metered REST API.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Api {
    pub name: String,
    pub stage_name: String,
    /// The sample's second stage `dev`, with access logs in CloudWatch instead of Firehose.
    pub dev_stage: bool,
    /// Sets the region-wide API Gateway CloudWatch role (`aws_api_gateway_account`), which
    /// execution logging needs. It changes an account setting, hence off by default.
    pub cloudwatch_account_role: bool,
    pub throttling_rate_limit: i64,
    pub throttling_burst_limit: i64,
}

impl Default for Api {
    fn default() -> Self {
        Api {
            name: "random-strings".into(),
            stage_name: "prod".into(),
            dev_stage: false,
            cloudwatch_account_role: false,
            throttling_rate_limit: 100,
            throttling_burst_limit: 200,
        }
    }
}

/// `cognito`: the user pool behind the API's authorizer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cognito {
    pub user_pool_name: String,
}

impl Default for Cognito {
    fn default() -> Self {
        Cognito {
            user_pool_name: "UserPoolForApiGateway".into(),
        }
    }
}

/// `lake_formation`: grants for the compaction job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LakeFormation {
    /// Grant the compaction role its Lake Formation permissions (the sample's two grants).
    pub grant_permissions: bool,
    /// Refused when non-empty: earlier versions managed the account's data-lake
    /// administrators, which the provider resets on destroy. Kept to say so at its path.
    pub admins: Vec<String>,
}

impl Default for LakeFormation {
    fn default() -> Self {
        LakeFormation {
            grant_permissions: true,
            admins: Vec::new(),
        }
    }
}

/// `compaction`: when the hourly JSON-to-Parquet job runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Compaction {
    /// Default: `cron(<delay_minutes> * * * ? *)`, every hour as soon as the last one is complete.
    pub schedule_expression: Option<String>,
    /// Minutes after an hour ends before its folder is compacted: Firehose writes an hour's
    /// last records into that hour's folder up to its buffer interval later.
    pub delay_minutes: i64,
}

impl Default for Compaction {
    fn default() -> Self {
        Compaction {
            schedule_expression: None,
            delay_minutes: 10,
        }
    }
}

/// `catalog`: partition projection range of both Glue tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Catalog {
    pub projection_first_year: i64,
    pub projection_last_year: i64,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog {
            projection_first_year: 2020,
            projection_last_year: 2099,
        }
    }
}

/// `metering`: tenants, meters and price plans. Without `meters` and `pricing` the stack logs
/// tenants but bills nobody.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Metering {
    /// The Cognito claim holding the caller's tenant id. A `custom:` claim is defined as a
    /// custom attribute of the user pool that the app client cannot write.
    pub tenant_claim: String,
    /// Hours of the next month's folders read when billing a month (1 to 22).
    pub late_arrival_hours: i64,
    /// When the billing function runs; default: on the 1st of each month, once the late
    /// hours are compacted.
    pub schedule_expression: Option<String>,
    /// The Glue table over the invoices, in the Parquet table's database.
    pub invoices_table: String,
    /// Meter name → meter.
    pub meters: Option<BTreeMap<String, metering::Meter>>,
    /// The price plans (see the `pricing` crate).
    pub pricing: Option<metering::pricing::Catalog>,
}

impl Default for Metering {
    fn default() -> Self {
        Metering {
            tenant_claim: "custom:tenant_id".into(),
            late_arrival_hours: i64::from(metering::DEFAULT_LATE_ARRIVAL_HOURS),
            schedule_expression: None,
            invoices_table: "invoices".into(),
            meters: None,
            pricing: None,
        }
    }
}

/// `usage_events`: the stream the SaaS backend sends its usage events to (custom metrics).
/// Deployed when the section is present, `{}` for every default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UsageEvents {
    /// The Firehose stream's name.
    pub stream_name: String,
    /// The folder of the access-log bucket the events are delivered to, hourly.
    pub s3_output_folder: String,
    /// Firehose buffer size in MiB before a file is written.
    pub buffer_size_in_mbs: i64,
    /// Firehose buffer interval in seconds before a file is written.
    pub buffer_interval_in_seconds: i64,
    /// The Glue table over the delivered JSON lines, in `OLD_DATABASE`.
    pub json_table_name: String,
    /// The Glue table of the hourly Parquet compaction, in `NEW_DATABASE`.
    pub parquet_table_name: String,
    /// The folder of the access-log bucket the compaction writes the Parquet files to.
    pub parquet_folder: String,
}

impl Default for UsageEvents {
    fn default() -> Self {
        UsageEvents {
            stream_name: "usage-events".into(),
            s3_output_folder: "usage-events".into(),
            buffer_size_in_mbs: 64,
            buffer_interval_in_seconds: 300,
            json_table_name: "usage_events_json".into(),
            parquet_table_name: "usage_events_parquet".into(),
            parquet_folder: "usage-events-parquet".into(),
        }
    }
}
