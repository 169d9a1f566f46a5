variable "api_name" {
  description = "Name of the REST API."
  type        = string
  nullable    = false
}

variable "stage_name" {
  description = "Stage whose access logs are metered."
  type        = string
  default     = "prod"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.stage_name))
    error_message = "A stage name has 1 to 128 letters, digits, - or _."
  }
}

variable "user_pool_arn" {
  description = "Cognito user pool whose ID tokens the authorizer accepts."
  type        = string
  nullable    = false
}

variable "access_log_destination_arn" {
  description = "Firehose stream receiving the metered stage's access logs."
  type        = string
  nullable    = false
}

variable "access_log_format" {
  description = "Access-log record format: one JSON object per line, ending with a newline."
  type        = string
  nullable    = false

  validation {
    condition     = endswith(var.access_log_format, "\n")
    error_message = "The format must end with a newline so that records stay one per line."
  }
}

variable "backend" {
  description = "The Lambda function behind GET /random/strings."
  type = object({
    function_name = string
    description   = string
    handler       = string
    zip_path      = string
    memory_size   = number
    timeout       = number
  })
  nullable = false
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second allowed on every method."
  type        = number
  nullable    = false
}

variable "throttling_burst_limit" {
  description = "Burst of requests allowed on every method."
  type        = number
  nullable    = false
}

variable "dev_stage" {
  description = "Also create the reference sample's unmetered dev stage, logging to CloudWatch."
  type        = bool
  default     = false
  nullable    = false

  # API Gateway writes CloudWatch access logs with the region's CloudWatch role.
  validation {
    condition     = !var.dev_stage || var.cloudwatch_account_role
    error_message = "The dev stage logs to CloudWatch Logs, which needs cloudwatch_account_role = true."
  }
}

variable "cloudwatch_account_role" {
  description = "Set the region-wide API Gateway CloudWatch role (an account setting) and turn on execution logging."
  type        = bool
  default     = false
  nullable    = false
}

variable "log_retention_in_days" {
  description = "Retention of the log groups this module creates."
  type        = number
  default     = 365
  nullable    = false
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the backend's environment and the log groups; null for AWS-managed keys."
  type        = string
  default     = null
}
