data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  glue_arn_prefix = "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}"
  databases       = distinct([var.json_table.database, var.parquet_table.database])
  json_location   = "s3://${var.data_bucket_name}/${var.json_table.folder}"
  parquet_prefix  = "s3://${var.data_bucket_name}/${var.parquet_table.folder}"
  events          = var.data_source == "usage_events"
  lock_prefix     = local.events ? "locks/usage-events-compaction" : "locks/compaction"
  # One manifest per compacted hour, outside both tables' folders (Athena reads every object
  # under a table's location as data): which JSON objects the hour's Parquet files hold.
  manifest_folder = local.events ? "usage-events-manifests" : "compaction-manifests"
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

  # The usage events' columns are fixed: the function knows them, and the window of each
  # hour's events comes from the billing's late_arrival_hours. Both branches are maps of
  # strings: a conditional's two object types with different attributes would not unify.
  environment = merge(local.events ? tomap({
    SOURCE             = var.data_source
    LATE_ARRIVAL_HOURS = tostring(var.late_arrival_hours)
    }) : tomap({
    COLUMN_NAMES = join(",", var.column_names)
    }), {
    OLD_DATABASE              = var.json_table.database
    OLD_TABLE_NAME            = var.json_table.name
    NEW_DATABASE              = var.parquet_table.database
    NEW_TABLE_NAME            = var.parquet_table.name
    ATHENA_WORK_GROUP         = var.workgroup_name
    OLD_TABLE_LOCATION_PREFIX = local.json_location
    OUTPUT_PREFIX             = local.parquet_prefix
    STAGING_OUTPUT_PREFIX     = "s3://${var.results_bucket_name}/compaction"
    REGION_NAME               = data.aws_region.current.region
    COMPACTION_DELAY_MINUTES  = tostring(var.delay_minutes)
    MANIFEST_PREFIX           = "s3://${var.data_bucket_name}/${local.manifest_folder}"
    # Two runs compacting the same hour at once would race on its Parquet folder: each holds
    # a lease object per hour here (S3 conditional writes) instead of a reserved concurrency,
    # which an account whose concurrency limit is still 10 cannot grant.
    LOCK_PREFIX = "s3://${var.results_bucket_name}/${local.lock_prefix}"
  })

  policies = {
    compaction = data.aws_iam_policy_document.compaction.json
  }
}

data "aws_iam_policy_document" "compaction" {
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
    sid = "ReadAndWriteCatalog"
    actions = [
      "glue:CreateTable",
      "glue:DeleteTable",
      "glue:GetDatabase",
      "glue:GetPartition",
      "glue:GetPartitions",
      "glue:GetTable",
    ]
    resources = concat(
      ["${local.glue_arn_prefix}:catalog"],
      [for db in local.databases : "${local.glue_arn_prefix}:database/${db}"],
      [for db in local.databases : "${local.glue_arn_prefix}:table/${db}/*"],
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
    resources = [var.data_bucket_arn]
  }

  # Listing only its three folders: an hour's JSON objects, its Parquet files (to clear them)
  # and its manifest (is there one?).
  statement {
    sid       = "ListItsFolders"
    actions   = ["s3:ListBucket"]
    resources = [var.data_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.json_table.folder}/*", "${var.parquet_table.folder}/*", "${local.manifest_folder}/*"]
    }
  }

  statement {
    sid       = "ReadJson"
    actions   = ["s3:GetObject"]
    resources = ["${var.data_bucket_arn}/${var.json_table.folder}/*"]
  }

  statement {
    sid = "WriteParquet"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:PutObject",
    ]
    resources = ["${var.data_bucket_arn}/${var.parquet_table.folder}/*"]
  }

  statement {
    sid       = "HourManifests"
    actions   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = ["${var.data_bucket_arn}/${local.manifest_folder}/*"]
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

  # The per-hour leases: conditional PutObject (If-None-Match, If-Match, which also needs
  # GetObject) and a conditional DeleteObject to release ("Conditional writes", "Conditional
  # deletes", S3 User Guide).
  statement {
    sid       = "HourLeases"
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

# Scheduled runs that failed every retry land here with the event that started them, so the
# hour they were compacting can be backfilled.
resource "aws_sqs_queue" "dead_letters" {
  name                      = "${var.function.function_name}-dead-letters"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = var.kms_key_arn == null ? true : null
  kms_master_key_id         = var.kms_key_arn
}

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = "${var.function.function_name}-schedule"
  description         = local.events ? "Compacts the previous hour of usage events into Parquet." : "Compacts the previous hour of access logs into Parquet."
  schedule_expression = var.schedule_expression
}

resource "aws_cloudwatch_event_target" "function" {
  rule      = aws_cloudwatch_event_rule.schedule.name
  target_id = "compaction"
  arn       = module.function.arn
}

resource "aws_lambda_permission" "schedule" {
  statement_id  = "AllowInvokeFromSchedule"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule.arn
}
