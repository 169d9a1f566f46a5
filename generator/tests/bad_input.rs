//! Every kind of bad input: exit code 2, a message naming the file, the JSON path and the
//! rule, and the output folder left exactly as it was.

mod common;

use common::workspace;

use assert_cmd::Command;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn sample() -> Value {
    let text = fs::read_to_string(workspace().join("examples/cdk.context.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), fs::read(e.path()).unwrap()))
        .collect()
}

fn gen(context: &Path, out: &Path) -> assert_cmd::assert::Assert {
    Command::cargo_bin("metering-gen")
        .unwrap()
        .args(["gen", "--no-build", "--context"])
        .arg(context)
        .arg("--out")
        .arg(out)
        .arg("--workspace")
        .arg(workspace())
        .assert()
}

/// Writes `text` as the context, runs `gen` over a previously generated tree, and checks the
/// exit code, that every `expected` fragment is in the message, and that nothing changed.
fn rejects_text(text: &str, expected: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("terraform");
    let good = dir.path().join("good.json");
    fs::write(&good, sample().to_string()).unwrap();
    gen(&good, &out).success();
    fs::write(out.join("backend.tf"), "terraform {}\n").unwrap();
    let before = snapshot(&out);

    let context = dir.path().join("cdk.context.json");
    fs::write(&context, text).unwrap();
    let assert = gen(&context, &out).code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("cdk.context.json"),
        "names the file: {stderr}"
    );
    for fragment in expected {
        assert!(
            stderr.contains(fragment),
            "expected `{fragment}` in:\n{stderr}"
        );
    }
    assert_eq!(snapshot(&out), before, "the output folder must not change");
    stderr
}

fn rejects(mutate: impl FnOnce(&mut Value), expected: &[&str]) -> String {
    let mut ctx = sample();
    mutate(&mut ctx);
    rejects_text(&serde_json::to_string_pretty(&ctx).unwrap(), expected)
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("terraform");
    let assert = gen(&dir.path().join("nope.json"), &out).code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("nope.json") && stderr.contains("cannot read"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is created");
}

#[test]
fn unreadable_file() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("ctx.json");
    fs::create_dir(&folder).unwrap();
    let assert = gen(&folder, &dir.path().join("out")).code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("ctx.json: cannot read the context file"),
        "{stderr}"
    );
}

#[test]
fn invalid_json_names_line_and_column() {
    rejects_text(
        "{\n  \"firehose\": {\n    \"stream_name\": \"x\",,\n",
        &["cdk.context.json:3:24", "invalid JSON"],
    );
}

#[test]
fn top_level_not_an_object() {
    rejects_text("[1, 2]", &["at `$`", "JSON object"]);
}

#[test]
fn wrong_type() {
    rejects(
        |c| c["firehose"]["buffer_size_in_mbs"] = json!("128"),
        &[
            "at `firehose.buffer_size_in_mbs`",
            "wrong type",
            "expected an integer",
        ],
    );
}

#[test]
fn missing_required_key() {
    rejects(
        |c| {
            c["firehose"].as_object_mut().unwrap().remove("prefix");
        },
        &["at `firehose.prefix`", "required key is missing"],
    );
}

#[test]
fn missing_required_section() {
    rejects(
        |c| {
            c.as_object_mut()
                .unwrap()
                .remove("merge_small_files_lambda_env");
        },
        &[
            "at `merge_small_files_lambda_env`",
            "required section is missing",
        ],
    );
}

#[test]
fn buffer_size_below_range() {
    rejects(
        |c| c["firehose"]["buffer_size_in_mbs"] = json!(0),
        &[
            "at `firehose.buffer_size_in_mbs`",
            "between 1 and 128, not 0",
        ],
    );
}

#[test]
fn buffer_size_above_range() {
    rejects(
        |c| c["firehose"]["buffer_size_in_mbs"] = json!(129),
        &[
            "at `firehose.buffer_size_in_mbs`",
            "between 1 and 128, not 129",
        ],
    );
}

#[test]
fn buffer_interval_out_of_range() {
    rejects(
        |c| c["firehose"]["buffer_interval_in_seconds"] = json!(901),
        &[
            "at `firehose.buffer_interval_in_seconds`",
            "between 0 and 900, not 901",
        ],
    );
    rejects(
        |c| c["firehose"]["buffer_interval_in_seconds"] = json!(-1),
        &[
            "at `firehose.buffer_interval_in_seconds`",
            "between 0 and 900, not -1",
        ],
    );
}

#[test]
fn prefix_outside_the_output_folder() {
    rejects(
        |c| c["firehose"]["prefix"] = json!("logs/year=!{timestamp:yyyy}/"),
        &[
            "at `firehose.prefix`",
            "must start with `s3_output_folder` and a slash: `json-data/`",
        ],
    );
}

#[test]
fn prefix_with_another_layout() {
    rejects(
        |c| c["firehose"]["prefix"] = json!("json-data/!{timestamp:yyyy/MM/dd}/"),
        &["at `firehose.prefix`", "partition"],
    );
}

#[test]
fn prefix_with_unknown_expression() {
    rejects(
        |c| {
            c["firehose"]["prefix"] =
                json!("json-data/year=!{timestamp:yyyy}/!{partitionKeyFromQuery:tenant}/")
        },
        &[
            "at `firehose.prefix`",
            "unknown expression `!{partitionKeyFromQuery:tenant}`",
        ],
    );
}

#[test]
fn error_prefix_with_unknown_expression() {
    rejects(
        |c| c["firehose"]["error_output_prefix"] = json!("error/!{firehose:error-type}/"),
        &[
            "at `firehose.error_output_prefix`",
            "unknown expression `!{firehose:error-type}`",
        ],
    );
}

#[test]
fn error_prefix_without_error_type() {
    rejects(
        |c| c["firehose"]["error_output_prefix"] = json!("error/!{timestamp:yyyy}/"),
        &[
            "at `firehose.error_output_prefix`",
            "!{firehose:error-output-type}",
        ],
    );
}

#[test]
fn delivery_stream_name_too_long() {
    rejects(
        |c| c["firehose"]["stream_name"] = json!("x".repeat(47)),
        &[
            "at `firehose.stream_name`",
            "has 65 characters; Firehose allows 64",
        ],
    );
}

#[test]
fn delivery_stream_name_with_illegal_characters() {
    rejects(
        |c| c["firehose"]["stream_name"] = json!("random/gen"),
        &["at `firehose.stream_name`", "not `/`"],
    );
}

#[test]
fn invalid_access_log_bucket_name() {
    rejects(
        |c| c["firehose"]["s3_bucket"] = json!("Access_Logs"),
        &[
            "at `firehose.s3_bucket`",
            "lower-case letters, digits, dots and hyphens",
        ],
    );
}

#[test]
fn bucket_name_with_unknown_placeholder() {
    rejects(
        |c| c["firehose"]["s3_bucket"] = json!("logs-{stage}-{region}"),
        &["at `firehose.s3_bucket`", "unknown placeholder `{stage}`"],
    );
}

#[test]
fn invalid_results_bucket_name() {
    rejects(
        |c| c["athena"]["query_results_s3_bucket"] = json!("r"),
        &["at `athena.query_results_s3_bucket`", "3 to 63 characters"],
    );
}

#[test]
fn invalid_glue_database_name() {
    rejects(
        |c| c["merge_small_files_lambda_env"]["OLD_DATABASE"] = json!("my-database"),
        &["at `merge_small_files_lambda_env.OLD_DATABASE`", "not `-`"],
    );
}

#[test]
fn upper_case_glue_table_name() {
    rejects(
        |c| c["merge_small_files_lambda_env"]["NEW_TABLE_NAME"] = json!("AccessLogParquet"),
        &[
            "at `merge_small_files_lambda_env.NEW_TABLE_NAME`",
            "write `accesslogparquet`",
        ],
    );
}

#[test]
fn same_json_and_parquet_table() {
    rejects(
        |c| c["merge_small_files_lambda_env"]["NEW_TABLE_NAME"] = json!("restapi_access_log_json"),
        &[
            "at `merge_small_files_lambda_env.NEW_TABLE_NAME`",
            "must differ from the JSON table",
        ],
    );
}

#[test]
fn unknown_column() {
    rejects(
        |c| {
            c["merge_small_files_lambda_env"]["COLUMN_NAMES"] = json!("requestId,requestTme,status")
        },
        &[
            "at `merge_small_files_lambda_env.COLUMN_NAMES`",
            "column 2 `requestTme` is not an access-log field; did you mean `requestTime`?",
        ],
    );
}

#[test]
fn duplicated_column() {
    rejects(
        |c| c["merge_small_files_lambda_env"]["COLUMN_NAMES"] = json!("requestId,status,requestId"),
        &[
            "at `merge_small_files_lambda_env.COLUMN_NAMES`",
            "column 3 `requestId` is listed twice",
        ],
    );
}

#[test]
fn parquet_folder_equal_to_json_folder() {
    rejects(
        |c| c["merge_small_files_lambda_env"]["NEW_TABLE_S3_FOLDER_NAME"] = json!("json-data"),
        &[
            "at `merge_small_files_lambda_env.NEW_TABLE_S3_FOLDER_NAME`",
            "must differ from `firehose.s3_output_folder`",
        ],
    );
}

#[test]
fn table_folders_stay_apart_from_the_stacks_own() {
    rejects(
        |c| {
            c["merge_small_files_lambda_env"]["NEW_TABLE_S3_FOLDER_NAME"] =
                json!("invoices/parquet")
        },
        &[
            "at `merge_small_files_lambda_env.NEW_TABLE_S3_FOLDER_NAME`",
            "may not be, contain or lie in `invoices/`",
        ],
    );
    rejects(
        |c| c["firehose"]["s3_output_folder"] = json!("compaction-manifests"),
        &[
            "at `firehose.s3_output_folder`",
            "may not be, contain or lie in `compaction-manifests/`",
        ],
    );
}

#[test]
fn invalid_workgroup_name() {
    rejects(
        |c| c["athena"]["work_group_name"] = json!("SaaS Metering"),
        &["at `athena.work_group_name`", "not ` `"],
    );
}

#[test]
fn workgroup_name_leaves_room_for_the_functions_workgroup() {
    rejects(
        |c| c["athena"]["work_group_name"] = json!("w".repeat(119)),
        &[
            "at `athena.work_group_name`",
            "1 to 118 characters",
            "-functions",
        ],
    );
}

#[test]
fn names_that_the_stack_extends_leave_room_for_the_extension() {
    // Lambda AddPermission: statement ids of at most 100 (`AllowInvokeFromStage-<stage>`).
    rejects(
        |c| c["api"] = json!({"stage_name": "s".repeat(80)}),
        &["at `api.stage_name`", "1 to 79", "AllowInvokeFromStage-"],
    );
    // Cognito CreateUserPoolClient: client names of at most 128 (`<pool>-client`).
    rejects(
        |c| c["cognito"] = json!({"user_pool_name": "p".repeat(122)}),
        &["at `cognito.user_pool_name`", "1 to 121", "-client"],
    );
    // CloudWatch Logs CreateLogGroup: no spaces in `/aws/apigateway/<api name>/dev`.
    rejects(
        |c| {
            c["api"] = json!({"name": "my api", "dev_stage": true, "cloudwatch_account_role": true})
        },
        &["at `api.name`", "no spaces"],
    );
}

#[test]
fn workgroup_named_twice() {
    rejects(
        |c| c["athena_work_group_name"] = json!("Other"),
        &["at `athena_work_group_name`", "keep one of the two"],
    );
}

#[test]
fn unknown_key_in_an_owned_section_gets_a_hint() {
    rejects(
        |c| {
            let f = c["firehose"].as_object_mut().unwrap();
            let v = f.remove("buffer_size_in_mbs").unwrap();
            f.insert("buffer_size_in_mb".into(), v);
        },
        &[
            "at `firehose.buffer_size_in_mb`",
            "unknown key; did you mean `buffer_size_in_mbs`?",
        ],
    );
}

#[test]
fn unknown_top_level_key_gets_a_hint() {
    rejects(
        |c| c["lake_formaton"] = json!({}),
        &["at `lake_formaton`", "did you mean `lake_formation`?"],
    );
}

#[test]
fn lake_formation_admins_are_refused_with_the_reason() {
    rejects(
        |c| c["lake_formation"] = json!({"admins": ["arn:aws:iam::123456789012:role/Admin"]}),
        &[
            "at `lake_formation.admins`",
            "resets them all on `terraform destroy`",
            "administrator before `terraform apply`",
        ],
    );
}

#[test]
fn dev_stage_needs_the_cloudwatch_account_role() {
    rejects(
        |c| c["api"] = json!({"dev_stage": true}),
        &["at `api.dev_stage`", "`api.cloudwatch_account_role`"],
    );
    // examples/reduced-columns.json sets both and renders (its golden tree).
}

#[test]
fn invalid_own_settings_are_reported_together() {
    let stderr = rejects(
        |c| {
            c["deployment"] = json!({"log_retention_in_days": 42, "tags": {"aws:owner": "me"}});
            c["lake_formation"] = json!({"admins": ["Admin"]});
            c["compaction"] = json!({"schedule_expression": "cron(10 * * *)"});
            c["catalog"] = json!({"projection_first_year": 1900, "projection_last_year": 2200});
        },
        &[
            "at `deployment.log_retention_in_days`",
            "at `deployment.tags.aws:owner`",
            "at `lake_formation.admins`",
            "at `compaction.schedule_expression`",
            "at `catalog.projection_first_year`",
        ],
    );
    assert!(stderr.lines().filter(|l| l.starts_with("error: ")).count() >= 5);
}

#[test]
fn validate_accepts_the_sample_and_ignores_cdk_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = sample();
    ctx["@aws-cdk/core:newStyleStackSynthesis"] = json!(true);
    ctx["vpc_name"] = json!("default");
    let path = dir.path().join("cdk.context.json");
    fs::write(&path, ctx.to_string()).unwrap();
    Command::cargo_bin("metering-gen")
        .unwrap()
        .args(["validate", "--context"])
        .arg(&path)
        .arg("--workspace")
        .arg(workspace())
        .assert()
        .success();
}

#[test]
fn validate_rejects_bad_input_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cdk.context.json");
    let mut ctx = sample();
    ctx["firehose"]["buffer_size_in_mbs"] = json!(500);
    fs::write(&path, ctx.to_string()).unwrap();
    let assert = Command::cargo_bin("metering-gen")
        .unwrap()
        .args(["validate", "--context"])
        .arg(&path)
        .arg("--workspace")
        .arg(workspace())
        .assert()
        .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("at `firehose.buffer_size_in_mbs`"),
        "{stderr}"
    );
}

#[test]
fn kms_key_alias_is_refused() {
    rejects(
        |c| {
            c["deployment"] =
                json!({"kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:alias/billing"});
        },
        &[
            "at `deployment.kms_key_arn`",
            "is not a KMS key ARN",
            "aliases are not accepted",
        ],
    );
}

#[test]
fn retention_periods_out_of_range() {
    rejects(
        |c| {
            c["deployment"] = json!({
                "json_retention_in_days": 1,
                "query_results_retention_in_days": 0,
                "noncurrent_version_retention_in_days": -3,
            });
        },
        &[
            "at `deployment.json_retention_in_days`: must be between 2 and 36500, not 1",
            "at `deployment.query_results_retention_in_days`: must be between 1 and 36500, not 0",
            "at `deployment.noncurrent_version_retention_in_days`",
        ],
    );
}

#[test]
fn access_logs_cannot_go_to_a_bucket_of_the_stack() {
    rejects(
        |c| {
            c["firehose"]["s3_bucket"] = json!("acme-usage-logs");
            c["deployment"] = json!({"s3_access_log_bucket": "acme-usage-logs"});
        },
        &[
            "at `deployment.s3_access_log_bucket`",
            "must be a bucket outside this stack",
        ],
    );
    rejects(
        |c| c["deployment"] = json!({"s3_access_log_bucket": "Not_A_Bucket"}),
        &["at `deployment.s3_access_log_bucket`"],
    );
}

#[test]
fn duplicate_keys_are_refused_with_their_place() {
    let text = r#"{
  "firehose": {"stream_name": "bad name!", "stream_name": "random-gen"}
}"#;
    rejects_text(
        text,
        &[
            "cdk.context.json:2:",
            "duplicate key `firehose.stream_name`",
        ],
    );
}

#[test]
fn a_section_must_be_an_object() {
    rejects(
        |c| c["firehose"] = json!(["random-gen", 128, 300]),
        &["at `firehose`: wrong type: expected an object of settings, found an array"],
    );
}

#[test]
fn control_characters_in_values_are_escaped_in_messages() {
    let stderr = rejects(
        |c| c["deployment"] = json!({"kms_key_arn": "\u{1b}[31mred"}),
        &["at `deployment.kms_key_arn`", "\\u{1b}[31mred"],
    );
    assert!(!stderr.contains('\u{1b}'), "raw escape in: {stderr:?}");
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let context = dir.path().join("cdk.context.json");
    fs::write(&context, format!("\u{feff}{}", sample())).unwrap();
    Command::cargo_bin("metering-gen")
        .unwrap()
        .args(["validate", "--context"])
        .arg(&context)
        .assert()
        .success();
}

#[test]
fn compaction_delay_must_cover_the_firehose_buffer() {
    rejects(
        |c| {
            c["firehose"]["buffer_interval_in_seconds"] = json!(900);
            c["compaction"] = json!({"delay_minutes": 10});
        },
        &[
            "at `compaction.delay_minutes`",
            "`firehose.buffer_interval_in_seconds` = 900 s",
            "use at least 16 minutes",
        ],
    );
    rejects(
        |c| c["compaction"] = json!({"delay_minutes": 60}),
        &["at `compaction.delay_minutes`: must be between 0 and 59, not 60"],
    );
}

#[test]
fn the_default_schedule_follows_the_compaction_delay() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = sample();
    ctx["compaction"] = json!({"delay_minutes": 25});
    let context = dir.path().join("cdk.context.json");
    fs::write(&context, ctx.to_string()).unwrap();
    let out = dir.path().join("terraform");
    gen(&context, &out).success();
    let main = fs::read_to_string(out.join("main.tf")).unwrap();
    assert!(
        main.contains(r#"schedule_expression   = "cron(25 * * * ? *)""#),
        "{main}"
    );
    assert!(main.contains("delay_minutes         = 25"), "{main}");
}

fn metering_example() -> Value {
    let text = fs::read_to_string(workspace().join("examples/metering.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn rejects_metering(mutate: impl FnOnce(&mut Value), expected: &[&str]) -> String {
    let mut ctx = metering_example();
    mutate(&mut ctx);
    rejects_text(&serde_json::to_string_pretty(&ctx).unwrap(), expected)
}

#[test]
fn invalid_plans_are_rejected_with_their_path() {
    let plans = "/metering/pricing/plans";
    rejects_metering(
        |c| {
            let starter = c.pointer_mut(&format!("{plans}/starter/charges")).unwrap();
            starter["storage"] = json!({"model": "per_unit", "unit_price": "1"});
        },
        &[
            "at `metering.pricing.plans.starter.charges.storage`",
            "storage",
        ],
    );
    rejects_metering(
        |c| {
            let tiers = c
                .pointer_mut(&format!("{plans}/starter/charges/api_requests/tiers"))
                .unwrap();
            *tiers =
                json!([{"up_to": null, "unit_price": "0.1"}, {"up_to": 10, "unit_price": "0.2"}]);
        },
        &["at `metering.pricing.plans.starter.charges.api_requests.tiers"],
    );
    rejects_metering(
        |c| {
            c.pointer_mut(&format!("{plans}/business/currency"))
                .map(|v| *v = json!("EURO"))
                .unwrap()
        },
        &["at `metering.pricing.plans.business.currency`", "EURO"],
    );
    rejects_metering(
        |c| {
            c.pointer_mut(&format!("{plans}/starter/charges/data_transfer/unit_price"))
                .map(|v| *v = json!("-0.01"))
                .unwrap()
        },
        &["at `metering.pricing.plans.starter.charges.data_transfer.unit_price`"],
    );
    rejects_metering(
        |c| c["metering"]["pricing"]["tenants"]["acme"] = json!("gold"),
        &["at `metering.pricing.tenants.acme`: no plan named `gold`"],
    );
    rejects_metering(
        |c| c["metering"]["pricing"]["tenants"]["verify-acme"] = json!("business"),
        &["at `metering.pricing.tenants.verify-acme`: `verify-acme` is a test tenant"],
    );
    rejects_metering(
        |c| c["metering"]["pricing"]["test_tenant_prefixes"] = json!(["qa-", ""]),
        &["at `metering.pricing.test_tenant_prefixes[1]`: must have 1 to 64 characters"],
    );
    rejects_metering(
        |c| c["metering"]["pricing"]["test_tenant_prefixes"] = json!("verify-"),
        &["at `metering.pricing.test_tenant_prefixes`: wrong type: string \"verify-\", expected an array"],
    );
    rejects_metering(
        |c| {
            c.pointer_mut(&format!("{plans}/starter/charges/data_transfer/unit_price"))
                .map(|v| *v = json!(0.09))
                .unwrap()
        },
        &[
            "at `metering.pricing.plans.starter.charges.data_transfer.unit_price`",
            "as a string, \"0.09\"",
        ],
    );
}

#[test]
fn invalid_meters_are_rejected_with_their_path() {
    rejects_metering(
        |c| c["metering"]["meters"]["tenant"] = json!({"aggregation": "count"}),
        &["at `metering.meters.tenant`: meter name `tenant` is reserved"],
    );
    rejects_metering(
        |c| c["metering"]["meters"]["api_requests"]["filter"]["status_classes"] = json!(["2XX"]),
        &["at `metering.meters.api_requests.filter.status_classes[0]`: `2XX` is not one of 1xx"],
    );
    rejects_metering(
        |c| c["metering"]["meters"]["api_requests"]["aggregation"] = json!("average"),
        &["at `metering.meters.api_requests.aggregation`", "average"],
    );
    rejects_metering(
        |c| c["metering"]["meters"]["api_requests"]["filter"]["resource_paths"] = json!(["/a'b"]),
        &[
            "at `metering.meters.api_requests.filter.resource_paths[0]`",
            "not a resource path",
        ],
    );
    // A meter reads one source, and each of its settings must belong to it.
    rejects_metering(
        |c| {
            c["metering"]["meters"]["tokens"] = json!({
                "source": "events", "event_type": "tokens.generated", "aggregation": "sum_response_bytes"
            })
        },
        &["at `metering.meters.tokens.aggregation`: `sum_response_bytes` reads the access_log source, but the meter's `source` is `events`: a meter reads one source"],
    );
    rejects_metering(
        |c| c["metering"]["meters"]["api_requests"]["aggregation"] = json!("sum"),
        &["at `metering.meters.api_requests.aggregation`: `sum` reads the events source, but the meter's `source` is `access_log`"],
    );
    rejects_metering(
        |c| c["metering"]["meters"]["api_requests"]["filter"]["properties"] = json!({"model": ["large"]}),
        &["at `metering.meters.api_requests.filter.properties`: property filters are for `\"source\": \"events\"` meters"],
    );
    rejects_metering(
        |c| c["metering"]["meters"]["api_requests"]["event_type"] = json!("tokens.generated"),
        &["at `metering.meters.api_requests.event_type`: `event_type` is for `\"source\": \"events\"` meters"],
    );
    rejects_metering(
        |c| c["metering"]["meters"]["tokens"] = json!({"source": "events", "aggregation": "sum"}),
        &["at `metering.meters.tokens.event_type`: an events meter needs the `event_type` it counts"],
    );
    rejects_metering(
        |c| {
            c["metering"]["meters"]["models"] = json!({
                "source": "events", "event_type": "tokens.generated", "aggregation": "unique_count"
            })
        },
        &["at `metering.meters.models.property`: `unique_count` needs the `property`"],
    );
    rejects_metering(
        |c| {
            c["metering"]["meters"]["tokens"] = json!({
                "source": "events", "event_type": "tokens generated", "aggregation": "sum",
                "unit": "Tokens", "filter": {"methods": ["GET"], "properties": {"model": [], "tier": ["a'b"]}}
            })
        },
        &[
            "at `metering.meters.tokens.event_type`: `tokens generated` is not an event type",
            "at `metering.meters.tokens.unit`: `Tokens` is not a unit",
            "at `metering.meters.tokens.filter.methods`: `methods` filters the access log",
            "at `metering.meters.tokens.filter.properties.model`: list at least one value",
            "at `metering.meters.tokens.filter.properties.tier[0]`: `a'b` cannot be matched",
        ],
    );
    rejects_metering(
        |c| c["metering"]["meters"]["tokens"] = json!({"source": "logs", "aggregation": "count"}),
        &["at `metering.meters.tokens.source`", "logs"],
    );
    // Events meters need the stack that receives the events.
    rejects_metering(
        |c| {
            c.as_object_mut().unwrap().remove("usage_events");
            c["metering"]["meters"]["tokens"] = json!({
                "source": "events", "event_type": "tokens.generated", "aggregation": "sum", "unit": "tokens"
            })
        },
        &[
            "at `metering.meters.tokens.source`: `events` meters count usage events, which only a stack with a `usage_events` section receives",
            "\"usage_events\": {}",
        ],
    );
    rejects_metering(
        |c| {
            c["metering"].as_object_mut().unwrap().remove("pricing");
        },
        &["at `metering.pricing`: required with `meters`"],
    );
    rejects_metering(
        |c| c["metering"]["late_arrival_hours"] = json!(0),
        &["at `metering.late_arrival_hours`: must be between 1 and 22, not 0"],
    );
    rejects_metering(
        |c| c["metering"]["tenant_claim"] = json!("custom:tenant']"),
        &["at `metering.tenant_claim`"],
    );
}

#[test]
fn meters_need_their_columns_in_the_parquet_table() {
    rejects_metering(
        |c| {
            c["merge_small_files_lambda_env"]["COLUMN_NAMES"] =
                json!("requestId,requestTime,status")
        },
        &[
            "at `merge_small_files_lambda_env.COLUMN_NAMES`",
            "the meters of `metering` need resourcePath, responseLength",
        ],
    );
}

#[test]
fn validate_checks_the_plans_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = metering_example();
    ctx["metering"]["pricing"]["plans"]["starter"]["charges"]["api_requests"]["tiers"][1]
        ["up_to"] = json!(50_000);
    let context = dir.path().join("cdk.context.json");
    fs::write(&context, serde_json::to_string_pretty(&ctx).unwrap()).unwrap();
    let validate = |path: &Path| {
        Command::cargo_bin("metering-gen")
            .unwrap()
            .args(["validate", "--context"])
            .arg(path)
            .arg("--workspace")
            .arg(workspace())
            .assert()
    };
    let assert = validate(&context).code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains(
            "cdk.context.json: at `metering.pricing.plans.starter.charges.api_requests.tiers"
        ),
        "{stderr}"
    );
    validate(&workspace().join("examples/metering.json")).success();
}

#[test]
fn the_billing_schedule_must_wait_for_the_late_hours() {
    rejects_metering(
        |c| c["metering"]["schedule_expression"] = json!("cron(30 3 1 * ? *)"),
        &[
            "at `metering.schedule_expression`: `cron(30 3 1 * ? *)` runs at 03:30 UTC on the 1st",
            "run at 04:00 or later",
        ],
    );
}

#[test]
fn every_field_of_a_schedule_is_checked_on_both_schedule_keys() {
    for section in ["compaction", "metering"] {
        let path = format!("at `{section}.schedule_expression`: `cron(99 99 * * ? *)`: ");
        rejects_metering(
            |c| c[section]["schedule_expression"] = json!("cron(99 99 * * ? *)"),
            &[
                &path,
                "the minutes field takes 0-59, not 99",
                "the hours field takes 0-23, not 99",
            ],
        );
    }
    // The billing schedule is checked for its fields before its time on the 1st.
    rejects_metering(
        |c| c["metering"]["schedule_expression"] = json!("cron(0 4 1 * MON *)"),
        &[
            "at `metering.schedule_expression`: `cron(0 4 1 * MON *)`: one of the day-of-month and day-of-week fields must be `?`",
        ],
    );
}

#[test]
fn usage_events_settings_are_checked_at_their_paths() {
    rejects(
        |c| c["usage_events"] = json!({"stream_name": "usage events!", "buffer_size_in_mbs": 0, "buffer_interval_in_seconds": 901}),
        &[
            "at `usage_events.stream_name`: a delivery stream name may hold only letters, digits, `_`, `.` and `-`, not ` `",
            "at `usage_events.buffer_size_in_mbs`",
            "at `usage_events.buffer_interval_in_seconds`",
        ],
    );
    rejects(
        |c| c["usage_events"] = json!({"stream_name": "x".repeat(65)}),
        &["at `usage_events.stream_name`", "Firehose allows 64"],
    );
    // The events folder keeps away from the tables' folders and the stack's own.
    rejects(
        |c| c["usage_events"] = json!({"s3_output_folder": "json-data/events"}),
        &[
            "at `usage_events.s3_output_folder`: `json-data/events`",
            "may not be, contain or lie in `json-data`, the folder of `firehose.s3_output_folder`",
        ],
    );
    rejects(
        |c| c["usage_events"] = json!({"s3_output_folder": "parquet-data"}),
        &[
            "at `usage_events.s3_output_folder`",
            "merge_small_files_lambda_env.NEW_TABLE_S3_FOLDER_NAME",
        ],
    );
    rejects(
        |c| c["usage_events"] = json!({"s3_output_folder": "invoices"}),
        &["at `usage_events.s3_output_folder`: may not be, contain or lie in `invoices/`"],
    );
    // A long folder makes a prefix longer than Firehose takes (1024 characters).
    rejects(
        |c| c["usage_events"] = json!({"s3_output_folder": "e".repeat(1000)}),
        &[
            "at `usage_events.s3_output_folder`: the stream's prefix `eee",
            "a Firehose prefix may have at most 1024 characters",
        ],
    );
    rejects(
        |c| c["usage_events"] = json!({"s3_output_folder": "/events/"}),
        &["at `usage_events.s3_output_folder`: a folder name may not begin or end with `/`"],
    );
    rejects(
        |c| c["usage_events"] = json!({"folder": "events"}),
        &["at `usage_events.folder`: unknown key; expected one of `stream_name`, `s3_output_folder`"],
    );
}

#[test]
fn usage_events_tables_are_checked_at_their_paths() {
    rejects(
        |c| {
            c["usage_events"] = json!({
                "json_table_name": "Usage-Events",
                "parquet_table_name": "p".repeat(241),
            })
        },
        &[
            "at `usage_events.json_table_name`",
            "at `usage_events.parquet_table_name`: a Glue name here may have at most 240 characters, not 241",
        ],
    );
    // One database holds the access logs' tables and the events' (the sample's `mydatabase`).
    rejects(
        |c| {
            c["usage_events"] = json!({
                "json_table_name": "restapi_access_log_json",
                "parquet_table_name": "restapi_access_log_parquet",
            })
        },
        &[
            "at `usage_events.json_table_name`: `restapi_access_log_json` is already the table `merge_small_files_lambda_env.OLD_TABLE_NAME` in the database `mydatabase`",
            "at `usage_events.parquet_table_name`: `restapi_access_log_parquet` is already the table `merge_small_files_lambda_env.NEW_TABLE_NAME`",
        ],
    );
    rejects(
        |c| {
            c["usage_events"] = json!({"json_table_name": "events", "parquet_table_name": "events"})
        },
        &["at `usage_events.parquet_table_name`: must differ from `usage_events.json_table_name`"],
    );
    // The Parquet folder keeps away from every other table's folder and the stack's own.
    for (folder, other) in [
        ("usage-events/parquet", "usage-events"),
        ("usage-events-errors", "usage-events-errors"),
        ("json-data", "json-data"),
        ("parquet-data/events", "parquet-data"),
    ] {
        rejects(
            |c| c["usage_events"] = json!({"parquet_folder": folder}),
            &[&format!("at `usage_events.parquet_folder`: `{folder}` may not be, contain or lie in `{other}`")],
        );
    }
    rejects(
        |c| c["usage_events"] = json!({"parquet_folder": "usage-events-manifests"}),
        &["at `usage_events.parquet_folder`: may not be, contain or lie in `usage-events-manifests/`"],
    );
    // Both compactions run on one schedule: it waits for the slower stream.
    rejects(
        |c| c["usage_events"] = json!({"buffer_interval_in_seconds": 900}),
        &[
            "at `compaction.delay_minutes`: 10 minutes after an hour ends is too early",
            "`usage_events.buffer_interval_in_seconds` = 900 s",
            "at least 16 minutes",
        ],
    );
}
