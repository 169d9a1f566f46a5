data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  glue_arn_prefix = "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}"
  config_key      = "config/metering.json"
  invoices_prefix = "invoices/"
  lock_prefix     = "locks/billing"
  events          = var.events == null ? [] : [var.events]
  # The folders the function lists and reads: the Parquet tables Athena reads, the JSON folders
  # and manifests that tell whether every hour of the month is compacted.
  parquet_folders  = concat([var.usage_table.folder], local.events[*].folder)
  json_folders     = concat([var.json_folder], local.events[*].json_folder)
  manifest_folders = concat([var.manifest_folder], local.events[*].manifest_folder)
  tables           = concat([var.usage_table], [for e in local.events : { database = e.database, name = e.name }])
}

# The meters and plans the function prices with: a change of plans is a change of this object
# in the plan of `terraform apply`, and takes effect at the next run.
resource "aws_s3_object" "config" {
  bucket                 = var.bucket_name
  key                    = local.config_key
  content                = var.config_json
  content_type           = "application/json"
  server_side_encryption = var.kms_key_arn == null ? "AES256" : "aws:kms"
  kms_key_id             = var.kms_key_arn
}

module "function" {
  source = "../lambda_function"

  function_name         = var.function.function_name
  description           = var.function.description
  handler               = var.function.handler
  zip_path              = var.function.zip_path
  memory_size           = var.function.memory_size
  timeout               = var.function.timeout
  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = var.kms_key_arn
  dead_letter_queue_arn = aws_sqs_queue.dead_letters.arn

  environment = merge({
    ATHENA_WORK_GROUP   = var.workgroup_name
    USAGE_DATABASE      = var.usage_table.database
    USAGE_TABLE         = var.usage_table.name
    METERING_CONFIG_URI = "s3://${var.bucket_name}/${local.config_key}"
    INVOICES_BUCKET     = var.bucket_name
    INVOICES_PREFIX     = local.invoices_prefix
    # A month is billed only when every hour's JSON objects are in Parquet: the function
    # compares the hours' JSON folders with the compaction's manifests.
    JSON_LOCATION_PREFIX = "s3://${var.bucket_name}/${var.json_folder}"
    MANIFEST_PREFIX      = "s3://${var.bucket_name}/${var.manifest_folder}"
    # Two runs billing the same month at once would race on its invoice files: each holds a
    # lease object per month here instead of a reserved concurrency.
    LOCK_PREFIX = "s3://${var.results_bucket_name}/${local.lock_prefix}"
    }, var.events == null ? tomap({}) : tomap({
      # The usage events' meters: the same rules, over their own table, folders and manifests.
      EVENTS_DATABASE             = var.events.database
      EVENTS_TABLE                = var.events.name
      EVENTS_JSON_LOCATION_PREFIX = "s3://${var.bucket_name}/${var.events.json_folder}"
      EVENTS_MANIFEST_PREFIX      = "s3://${var.bucket_name}/${var.events.manifest_folder}"
  }))

  policies = {
    billing = data.aws_iam_policy_document.billing.json
  }
}

data "aws_iam_policy_document" "billing" {
  statement {
    sid = "RunQueries"
    actions = [
      "athena:GetQueryExecution",
      "athena:GetQueryResults",
      "athena:StartQueryExecution",
      "athena:StopQueryExecution",
    ]
    resources = [var.workgroup_arn]
  }

  statement {
    sid = "ReadCatalog"
    actions = [
      "glue:GetDatabase",
      "glue:GetPartitions",
      "glue:GetTable",
    ]
    resources = concat(
      ["${local.glue_arn_prefix}:catalog"],
      distinct([for t in local.tables : "${local.glue_arn_prefix}:database/${t.database}"]),
      [for t in local.tables : "${local.glue_arn_prefix}:table/${t.database}/${t.name}"],
    )
  }

  # Athena looks up the catalog's `default` database for every query; a role whose Glue access
  # is scoped to its own databases fails without this ("Configure access to databases and
  # tables in the AWS Glue Data Catalog", Athena User Guide: every example grants it).
  statement {
    sid       = "AthenaDefaultDatabase"
    actions   = ["glue:GetDatabase"]
    resources = ["${local.glue_arn_prefix}:catalog", "${local.glue_arn_prefix}:database/default"]
  }

  statement {
    sid       = "LocateDataBucket"
    actions   = ["s3:GetBucketLocation"]
    resources = [var.bucket_arn]
  }

  # Listing only the Parquet folders (Athena reads them), the invoices (stale ones are deleted),
  # and the JSON folders and the manifests (is every hour of the month compacted?).
  statement {
    sid       = "ListItsFolders"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = concat([for f in concat(local.parquet_folders, local.json_folders, local.manifest_folders) : "${f}/*"], ["${local.invoices_prefix}*"])
    }
  }

  statement {
    sid       = "ReadManifests"
    actions   = ["s3:GetObject"]
    resources = [for f in local.manifest_folders : "${var.bucket_arn}/${f}/*"]
  }

  statement {
    sid       = "ReadUsageAndConfig"
    actions   = ["s3:GetObject"]
    resources = concat([for f in local.parquet_folders : "${var.bucket_arn}/${f}/*"], ["${var.bucket_arn}/${local.config_key}"])
  }

  statement {
    sid       = "WriteInvoices"
    actions   = ["s3:DeleteObject", "s3:PutObject"]
    resources = ["${var.bucket_arn}/${local.invoices_prefix}*"]
  }

  statement {
    sid = "QueryResults"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetBucketLocation",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:ListMultipartUploadParts",
      "s3:PutObject",
    ]
    resources = [var.results_bucket_arn, "${var.results_bucket_arn}/*"]
  }

  # The per-month leases (see the compaction module).
  statement {
    sid       = "MonthLeases"
    actions   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = ["${var.results_bucket_arn}/${local.lock_prefix}/*"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "ReadAndWriteEncryptedData"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }

  # GetDataAccess does not support resource-level permissions.
  statement {
    sid       = "LakeFormationDataAccess"
    actions   = ["lakeformation:GetDataAccess"]
    resources = ["*"]
  }
}

resource "aws_lakeformation_permissions" "usage_table" {
  count = var.grant_lake_formation ? 1 : 0

  principal   = module.function.role_arn
  permissions = ["DESCRIBE", "SELECT"]

  table {
    database_name = var.usage_table.database
    name          = var.usage_table.name
  }
}

resource "aws_lakeformation_permissions" "events_table" {
  count = var.grant_lake_formation && var.events != null ? 1 : 0

  principal   = module.function.role_arn
  permissions = ["DESCRIBE", "SELECT"]

  table {
    database_name = var.events.database
    name          = var.events.name
  }
}

# Invoices as a table: one row per tenant and month, from the JSON files the function writes.
resource "aws_glue_catalog_table" "invoices" {
  name          = var.invoices_table.name
  database_name = var.invoices_table.database
  description   = "Monthly invoices per tenant, as written by the billing function (money as decimal strings)."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    "EXTERNAL"                  = "TRUE"
    "classification"            = "json"
    "projection.enabled"        = "true"
    "projection.year.type"      = "integer"
    "projection.year.range"     = "${var.projection_first_year},${var.projection_last_year}"
    "projection.month.type"     = "integer"
    "projection.month.range"    = "1,12"
    "projection.month.digits"   = "2"
    "storage.location.template" = "s3://${var.bucket_name}/${local.invoices_prefix}year=$${year}/month=$${month}/tenants/"
  }

  partition_keys {
    name = "year"
    type = "int"
  }

  partition_keys {
    name = "month"
    type = "int"
  }

  storage_descriptor {
    location      = "s3://${var.bucket_name}/${local.invoices_prefix}"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.IgnoreKeyTextOutputFormat"

    ser_de_info {
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
      parameters            = { "case.insensitive" = "TRUE" }
    }

    dynamic "columns" {
      for_each = local.invoice_columns

      content {
        name = columns.value[0]
        type = columns.value[1]
      }
    }
  }
}

locals {
  invoice_columns = [
    ["tenant", "string"],
    ["period", "string"],
    ["period_start", "string"],
    ["period_end", "string"],
    ["plan", "string"],
    ["currency", "string"],
    ["usage", "array<struct<meter:string,aggregation:string,raw:bigint,raw_unit:string,quantity:string,unit:string>>"],
    ["lines", "array<struct<meter:string,model:string,quantity:string,free_units_applied:string,billable_quantity:string,exact_amount:string,amount:string>>"],
    ["subtotal", "string"],
    ["monthly_minimum", "string"],
    ["minimum_adjustment", "string"],
    ["total", "string"],
  ]
}

# Scheduled runs that failed every retry land here with the event that started them, so the
# month can be billed again by invoking the function with {"month": "YYYY-MM"}.
resource "aws_sqs_queue" "dead_letters" {
  name                      = "${var.function.function_name}-dead-letters"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = var.kms_key_arn == null ? true : null
  kms_master_key_id         = var.kms_key_arn
}

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = "${var.function.function_name}-schedule"
  description         = "Bills the previous month's API usage."
  schedule_expression = var.schedule_expression
}

resource "aws_cloudwatch_event_target" "function" {
  rule      = aws_cloudwatch_event_rule.schedule.name
  target_id = "billing"
  arn       = module.function.arn
}

resource "aws_lambda_permission" "schedule" {
  statement_id  = "AllowInvokeFromSchedule"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule.arn
}
