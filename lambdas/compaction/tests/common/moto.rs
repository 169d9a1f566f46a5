//! What the job gets in moto: the environment and IAM policy the generated compaction module
//! gives it (rendered from `terraform/modules/compaction/main.tf` at test time), and its
//! queries' results. The server and its clients are [`lambda_support::moto`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use compaction::Settings;
use lambda_support::moto::iam_policy::{Inputs, Module, Policy};
use lambda_support::moto::{ACCOUNT_ID, REGION};
use serde_json::{json, Value};

use super::ALL_COLUMNS;

/// The function's name in the root module (`module.compaction`'s `function`), also its
/// role's name here.
pub const FUNCTION_NAME: &str = "MergeSmallFilesWithAthenaCTAS";
pub const WORK_GROUP: &str = "metering-wg";
pub const BUCKET: &str = "usage-bucket";
pub const RESULTS_BUCKET: &str = "athena-results";
pub const DATABASE: &str = "metering";

/// The generated module the function's policy and environment come from.
pub fn module_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../terraform/modules/compaction/main.tf")
}

/// The module's inputs, as `terraform/main.tf` passes them, with this test's names for the
/// buckets, work group and tables. A variable the module gains or renames is named by the
/// renderer's error: add it here.
pub fn module_inputs() -> Inputs {
    let columns: Vec<&str> = ALL_COLUMNS.split(',').collect();
    Inputs::aws("aws", REGION, ACCOUNT_ID)
        .var("schedule_expression", "cron(10 * * * ? *)")
        .var("delay_minutes", 10)
        .var("data_bucket_name", BUCKET)
        .var("data_bucket_arn", format!("arn:aws:s3:::{BUCKET}"))
        .var("data_source", "access_logs")
        .var("late_arrival_hours", Value::Null)
        .var("column_names", json!(columns))
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
        .var("log_retention_in_days", 365)
        .var("kms_key_arn", Value::Null)
        .var(
            "json_table",
            json!({"database": DATABASE, "name": "api_access_json", "folder": "json-data"}),
        )
        .var(
            "parquet_table",
            json!({"database": DATABASE, "name": "api_access_parquet", "folder": "parquet-data"}),
        )
        .var(
            "function",
            json!({
                "function_name": FUNCTION_NAME,
                "description": "Merge small files in S3 with Athena CTAS query",
                "handler": "bootstrap",
                "zip_path": "artifacts/compaction.zip",
                "memory_size": 256,
                "timeout": 900,
            }),
        )
}

/// The late-arrival hours the events instance is given in these tests.
pub const EVENTS_LATE_ARRIVAL_HOURS: u32 = 3;

/// The module's inputs for the instance that compacts usage events (`data_source =
/// "usage_events"`), with its own tables and folders, as `terraform/main.tf` passes them.
pub fn events_module_inputs() -> Inputs {
    module_inputs()
        .var("data_source", "usage_events")
        .var("late_arrival_hours", EVENTS_LATE_ARRIVAL_HOURS)
        .var("column_names", json!([]))
        .var(
            "json_table",
            json!({"database": DATABASE, "name": "usage_events_json", "folder": "usage-events"}),
        )
        .var(
            "parquet_table",
            json!({"database": DATABASE, "name": "usage_events_parquet", "folder": "usage-events-parquet"}),
        )
}

fn module() -> Module {
    Module::load(module_path()).unwrap_or_else(|e| panic!("{e}"))
}

/// The policy the module attaches to the function's role (`data.aws_iam_policy_document
/// .compaction`).
pub fn function_policy() -> Policy {
    policy_with(&module_inputs())
}

/// The policy of the instance rendered with `inputs`.
pub fn policy_with(inputs: &Inputs) -> Policy {
    module()
        .policy_document("compaction", inputs)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The environment the module gives the function (`module.function.environment`).
pub fn function_environment() -> BTreeMap<String, String> {
    environment_with(&module_inputs())
}

/// The environment of the instance rendered with `inputs`.
pub fn environment_with(inputs: &Inputs) -> BTreeMap<String, String> {
    let environment = module()
        .module_argument("function", "environment", inputs)
        .unwrap_or_else(|e| panic!("{e}"));
    environment
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
        .collect()
}

/// The function's configuration from that environment, as Lambda would give it.
pub fn function_config() -> Settings {
    config_from(function_environment())
}

/// The configuration Lambda gives the instance whose environment is `environment`.
pub fn config_from(environment: BTreeMap<String, String>) -> Settings {
    Settings::from_lookup(|name| environment.get(name).cloned()).unwrap_or_else(|e| {
        panic!("the environment {environment:?} the compaction module gives is refused: {e}")
    })
}

/// A moto query result as the count query gives it: header row, then the counts.
pub fn count_result(rows_in: u64, rows_out: u64) -> Value {
    let cell = |v: String| json!({ "VarCharValue": v });
    let column = |name: &str| json!({"Name": name, "Label": name, "Type": "bigint"});
    json!({
        "rows": [
            {"Data": [cell("rows_in".into()), cell("rows_out".into())]},
            {"Data": [cell(rows_in.to_string()), cell(rows_out.to_string())]},
        ],
        "column_info": [column("rows_in"), column("rows_out")],
    })
}

/// A moto query result as the count query of usage events gives it.
pub fn event_count_result(
    rows_in: u64,
    rows_out: u64,
    rows_malformed: u64,
    rows_outside_windows: u64,
) -> Value {
    let cell = |v: String| json!({ "VarCharValue": v });
    let column = |name: &str| json!({"Name": name, "Label": name, "Type": "bigint"});
    let names = [
        "rows_in",
        "rows_out",
        "rows_malformed",
        "rows_outside_windows",
    ];
    let counts = [rows_in, rows_out, rows_malformed, rows_outside_windows];
    json!({
        "rows": [
            {"Data": names.map(|n| cell(n.to_owned()))},
            {"Data": counts.map(|n| cell(n.to_string()))},
        ],
        "column_info": names.map(column),
    })
}

/// The answer moto gives a query with nothing queued: no rows.
pub fn no_result() -> Value {
    json!({"rows": [], "column_info": []})
}
