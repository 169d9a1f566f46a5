variable "function" {
  description = "The compaction Lambda function."
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

variable "schedule_expression" {
  description = "EventBridge schedule of the compaction."
  type        = string
  default     = "cron(10 * * * ? *)"
  nullable    = false

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.schedule_expression))
    error_message = "The schedule is an EventBridge cron(...) or rate(...) expression."
  }
}

variable "data_bucket_name" {
  description = "Bucket holding the JSON and Parquet folders."
  type        = string
  nullable    = false
}

variable "data_bucket_arn" {
  description = "ARN of that bucket."
  type        = string
  nullable    = false
}

variable "json_table" {
  description = "The JSON table read (database, name, folder)."
  type        = object({ database = string, name = string, folder = string })
  nullable    = false
}

variable "parquet_table" {
  description = "The Parquet table written (database, name, folder)."
  type        = object({ database = string, name = string, folder = string })
  nullable    = false
}

variable "column_names" {
  description = "Columns copied into Parquet, in order."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.column_names) > 0
    error_message = "At least one column is copied."
  }
}

variable "workgroup_name" {
  description = "Athena workgroup the queries run in."
  type        = string
  nullable    = false
}

variable "workgroup_arn" {
  description = "ARN of that workgroup."
  type        = string
  nullable    = false
}

variable "results_bucket_name" {
  description = "Bucket for the queries' results."
  type        = string
  nullable    = false
}

variable "results_bucket_arn" {
  description = "ARN of that bucket."
  type        = string
  nullable    = false
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 365
  nullable    = false
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key encrypting the data the job reads and writes, its environment, logs and dead letters; null for AWS-managed keys."
  type        = string
  default     = null
}

variable "delay_minutes" {
  description = "Minutes after an hour ends before its folder is compacted; must exceed Firehose's buffer interval."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.delay_minutes >= 0 && var.delay_minutes <= 59
    error_message = "The delay is 0 to 59 minutes."
  }
}
