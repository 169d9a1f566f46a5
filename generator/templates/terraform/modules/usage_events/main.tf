data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  # Firehose writes only under these two folders of the bucket.
  error_root = regex("^[^!]*", var.error_output_prefix)
  data_root  = regex("^[^!]*", var.prefix)
}

# Each buffer of records passes through this function before delivery: every line comes back
# in canonical form (epoch-millisecond time, the exact value as a string) or flagged with why
# it cannot be billed, so the objects are JSON Lines whatever the sender wrote.
module "transform" {
  source = "../lambda_function"

  function_name         = var.function.function_name
  description           = var.function.description
  handler               = var.function.handler
  zip_path              = var.function.zip_path
  memory_size           = var.function.memory_size
  timeout               = var.function.timeout
  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = var.kms_key_arn
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
  name_prefix        = "usage-event-delivery-"
  description        = "Lets Firehose stream ${var.delivery_stream_name} transform usage events and write them to S3."
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "delivery" {
  statement {
    sid = "FindTheBucket"
    actions = [
      "s3:GetBucketLocation",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
    ]
    resources = [var.bucket_arn]
  }

  statement {
    sid = "WriteUsageEvents"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetObject",
      "s3:PutObject",
    ]
    resources = ["${var.bucket_arn}/${local.data_root}*", "${var.bucket_arn}/${local.error_root}*"]
  }

  # Firehose Developer Guide, "Controlling access with Amazon Data Firehose", "Grant Firehose
  # access to an Amazon S3 destination": a stream that transforms its data needs
  # lambda:InvokeFunction and lambda:GetFunctionConfiguration on the function (and version).
  statement {
    sid       = "TransformUsageEvents"
    actions   = ["lambda:GetFunctionConfiguration", "lambda:InvokeFunction"]
    resources = [module.transform.arn, "${module.transform.arn}:*"]
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
    bucket_arn          = var.bucket_arn
    prefix              = var.prefix
    error_output_prefix = var.error_output_prefix
    buffering_size      = var.buffering_size_in_mbs
    buffering_interval  = var.buffering_interval_in_seconds
    compression_format  = "UNCOMPRESSED"

    # Only the function: the processor's buffer keeps its default of 1 MB (Firehose API
    # Reference, ProcessorParameter: "The default buffering hint is 1MB"), so that the
    # function's answer, at most twice that and base64-encoded, fits Lambda's 6 MB response.
    # The provider stores no parameter left at its default ("it is therefore recommended to
    # only include parameters with non-default values", resource docs), and asks for the
    # function's version in its ARN ("When providing a Lambda ARN, you should specify the
    # resource version as well").
    processing_configuration {
      enabled = true

      processors {
        type = "Lambda"

        parameters {
          parameter_name  = "LambdaArn"
          parameter_value = "${module.transform.arn}:$LATEST"
        }
      }
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.delivery.name
      log_stream_name = aws_cloudwatch_log_stream.s3_delivery.name
    }
  }

  # Firehose checks at creation that its role can write to the bucket.
  depends_on = [aws_iam_role_policy.delivery]
}

# For the backend's role: sending events to this stream, and nothing else.
data "aws_iam_policy_document" "writer" {
  statement {
    sid       = "SendUsageEvents"
    actions   = ["firehose:PutRecord", "firehose:PutRecordBatch"]
    resources = [aws_kinesis_firehose_delivery_stream.this.arn]
  }
}

resource "aws_iam_policy" "writer" {
  name_prefix = "usage-event-writer-"
  description = "Send usage events to Firehose stream ${var.delivery_stream_name}; attach to the SaaS backend's role."
  policy      = data.aws_iam_policy_document.writer.json
}
