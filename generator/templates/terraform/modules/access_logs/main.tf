data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  # The literal part of the error prefix, before Firehose's first !{...} expression.
  error_root = regex("^[^!]*", var.error_output_prefix)
  json_root  = regex("^[^!]*", var.prefix)
}

module "bucket" {
  source = "../bucket"

  name                                 = var.bucket_name
  force_destroy                        = var.force_destroy
  kms_key_arn                          = var.kms_key_arn
  access_log_bucket                    = var.s3_access_log_bucket
  noncurrent_version_retention_in_days = var.noncurrent_version_retention_in_days

  # The raw JSON is compacted hourly; Parquet data is kept until deleted. One lifecycle
  # configuration holds every rule of a bucket, so the other streams' folders come in here.
  expirations = merge(
    { raw-json = { prefix = local.json_root, days = var.json_retention_in_days } },
    local.error_root == "" ? {} : { delivery-errors = { prefix = local.error_root, days = var.json_retention_in_days } },
    { for name, prefix in var.other_raw_folders : name => { prefix = prefix, days = var.json_retention_in_days } },
  )
}

resource "aws_cloudwatch_log_group" "delivery" {
  #checkov:skip=CKV_AWS_338:Retention is the context's deployment.log_retention_in_days, 365 days unless the owner chooses a shorter period.
  #checkov:skip=CKV_AWS_158:Encrypted by CloudWatch Logs by default and with the customer KMS key of var.kms_key_arn when the context sets deployment.kms_key_arn.
  name              = "/aws/kinesisfirehose/${var.delivery_stream_name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_cloudwatch_log_stream" "s3_delivery" {
  name           = "S3Delivery"
  log_group_name = aws_cloudwatch_log_group.delivery.name
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "firehose" {
  name_prefix        = "access-log-delivery-"
  description        = "Lets Firehose stream ${var.delivery_stream_name} write API access logs to S3."
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "delivery" {
  statement {
    sid = "WriteAccessLogs"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetBucketLocation",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
      "s3:PutObject",
    ]
    resources = [module.bucket.arn, "${module.bucket.arn}/*"]
  }

  statement {
    sid       = "LogDeliveryErrors"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.delivery.arn}:log-stream:${aws_cloudwatch_log_stream.s3_delivery.name}"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "EncryptWithCustomerKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${data.aws_region.current.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "delivery" {
  name   = "delivery"
  role   = aws_iam_role.firehose.id
  policy = data.aws_iam_policy_document.delivery.json
}

resource "aws_kinesis_firehose_delivery_stream" "this" {
  #checkov:skip=CKV_AWS_241:Encrypted with an AWS-owned key by default and with the customer KMS key of var.kms_key_arn when the context sets deployment.kms_key_arn.
  name        = var.delivery_stream_name
  destination = "extended_s3"

  server_side_encryption {
    enabled  = true
    key_type = var.kms_key_arn == null ? "AWS_OWNED_CMK" : "CUSTOMER_MANAGED_CMK"
    key_arn  = var.kms_key_arn
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.firehose.arn
    bucket_arn          = module.bucket.arn
    prefix              = var.prefix
    error_output_prefix = var.error_output_prefix
    buffering_size      = var.buffering_size_in_mbs
    buffering_interval  = var.buffering_interval_in_seconds
    compression_format  = "UNCOMPRESSED"

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.delivery.name
      log_stream_name = aws_cloudwatch_log_stream.s3_delivery.name
    }
  }

  # Firehose checks at creation that its role can write to the bucket.
  depends_on = [aws_iam_role_policy.delivery]
}
