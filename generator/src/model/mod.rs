//! The validated deployment: every name, bucket, folder, column and setting the Terraform
//! tree needs, resolved once. `Model::build` applies every rule and reports all violations
//! together, each with its file and JSON path.

mod lambda;
pub mod metering;
mod modules;
pub mod rules;

pub use lambda::{LambdaCrate, LambdaSpec, BILLING, MERGE_SMALL_FILES, RANDOM_STRINGS};
pub use modules::MODULES;

use crate::context::{self, Context};
use crate::diagnostic::{did_you_mean, Diagnostic, Diagnostics};
use crate::fields::{self, FIELDS};
use rules::PrefixKind;
use serde::Serialize;
use std::collections::BTreeSet;

pub const DELIVERY_STREAM_PREFIX: &str = "amazon-apigateway-";
pub const DEFAULT_ACCESS_LOG_BUCKET: &str = "apigw-access-log-to-firehose-{region}-{account-id}";
pub const DEFAULT_RESULTS_BUCKET: &str = "aws-athena-query-results-{region}-{account-id}";
/// Athena's limit on enumerated partitions per query; both tables project one per hour.
const MAX_PROJECTED_PARTITIONS: i64 = 1_000_000;
const HOURS_PER_PROJECTED_YEAR: i64 = 12 * 31 * 24;

#[derive(Debug, Clone, Serialize)]
pub struct Model {
    pub deployment: context::Deployment,
    pub access_logs: AccessLogs,
    pub athena: AthenaModel,
    pub catalog: CatalogModel,
    pub compaction: CompactionModel,
    pub api: ApiModel,
    pub cognito: CognitoModel,
    pub lake_formation: LakeFormationModel,
    pub metering: metering::MeteringModel,
    pub lambdas: Lambdas,
}

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
}

#[derive(Debug, Clone, Serialize)]
pub struct AthenaModel {
    pub workgroup: String,
    pub results_bucket: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub glue_type: String,
    pub comment: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// `json` or `parquet`: the storage format, also the table's key in the catalog module.
    pub format: String,
    pub description: String,
    pub database: String,
    pub name: String,
    pub folder: String,
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CatalogModel {
    /// Distinct database names, sorted.
    pub databases: Vec<String>,
    pub json_table: Table,
    pub parquet_table: Table,
    pub projection_first_year: i64,
    pub projection_last_year: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompactionModel {
    /// `COLUMN_NAMES` as the user wrote them (record key spelling), in order.
    pub column_names: Vec<String>,
    pub schedule_expression: String,
    pub delay_minutes: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiModel {
    #[serde(flatten)]
    pub settings: context::Api,
    pub access_log_format: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CognitoModel {
    pub user_pool_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LakeFormationModel {
    pub grant_permissions: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Lambdas {
    pub random_strings: LambdaSpec,
    pub merge_small_files: LambdaSpec,
    /// Deployed when `metering` has meters and plans.
    pub billing: LambdaSpec,
}

/// Collects violations with the file name attached.
struct Checker<'a> {
    file: &'a str,
    errors: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn check(&mut self, path: &str, rule: rules::Rule) {
        if let Err(message) = rule {
            self.fail(path, message);
        }
    }

    fn fail(&mut self, path: &str, message: impl Into<String>) {
        self.errors
            .push(Diagnostic::at_path(self.file, path, message));
    }

    fn range(&mut self, path: &str, value: i64, min: i64, max: i64) {
        if !(min..=max).contains(&value) {
            self.fail(
                path,
                format!("must be between {min} and {max}, not {value}"),
            );
        }
    }
}

impl Model {
    pub fn build(ctx: &Context, lambdas: &[LambdaCrate]) -> Result<Model, Diagnostics> {
        let mut c = Checker {
            file: &ctx.file,
            errors: Vec::new(),
        };
        let firehose = ctx.firehose.as_ref();
        let env = ctx.merge_small_files_lambda_env.as_ref();
        if firehose.is_none() {
            c.fail("firehose", "required section is missing");
        }
        if env.is_none() {
            c.fail(
                "merge_small_files_lambda_env",
                "required section is missing",
            );
        }
        let workgroup = workgroup(ctx, &mut c);
        let results_bucket = ctx
            .athena
            .as_ref()
            .and_then(|a| a.query_results_s3_bucket.clone())
            .unwrap_or_else(|| DEFAULT_RESULTS_BUCKET.to_string());
        c.check(
            "athena.query_results_s3_bucket",
            rules::bucket_name(&results_bucket),
        );

        let access_logs = firehose.map(|f| access_logs(f, &mut c));
        let catalog = match (env, &access_logs) {
            (Some(env), Some(logs)) => Some(catalog(ctx, env, logs, &mut c)),
            _ => None,
        };
        if let Some(logs) = &access_logs {
            if logs.bucket == results_bucket {
                c.fail(
                    "athena.query_results_s3_bucket",
                    "must differ from the access-log bucket `firehose.s3_bucket`",
                );
            }
        }
        let metering = metering::build(ctx, &mut c);
        let column_names = env.map(|e| {
            let mut names = column_names(&e.column_names, &mut c);
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
        });
        compaction_delay(ctx, firehose, &mut c);
        let schedule = schedule_expression(&ctx.compaction);
        deployment(&ctx.deployment, &mut c);
        if let (Some(logs), Some(target)) = (&access_logs, &ctx.deployment.s3_access_log_bucket) {
            if [&logs.bucket, &results_bucket].contains(&target) {
                c.fail(
                    "deployment.s3_access_log_bucket",
                    "must be a bucket outside this stack: a bucket that logs to itself logs its own log writes",
                );
            }
        }
        api(&ctx.api, &mut c);
        other_sections(ctx, &schedule, &mut c);
        let lambdas = lambda::resolve(lambdas, &mut c.errors);

        match (access_logs, catalog, column_names, workgroup, lambdas) {
            (
                Some(access_logs),
                Some(catalog),
                Some(column_names),
                Some(workgroup),
                Some(lambdas),
            ) if c.errors.is_empty() => Ok(Model {
                deployment: ctx.deployment.clone(),
                access_logs,
                athena: AthenaModel {
                    workgroup,
                    results_bucket,
                },
                catalog: CatalogModel {
                    parquet_table: Table {
                        columns: columns(&column_names),
                        ..catalog.parquet_table
                    },
                    ..catalog
                },
                compaction: CompactionModel {
                    column_names,
                    schedule_expression: schedule,
                    delay_minutes: ctx.compaction.delay_minutes,
                },
                api: ApiModel {
                    settings: ctx.api.clone(),
                    access_log_format: fields::access_log_format(&metering.tenant_claim),
                },
                cognito: CognitoModel {
                    user_pool_name: ctx.cognito.user_pool_name.clone(),
                },
                lake_formation: LakeFormationModel {
                    grant_permissions: ctx.lake_formation.grant_permissions,
                },
                metering,
                lambdas,
            }),
            _ => Err(Diagnostics(c.errors)),
        }
    }
}

fn workgroup(ctx: &Context, c: &mut Checker) -> Option<String> {
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

fn access_logs(f: &context::Firehose, c: &mut Checker) -> AccessLogs {
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
    }
}

const ENV: &str = "merge_small_files_lambda_env";
/// The compaction job's temporary table is `tmp_<NEW_TABLE_NAME>_<YYYYMMDDHH>`.
const TEMP_TABLE_EXTRA: usize = "tmp__2026112800".len();

fn catalog(
    ctx: &Context,
    env: &context::MergeSmallFilesEnv,
    logs: &AccessLogs,
    c: &mut Checker,
) -> CatalogModel {
    c.check(
        &format!("{ENV}.OLD_DATABASE"),
        rules::glue_name(&env.old_database, 255),
    );
    c.check(
        &format!("{ENV}.NEW_DATABASE"),
        rules::glue_name(&env.new_database, 255),
    );
    c.check(
        &format!("{ENV}.OLD_TABLE_NAME"),
        rules::glue_name(&env.old_table_name, 255),
    );
    c.check(
        &format!("{ENV}.NEW_TABLE_NAME"),
        rules::glue_name(&env.new_table_name, 255 - TEMP_TABLE_EXTRA),
    );
    if env.old_database == env.new_database && env.old_table_name == env.new_table_name {
        c.fail(
            &format!("{ENV}.NEW_TABLE_NAME"),
            "the Parquet table must differ from the JSON table `OLD_DATABASE.OLD_TABLE_NAME`",
        );
    }
    let parquet_folder = &env.new_table_s3_folder_name;
    let path = format!("{ENV}.NEW_TABLE_S3_FOLDER_NAME");
    match rules::folder(parquet_folder)
        .and_then(|()| rules::apart_from_stack_folders(parquet_folder))
    {
        Err(e) => c.fail(&path, e),
        Ok(()) if *parquet_folder == logs.folder => c.fail(
            &path,
            format!("must differ from `firehose.s3_output_folder` (`{}`): the Parquet files would mix with the JSON files", logs.folder),
        ),
        Ok(())
            if parquet_folder.starts_with(&format!("{}/", logs.folder))
                || logs.folder.starts_with(&format!("{parquet_folder}/")) =>
        {
            c.fail(
                &path,
                format!("may not be nested in or contain `firehose.s3_output_folder` (`{}`)", logs.folder),
            )
        }
        Ok(()) => {}
    }
    let cat = &ctx.catalog;
    c.range(
        "catalog.projection_first_year",
        cat.projection_first_year,
        1970,
        9999,
    );
    c.range(
        "catalog.projection_last_year",
        cat.projection_last_year,
        1970,
        9999,
    );
    // Out-of-range years are reported above; their span would mean nothing (and overflow).
    let in_range = |y: i64| (1970..=9999).contains(&y);
    let (first, last) = (cat.projection_first_year, cat.projection_last_year);
    match (in_range(first) && in_range(last)).then(|| last - first + 1) {
        Some(years) if years < 1 => c.fail(
            "catalog.projection_last_year",
            "must not be before `projection_first_year`",
        ),
        Some(years) if years * HOURS_PER_PROJECTED_YEAR > MAX_PROJECTED_PARTITIONS => c.fail(
            "catalog.projection_last_year",
            format!(
                "{years} years of hourly partitions exceed Athena's 1,000,000 projected partitions; use at most {}",
                MAX_PROJECTED_PARTITIONS / HOURS_PER_PROJECTED_YEAR
            ),
        ),
        _ => {}
    }
    let databases: BTreeSet<String> = [env.old_database.clone(), env.new_database.clone()].into();
    CatalogModel {
        databases: databases.into_iter().collect(),
        json_table: Table {
            format: "json".into(),
            description: "API access logs as Firehose delivers them: JSON lines, one folder per arrival hour.".into(),
            database: env.old_database.clone(),
            name: env.old_table_name.clone(),
            folder: logs.folder.clone(),
            columns: columns(&FIELDS.iter().map(|f| f.name.to_string()).collect::<Vec<_>>()),
        },
        parquet_table: Table {
            format: "parquet".into(),
            description: "API access logs compacted hourly into Snappy Parquet.".into(),
            database: env.new_database.clone(),
            name: env.new_table_name.clone(),
            folder: parquet_folder.clone(),
            columns: Vec::new(),
        },
        projection_first_year: cat.projection_first_year,
        projection_last_year: cat.projection_last_year,
    }
}

/// Fields the sample's `COLUMN_NAMES` cannot list (they are this project's additions) are
/// always compacted: tenants are what usage is billed by.
fn compacted_added_fields(names: &mut Vec<String>) {
    for added in fields::ADDED_FIELDS {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(added)) {
            names.push(added.to_string());
        }
    }
}

/// Columns for field names already checked against the catalogue.
fn columns(names: &[String]) -> Vec<Column> {
    names
        .iter()
        .filter_map(|n| fields::find(n))
        .map(|f| Column {
            name: f.column(),
            glue_type: f.field_type.glue_type().to_string(),
            comment: f.description.to_string(),
        })
        .collect()
}

fn column_names(list: &str, c: &mut Checker) -> Vec<String> {
    let path = format!("{ENV}.COLUMN_NAMES");
    let mut seen = BTreeSet::new();
    let mut names = Vec::new();
    for (i, raw) in list.split(',').enumerate() {
        let name = raw.trim();
        let position = i + 1;
        if name.is_empty() {
            c.fail(&path, format!("column {position} is empty"));
        } else if fields::find(name).is_none() {
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

fn deployment(d: &context::Deployment, c: &mut Checker) {
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

fn api(a: &context::Api, c: &mut Checker) {
    let name_ok = |s: &str, extra: &[char]| {
        !s.is_empty()
            && s.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || extra.contains(&ch))
    };
    if !name_ok(&a.name, &['-', '_', '.', ' ']) || a.name.len() > 128 {
        c.fail(
            "api.name",
            "must have 1 to 128 letters, digits, spaces or `- _ .`",
        );
    }
    // The stage's Lambda permission is `AllowInvokeFromStage-<stage>`, and a statement id has
    // at most 100 characters (Lambda API Reference, AddPermission, StatementId).
    if !name_ok(&a.stage_name, &['-', '_']) || a.stage_name.len() > 79 {
        c.fail(
            "api.stage_name",
            "must have 1 to 79 letters, digits, `-` or `_` (its Lambda permission is `AllowInvokeFromStage-<stage>`, and Lambda takes statement ids of at most 100 characters)",
        );
    }
    // The `dev` stage logs to `/aws/apigateway/<api name>/dev`, and a log group name is
    // `[.\-_/#A-Za-z0-9]+` (CloudWatch Logs API Reference, CreateLogGroup, logGroupName).
    if a.dev_stage && a.name.contains(' ') {
        c.fail(
            "api.name",
            "may not hold spaces with `api.dev_stage`: the `dev` stage logs to `/aws/apigateway/<api name>/dev`, and CloudWatch log group names have no spaces",
        );
    }
    if a.dev_stage && a.stage_name == "dev" {
        c.fail("api.stage_name", "`dev` is taken by `api.dev_stage`");
    }
    // API Gateway writes a stage's CloudWatch access logs with the account's CloudWatch role
    // ("Set up CloudWatch logging for REST APIs in API Gateway", API Gateway Developer Guide);
    // without it, creating the `dev` stage fails.
    if a.dev_stage && !a.cloudwatch_account_role {
        c.fail(
            "api.dev_stage",
            "the `dev` stage logs to CloudWatch Logs, which API Gateway does with the region's CloudWatch role: set `api.cloudwatch_account_role` to true as well",
        );
    }
    c.range(
        "api.throttling_rate_limit",
        a.throttling_rate_limit,
        1,
        10_000,
    );
    c.range(
        "api.throttling_burst_limit",
        a.throttling_burst_limit,
        1,
        5_000,
    );
}

fn schedule_expression(compaction: &context::Compaction) -> String {
    compaction
        .schedule_expression
        .clone()
        .unwrap_or_else(|| format!("cron({} * * * ? *)", compaction.delay_minutes))
}

/// Firehose names an object's folder after its records' arrival hour but writes it up to one
/// buffer interval later: an hour is complete only once that interval (and a minute for the
/// write itself) has passed after its end.
fn compaction_delay(ctx: &Context, firehose: Option<&context::Firehose>, c: &mut Checker) {
    let delay = ctx.compaction.delay_minutes;
    c.range("compaction.delay_minutes", delay, 0, 59);
    let Some(f) = firehose else { return };
    // An interval out of its range is reported by `access_logs`.
    if !(0..=900).contains(&f.buffer_interval_in_seconds) {
        return;
    }
    let needed_seconds = f.buffer_interval_in_seconds + 60;
    if (0..=59).contains(&delay) && delay * 60 < needed_seconds {
        c.fail(
            "compaction.delay_minutes",
            format!(
                "{delay} minutes after an hour ends is too early: Firehose writes its last records \
                 up to `firehose.buffer_interval_in_seconds` = {} s later; use at least {} minutes",
                f.buffer_interval_in_seconds,
                (needed_seconds + 59) / 60
            ),
        );
    }
}

fn other_sections(ctx: &Context, schedule: &str, c: &mut Checker) {
    let pool = &ctx.cognito.user_pool_name;
    // The app client is `<pool>-client`, and a client name has at most 128 characters
    // (Cognito API Reference, CreateUserPoolClient, ClientName).
    if pool.is_empty()
        || pool.chars().count() > 121
        || !pool
            .chars()
            .all(|ch| ch.is_alphanumeric() || " +=,.@-_".contains(ch))
    {
        c.fail(
            "cognito.user_pool_name",
            "must have 1 to 121 letters, digits, spaces or `+ = , . @ - _` (the app client is `<pool>-client`, and Cognito takes client names of at most 128 characters)",
        );
    }
    if !ctx.lake_formation.admins.is_empty() {
        c.fail(
            "lake_formation.admins",
            "the stack no longer manages the account's data-lake administrators: the provider's \
             `aws_lakeformation_data_lake_settings` replaces every Lake Formation setting of the \
             account and resets them all on `terraform destroy`. Remove the key and make the \
             identity that runs Terraform an administrator before `terraform apply` (README, Deploy)",
        );
    }
    c.check(
        "compaction.schedule_expression",
        rules::schedule_expression(schedule),
    );
}
