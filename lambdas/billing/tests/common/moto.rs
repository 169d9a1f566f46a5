//! What the function gets in moto: the environment and IAM policy the generated billing
//! module gives it (rendered from `tests/golden/metering/modules/billing/main.tf` at test
//! time), what the usage query gets from moto's Athena, and clients for moto without
//! interceptors. The server is [`lambda_support::moto`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use aws_sdk_athena::config::{Credentials, SharedInterceptor};
use billing::Settings;
use lambda_support::moto::iam_policy::{Inputs, Module, Policy};
use lambda_support::moto::{self, MotoServer, ACCOUNT_ID, REGION};
use serde_json::{json, Value};

use super::{
    config_json, events_config_json, DATABASE, EVENTS_JSON_FOLDER, EVENTS_MANIFEST_FOLDER,
    EVENTS_TABLE, JSON_FOLDER, MANIFEST_FOLDER, TABLE, WORK_GROUP,
};

/// The function's name in the root module (`module.billing`'s `function`), also its role's
/// name here.
pub const FUNCTION_NAME: &str = "MeteringMonthlyBilling";
/// The one bucket of the module: the Parquet access logs, the config object, the invoices.
pub const BUCKET: &str = "metering-data";
pub const RESULTS_BUCKET: &str = "athena-results";

/// The generated module the function's policy and environment come from (the golden tree
/// of `examples/metering.json`: `terraform/` has no billing module).
pub fn module_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden/metering/modules/billing/main.tf")
}

/// The module's inputs, as the golden tree's `main.tf` passes them, with this test's names
/// for the bucket, work group and tables, and no usage events. A variable the module gains or
/// renames is named by the renderer's error: add it here.
pub fn module_inputs() -> Inputs {
    inputs(&config_json(), Value::Null)
}

/// The Parquet folder of the usage events' table (the function reads no object of it; the
/// policy names it).
pub const EVENTS_PARQUET_FOLDER: &str = "usage-events-parquet";

/// [`module_inputs`] of a stack with a `usage_events` section: the module's `events` (the
/// events' table and folders, in the module's bucket) and a config with an events meter.
pub fn module_inputs_with_events() -> Inputs {
    inputs(
        &events_config_json(),
        json!({
            "database": DATABASE,
            "name": EVENTS_TABLE,
            "folder": EVENTS_PARQUET_FOLDER,
            "json_folder": EVENTS_JSON_FOLDER,
            "manifest_folder": EVENTS_MANIFEST_FOLDER,
        }),
    )
}

fn inputs(config: &Value, events: Value) -> Inputs {
    Inputs::aws("aws", REGION, ACCOUNT_ID)
        .var("schedule_expression", "cron(10 4 1 * ? *)")
        .var("bucket_name", BUCKET)
        .var("bucket_arn", format!("arn:aws:s3:::{BUCKET}"))
        .var("workgroup_name", WORK_GROUP)
        .var(
            "workgroup_arn",
            format!("arn:aws:athena:{REGION}:{ACCOUNT_ID}:workgroup/{WORK_GROUP}"),
        )
        .var("results_bucket_name", RESULTS_BUCKET)
        .var(
            "results_bucket_arn",
            format!("arn:aws:s3:::{RESULTS_BUCKET}"),
        )
        .var("projection_first_year", 2020)
        .var("projection_last_year", 2099)
        .var("grant_lake_formation", true)
        .var("log_retention_in_days", 365)
        .var("kms_key_arn", Value::Null)
        .var("config_json", config.to_string())
        .var(
            "usage_table",
            json!({"database": DATABASE, "name": TABLE, "folder": "parquet-data"}),
        )
        .var("json_folder", JSON_FOLDER)
        .var("manifest_folder", MANIFEST_FOLDER)
        .var("events", events)
        .var(
            "invoices_table",
            json!({"database": DATABASE, "name": "invoices"}),
        )
        .var(
            "function",
            json!({
                "function_name": FUNCTION_NAME,
                "description": "Bill a month of API usage",
                "handler": "bootstrap",
                "zip_path": "artifacts/billing.zip",
                "memory_size": 512,
                "timeout": 900,
            }),
        )
}

fn module() -> Module {
    Module::load(module_path()).unwrap_or_else(|e| panic!("{e}"))
}

/// The policy the module attaches to the function's role (`data.aws_iam_policy_document
/// .billing`).
pub fn function_policy() -> Policy {
    policy_of(&module_inputs())
}

/// [`function_policy`] of a stack with usage events ([`module_inputs_with_events`]).
pub fn function_policy_with_events() -> Policy {
    policy_of(&module_inputs_with_events())
}

fn policy_of(inputs: &Inputs) -> Policy {
    module()
        .policy_document("billing", inputs)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The environment the module gives the function (`module.function.environment`), with the
/// `AWS_REGION` Lambda adds.
pub fn function_environment() -> BTreeMap<String, String> {
    environment_of(&module_inputs())
}

fn environment_of(inputs: &Inputs) -> BTreeMap<String, String> {
    let environment = module()
        .module_argument("function", "environment", inputs)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut variables: BTreeMap<String, String> = environment
        .as_object()
        .unwrap_or_else(|| panic!("the function's environment is {environment}, not an object"))
        .iter()
        .map(|(name, value)| {
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (name.clone(), value)
        })
        .collect();
    variables.insert("AWS_REGION".to_owned(), REGION.to_owned());
    variables
}

/// The function's settings from that environment.
pub fn function_settings() -> Settings {
    settings_of(function_environment())
}

/// [`function_settings`] of a stack with usage events ([`module_inputs_with_events`]).
pub fn function_settings_with_events() -> Settings {
    settings_of(environment_of(&module_inputs_with_events()))
}

fn settings_of(environment: BTreeMap<String, String>) -> Settings {
    Settings::from_lookup(|name| environment.get(name).cloned()).unwrap_or_else(|e| {
        panic!("the environment {environment:?} the billing module gives is refused: {e}")
    })
}

/// A moto query result: every row's values as VarCharValue, the first row the header (as
/// Athena returns a SELECT); the first column `varchar`, the others `bigint`.
pub fn query_result(rows: &[Vec<&str>]) -> Value {
    let cell = |v: &str| json!({ "VarCharValue": v });
    let header = rows.first().cloned().unwrap_or_default();
    let column_info: Vec<Value> = header
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let kind = if i == 0 { "varchar" } else { "bigint" };
            json!({"Name": name, "Label": name, "Type": kind})
        })
        .collect();
    json!({
        "rows": rows
            .iter()
            .map(|row| json!({"Data": row.iter().map(|v| cell(v)).collect::<Vec<_>>()}))
            .collect::<Vec<_>>(),
        "column_info": column_info,
    })
}

/// An Athena client for moto with the admin's credentials ([`moto::athena_client`]).
pub async fn athena_client(server: &MotoServer) -> aws_sdk_athena::Client {
    moto::athena_client(server, None::<SharedInterceptor>).await
}

/// The S3 client for moto with the admin's credentials ([`moto::s3_client`]).
pub async fn s3_client(server: &MotoServer) -> aws_sdk_s3::Client {
    moto::s3_client(server, None::<SharedInterceptor>).await
}

/// An Athena client for moto as `credentials` (the function's role).
pub async fn athena_client_as(
    server: &MotoServer,
    credentials: &Credentials,
) -> aws_sdk_athena::Client {
    moto::athena_client_as(server, credentials, None::<SharedInterceptor>).await
}

/// The S3 client for moto as `credentials` (the function's role).
pub async fn s3_client_as(server: &MotoServer, credentials: &Credentials) -> aws_sdk_s3::Client {
    moto::s3_client_as(server, credentials, None::<SharedInterceptor>).await
}
