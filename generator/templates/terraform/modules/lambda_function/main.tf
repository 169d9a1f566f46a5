data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = substr("${var.function_name}-", 0, 38)
  description        = "Execution role of the Lambda function ${var.function_name}."
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is the context's deployment.log_retention_in_days, 365 days unless the owner chooses a shorter period.
  #checkov:skip=CKV_AWS_158:Encrypted by CloudWatch Logs by default and with the customer KMS key of var.kms_key_arn when the context sets deployment.kms_key_arn.
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn
}

data "aws_iam_policy_document" "runtime" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:log-stream:*"]
  }

  # X-Ray's write actions have no resource-level permissions.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.dead_letter_queue_arn == null ? [] : [var.dead_letter_queue_arn]

    content {
      sid       = "SendDeadLetters"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value]
    }
  }

  # Environment variables and dead letters encrypted with the customer key.
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "UseCustomerKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "runtime" {
  name   = "runtime"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.runtime.json
}

resource "aws_iam_role_policy" "extra" {
  for_each = var.policies

  name   = each.key
  role   = aws_iam_role.this.id
  policy = each.value
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:A dead-letter queue is set by var.dead_letter_queue_arn for asynchronously invoked functions (the scheduled compaction); API Gateway invokes the API backend, and Firehose the usage-events transformation, synchronously, so a queue would never receive anything.
  #checkov:skip=CKV_AWS_117:The functions call only public AWS APIs and hold no network resources; a VPC would add NAT or endpoint costs and no isolation.
  #checkov:skip=CKV_AWS_272:The zip is built from this repository by metering-gen and pinned by source_code_hash; code signing needs an AWS Signer profile and signing job outside this stack.
  #checkov:skip=CKV_AWS_115:No reserved concurrency: Lambda keeps part of the account's limit unreserved and a new account's whole limit may be 10, so reserving fails the apply there. The API stage throttles the backend; compaction and billing runs of one hour or month are kept apart by an S3 lease.
  #checkov:skip=CKV_AWS_173:Environment variables hold only table, database and workgroup names; Lambda encrypts them at rest, with the customer KMS key of var.kms_key_arn when the context sets deployment.kms_key_arn.
  function_name    = var.function_name
  description      = var.description
  role             = aws_iam_role.this.arn
  runtime          = "provided.al2023"
  architectures    = ["x86_64"]
  handler          = var.handler
  filename         = var.zip_path
  source_code_hash = filebase64sha256(var.zip_path)
  memory_size      = var.memory_size
  timeout          = var.timeout
  kms_key_arn      = var.kms_key_arn

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  dynamic "dead_letter_config" {
    for_each = var.dead_letter_queue_arn == null ? [] : [var.dead_letter_queue_arn]

    content {
      target_arn = dead_letter_config.value
    }
  }

  dynamic "environment" {
    for_each = length(var.environment) > 0 ? [var.environment] : []

    content {
      variables = environment.value
    }
  }

  # The function's first log lines need the log group and the permission to write to it.
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.runtime]
}
