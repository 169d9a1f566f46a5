data "aws_region" "current" {}

data "aws_partition" "current" {}

module "backend" {
  source = "../lambda_function"

  function_name         = var.backend.function_name
  description           = var.backend.description
  handler               = var.backend.handler
  zip_path              = var.backend.zip_path
  memory_size           = var.backend.memory_size
  timeout               = var.backend.timeout
  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = var.kms_key_arn
}

resource "aws_api_gateway_rest_api" "this" {
  name        = var.api_name
  description = "Metered API: every request's access log goes to Firehose."

  endpoint_configuration {
    types = ["EDGE"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_authorizer" "cognito" {
  name            = "cognito"
  rest_api_id     = aws_api_gateway_rest_api.this.id
  type            = "COGNITO_USER_POOLS"
  provider_arns   = [var.user_pool_arn]
  identity_source = "method.request.header.Authorization"
}

resource "aws_api_gateway_resource" "random" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "random"
}

resource "aws_api_gateway_resource" "strings" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.random.id
  path_part   = "strings"
}

resource "aws_api_gateway_request_validator" "parameters" {
  name                        = "parameters"
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  validate_request_parameters = true
  validate_request_body       = false
}

resource "aws_api_gateway_method" "get_strings" {
  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = aws_api_gateway_resource.strings.id
  http_method          = "GET"
  authorization        = "COGNITO_USER_POOLS"
  authorizer_id        = aws_api_gateway_authorizer.cognito.id
  request_validator_id = aws_api_gateway_request_validator.parameters.id

  # Both optional; the function checks their values and answers 400 with a JSON message.
  request_parameters = {
    "method.request.querystring.chars" = false
    "method.request.querystring.len"   = false
    "method.request.querystring.num"   = false
  }
}

resource "aws_api_gateway_integration" "get_strings" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_resource.strings.id
  http_method             = aws_api_gateway_method.get_strings.http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = module.backend.invoke_arn
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id

  # A deployment is a snapshot: take a new one whenever the API's shape changes. The ids and
  # the arguments that shape it, not whole resources: a provider release that adds an attribute
  # must not redeploy the stage (the provider's aws_api_gateway_deployment example hashes ids).
  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_authorizer.cognito.id,
      aws_api_gateway_authorizer.cognito.identity_source,
      aws_api_gateway_authorizer.cognito.provider_arns,
      aws_api_gateway_resource.random.id,
      aws_api_gateway_resource.strings.id,
      aws_api_gateway_request_validator.parameters.id,
      aws_api_gateway_request_validator.parameters.validate_request_body,
      aws_api_gateway_request_validator.parameters.validate_request_parameters,
      aws_api_gateway_method.get_strings.id,
      aws_api_gateway_method.get_strings.authorization,
      aws_api_gateway_method.get_strings.authorizer_id,
      aws_api_gateway_method.get_strings.request_parameters,
      aws_api_gateway_method.get_strings.request_validator_id,
      aws_api_gateway_integration.get_strings.id,
      aws_api_gateway_integration.get_strings.type,
      aws_api_gateway_integration.get_strings.uri,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

# Execution logging makes API Gateway create `API-Gateway-Execution-Logs_<api id>/<stage>`
# itself, with no retention, and nothing would delete it. Declared here, before the stages, as
# the provider's aws_api_gateway_stage documentation shows ("Managing the API Logging
# CloudWatch Log Group"), so it has the stack's retention and key and goes with the stack.
resource "aws_cloudwatch_log_group" "execution" {
  for_each = toset(local.execution_logged_stages)

  #checkov:skip=CKV_AWS_338:Retention is the context's deployment.log_retention_in_days, 365 days unless the owner chooses a shorter period.
  #checkov:skip=CKV_AWS_158:Encrypted by CloudWatch Logs by default and with the customer KMS key of var.kms_key_arn when the context sets deployment.kms_key_arn.
  name              = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this.id}/${each.value}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn
}

locals {
  execution_logged_stages = var.cloudwatch_account_role ? concat([var.stage_name], var.dev_stage ? ["dev"] : []) : []
}

resource "aws_api_gateway_stage" "metered" {
  #checkov:skip=CKV_AWS_120:Responses are random per request: a cache would serve the same strings again, and a cache cluster is billed by the hour.
  #checkov:skip=CKV2_AWS_51:Clients are the SaaS provider's customers, authenticated by Cognito tokens; mutual TLS needs a custom domain the context does not describe.
  #checkov:skip=CKV2_AWS_29:A WAF web ACL is an account-wide choice with its own cost; the stage has explicit throttling, and a web ACL can be associated with the stage ARN output.
  #checkov:skip=CKV2_AWS_4:Execution logging (logging_level) needs the region-wide CloudWatch role of api.cloudwatch_account_role and is on when that is set; the access logging metering relies on is always on.
  rest_api_id   = aws_api_gateway_rest_api.this.id
  deployment_id = aws_api_gateway_deployment.this.id
  stage_name    = var.stage_name
  description   = "Metered stage: access logs go to Firehose."

  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = var.access_log_destination_arn
    format          = var.access_log_format
  }

  depends_on = [aws_cloudwatch_log_group.execution]
}

resource "aws_api_gateway_method_settings" "metered" {
  #checkov:skip=CKV_AWS_225:Responses are random per request: a cache would serve the same strings again, and a cache cluster is billed by the hour.
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.metered.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = var.cloudwatch_account_role ? "ERROR" : "OFF"
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
  }

  depends_on = [aws_api_gateway_account.this, aws_cloudwatch_log_group.execution]
}

resource "aws_lambda_permission" "metered" {
  statement_id  = "AllowInvokeFromStage-${var.stage_name}"
  action        = "lambda:InvokeFunction"
  function_name = module.backend.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/${aws_api_gateway_stage.metered.stage_name}/GET/random/strings"
}

# The reference sample's second stage, logging to CloudWatch instead of Firehose.
resource "aws_cloudwatch_log_group" "dev" {
  count = var.dev_stage ? 1 : 0

  #checkov:skip=CKV_AWS_338:Retention is the context's deployment.log_retention_in_days, 365 days unless the owner chooses a shorter period.
  #checkov:skip=CKV_AWS_158:Encrypted by CloudWatch Logs by default and with the customer KMS key of var.kms_key_arn when the context sets deployment.kms_key_arn.
  name              = "/aws/apigateway/${var.api_name}/dev"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_api_gateway_stage" "dev" {
  #checkov:skip=CKV_AWS_120:Responses are random per request: a cache would serve the same strings again, and a cache cluster is billed by the hour.
  #checkov:skip=CKV2_AWS_51:Clients are the SaaS provider's customers, authenticated by Cognito tokens; mutual TLS needs a custom domain the context does not describe.
  #checkov:skip=CKV2_AWS_29:A WAF web ACL is an account-wide choice with its own cost; the stage has explicit throttling, and a web ACL can be associated with the stage ARN output.
  #checkov:skip=CKV2_AWS_4:Execution logging (logging_level) needs the region-wide CloudWatch role of api.cloudwatch_account_role and is on when that is set; the access logging metering relies on is always on.
  count = var.dev_stage ? 1 : 0

  rest_api_id   = aws_api_gateway_rest_api.this.id
  deployment_id = aws_api_gateway_deployment.this.id
  stage_name    = "dev"
  description   = "Unmetered stage: access logs go to CloudWatch Logs."

  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.dev[0].arn
    format          = var.access_log_format
  }

  depends_on = [aws_api_gateway_account.this, aws_cloudwatch_log_group.execution]
}

resource "aws_api_gateway_method_settings" "dev" {
  #checkov:skip=CKV_AWS_225:Responses are random per request: a cache would serve the same strings again, and a cache cluster is billed by the hour.
  count = var.dev_stage ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.dev[0].stage_name
  method_path = "*/*"

  # No data trace: it would log whole requests and responses, tokens included.
  settings {
    metrics_enabled        = true
    logging_level          = var.cloudwatch_account_role ? "INFO" : "OFF"
    data_trace_enabled     = false
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
  }

  depends_on = [aws_api_gateway_account.this, aws_cloudwatch_log_group.execution]
}

resource "aws_lambda_permission" "dev" {
  count = var.dev_stage ? 1 : 0

  statement_id  = "AllowInvokeFromStage-dev"
  action        = "lambda:InvokeFunction"
  function_name = module.backend.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/dev/GET/random/strings"
}

# Region-wide setting: the role API Gateway uses to write execution and CloudWatch access logs.
data "aws_iam_policy_document" "apigateway_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cloudwatch" {
  count = var.cloudwatch_account_role ? 1 : 0

  name_prefix        = "apigateway-cloudwatch-"
  description        = "Lets API Gateway write execution and access logs to CloudWatch Logs in ${data.aws_region.current.region}."
  assume_role_policy = data.aws_iam_policy_document.apigateway_assume.json
}

resource "aws_iam_role_policy_attachment" "cloudwatch" {
  count = var.cloudwatch_account_role ? 1 : 0

  role       = aws_iam_role.cloudwatch[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.cloudwatch_account_role ? 1 : 0

  # Provider 6 resets the account setting when this is destroyed.
  cloudwatch_role_arn = aws_iam_role.cloudwatch[0].arn

  depends_on = [aws_iam_role_policy_attachment.cloudwatch]
}
