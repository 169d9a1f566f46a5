//! The renderer on a small module: what Terraform's AWS provider would write for its policy
//! document, and the errors that name what a test must add to its inputs.

use iam_policy::{Inputs, Module};
use serde_json::json;

const FIXTURE: &str = r#"
data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  glue_arn_prefix = "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}"
  databases       = distinct([var.json_table.database, var.parquet_table.database])
  unused          = var.not_given
}

locals {
  list_prefixes = ["${var.json_table.folder}/*", "${var.parquet_table.folder}/*"]
}

module "function" {
  source = "../lambda_function"

  dead_letter_queue_arn = aws_sqs_queue.dead_letters.arn
  environment = {
    COLUMN_NAMES  = join(",", var.column_names)
    DELAY_MINUTES = tostring(var.delay_minutes)
    LOCATION      = format("s3://%s/%s", var.bucket_name, var.json_table.folder)
  }
}

data "aws_iam_policy_document" "example" {
  statement {
    sid = "RunQueries"
    actions = [
      "athena:StartQueryExecution",
      "athena:GetQueryExecution",
      "athena:StartQueryExecution",
    ]
    resources = [var.workgroup_arn]
  }

  statement {
    sid     = "ReadCatalog"
    actions = ["glue:GetTable", "glue:GetDatabase"]
    resources = concat(
      ["${local.glue_arn_prefix}:catalog"],
      [for db in local.databases : "${local.glue_arn_prefix}:database/${db}"],
    )
  }

  statement {
    sid       = "ListTheFolders"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = local.list_prefixes
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = [true]
    }
  }

  statement {
    effect      = "Deny"
    not_actions = ["s3:GetObject"]
    resources   = ["${var.bucket_arn}/*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::123456789012:root"]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "UseKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.extra_readers
    iterator = reader

    content {
      sid       = "Read${reader.key}"
      actions   = ["s3:GetObject"]
      resources = ["${var.bucket_arn}/${reader.value}/*"]
    }
  }
}
"#;

fn module() -> Module {
    Module::parse("fixture/main.tf", FIXTURE).unwrap()
}

fn inputs() -> Inputs {
    Inputs::aws("aws", "eu-west-1", "123456789012")
        .var(
            "workgroup_arn",
            "arn:aws:athena:eu-west-1:123456789012:workgroup/wg",
        )
        .var("bucket_name", "data")
        .var("bucket_arn", "arn:aws:s3:::data")
        .var(
            "json_table",
            json!({"database": "logs", "name": "json", "folder": "json-data"}),
        )
        .var(
            "parquet_table",
            json!({"database": "logs", "name": "parquet", "folder": "parquet-data"}),
        )
        .var("kms_key_arn", serde_json::Value::Null)
        .var("extra_readers", json!({"Reports": "reports"}))
        .var("column_names", json!(["a", "b"]))
        .var("delay_minutes", 10)
}

#[test]
fn renders_the_document_as_the_aws_provider_writes_it() {
    let policy = module().policy_document("example", &inputs()).unwrap();

    assert_eq!(
        policy.json(),
        &json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "RunQueries",
                    "Effect": "Allow",
                    // A set: distinct, in reverse lexical order.
                    "Action": ["athena:StartQueryExecution", "athena:GetQueryExecution"],
                    // One value: a string.
                    "Resource": "arn:aws:athena:eu-west-1:123456789012:workgroup/wg",
                },
                {
                    "Sid": "ReadCatalog",
                    "Effect": "Allow",
                    "Action": ["glue:GetTable", "glue:GetDatabase"],
                    "Resource": [
                        "arn:aws:glue:eu-west-1:123456789012:database/logs",
                        "arn:aws:glue:eu-west-1:123456789012:catalog",
                    ],
                },
                {
                    "Sid": "ListTheFolders",
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": "arn:aws:s3:::data",
                    "Condition": {
                        "Bool": {"aws:SecureTransport": "true"},
                        "StringLike": {"s3:prefix": ["parquet-data/*", "json-data/*"]},
                    },
                },
                {
                    "Effect": "Deny",
                    "NotAction": "s3:GetObject",
                    "Resource": "arn:aws:s3:::data/*",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                },
                // No key: the first dynamic block has no statement.
                {
                    "Sid": "ReadReports",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::data/reports/*",
                },
            ],
        })
    );
    assert_eq!(
        policy.sids(),
        ["RunQueries", "ReadCatalog", "ListTheFolders", "ReadReports"]
    );
}

#[test]
fn a_dynamic_statement_repeats_per_element_with_statement_value() {
    let inputs = inputs().var("kms_key_arn", "arn:aws:kms:eu-west-1:123456789012:key/k");
    let policy = module().policy_document("example", &inputs).unwrap();

    assert_eq!(
        policy.statement("UseKey"),
        Some(&json!({
            "Sid": "UseKey",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": "arn:aws:kms:eu-west-1:123456789012:key/k",
        }))
    );
}

#[test]
fn without_statement_drops_one_and_names_the_sids_when_absent() {
    let policy = module().policy_document("example", &inputs()).unwrap();

    let fewer = policy.without_statement("ListTheFolders").unwrap();
    assert_eq!(fewer.sids(), ["RunQueries", "ReadCatalog", "ReadReports"]);
    assert_eq!(fewer.statements().len(), policy.statements().len() - 1);

    let err = policy.without_statement("Nope").unwrap_err().to_string();
    assert!(
        err.contains("no statement with Sid \"Nope\"")
            && err.contains("RunQueries, ReadCatalog, ListTheFolders, ReadReports"),
        "{err}"
    );
    // Compact JSON, as PutRolePolicy takes it.
    let text = policy.to_string();
    assert!(!text.contains('\n'), "{text}");
    assert_eq!(
        &serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        policy.json()
    );
}

#[test]
fn missing_values_are_all_named_with_the_locals_they_are_needed_through() {
    let inputs = Inputs::aws("aws", "eu-west-1", "123456789012")
        .var(
            "workgroup_arn",
            "arn:aws:athena:eu-west-1:123456789012:workgroup/wg",
        )
        .var("bucket_arn", "arn:aws:s3:::data");

    let err = module()
        .policy_document("example", &inputs)
        .unwrap_err()
        .to_string();

    assert!(
        err.starts_with(
            "fixture/main.tf: data.aws_iam_policy_document.example needs values the test does \
             not give:"
        ),
        "{err}"
    );
    for line in [
        "  - var.extra_readers\n",
        "  - var.json_table (through local.databases, local.list_prefixes)\n",
        "  - var.kms_key_arn\n",
        "  - var.parquet_table (through local.databases, local.list_prefixes)\n",
    ] {
        assert!(err.contains(line), "{line:?} not in:\n{err}");
    }
    // Only what the document needs: local.unused is not evaluated.
    assert!(!err.contains("not_given"), "{err}");
}

#[test]
fn a_missing_data_source_is_named() {
    let inputs = inputs().data("aws_partition.current.partition", serde_json::Value::Null);
    assert!(module().policy_document("example", &inputs).is_ok());

    let mut without_region = Inputs::new()
        .data("aws_partition.current.partition", "aws")
        .data("aws_caller_identity.current.account_id", "123456789012");
    for (name, value) in [
        ("workgroup_arn", json!("wg")),
        ("bucket_arn", json!("arn:aws:s3:::data")),
        ("json_table", json!({"database": "a", "folder": "f"})),
        ("parquet_table", json!({"database": "b", "folder": "g"})),
        ("kms_key_arn", json!(null)),
        ("extra_readers", json!({})),
    ] {
        without_region = without_region.var(name, value);
    }
    let err = module()
        .policy_document("example", &without_region)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("  - data.aws_region.current.region (through local.glue_arn_prefix)\n"),
        "{err}"
    );
}

#[test]
fn an_unknown_document_names_those_there_are() {
    let err = module()
        .policy_document("other", &inputs())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "fixture/main.tf: no data \"aws_iam_policy_document\" \"other\" block; the documents \
         there: example"
    );
}

#[test]
fn unknown_functions_resources_and_arguments_are_refused() {
    let module = Module::parse(
        "f.tf",
        r#"
        data "aws_iam_policy_document" "a" {
          statement {
            actions   = [upper("s3:GetObject")]
            resources = [regex("x", var.arn), aws_s3_bucket.b.arn]
          }
        }
        data "aws_iam_policy_document" "b" {
          source_policy_documents = []
        }
        "#,
    )
    .unwrap();
    let err = module
        .policy_document("a", &Inputs::new().var("arn", "x"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("  - function regex()\n"), "{err}");
    assert!(err.contains("  - aws_s3_bucket.b\n"), "{err}");
    assert!(!err.contains("upper()"), "{err}");

    let err = module
        .policy_document("b", &Inputs::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the argument `source_policy_documents` is not supported"),
        "{err}"
    );
}

#[test]
fn a_module_argument_evaluates_like_a_document() {
    let environment = module()
        .module_argument("function", "environment", &inputs())
        .unwrap();
    assert_eq!(
        environment,
        json!({
            "COLUMN_NAMES": "a,b",
            "DELAY_MINUTES": "10",
            "LOCATION": "s3://data/json-data",
        })
    );

    // The argument's own references only: the queue ARN is another argument.
    let err = module()
        .module_argument("function", "environment", &Inputs::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("module.function.environment needs"), "{err}");
    assert!(err.contains("  - var.column_names\n"), "{err}");
    assert!(!err.contains("aws_sqs_queue"), "{err}");
}
