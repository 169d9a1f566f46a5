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

variable "data_source" {
  description = "What the job compacts: access_logs (API Gateway's access logs) or usage_events (the backend's usage events)."
  type        = string
  default     = "access_logs"
  nullable    = false

  validation {
    condition     = contains(["access_logs", "usage_events"], var.data_source)
    error_message = "The source is access_logs or usage_events."
  }
}

variable "column_names" {
  description = "Access-log columns copied into Parquet, in order; the usage events' columns are fixed (leave it empty)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = (var.data_source == "access_logs") == (length(var.column_names) > 0)
    error_message = "The access logs copy at least one column; the usage events take none."
  }
}

variable "late_arrival_hours" {
  description = "The billing's late_arrival_hours: an event whose hour folder no month's bill reads is marked, not billed. Usage events only."
  type        = number
  default     = null

  validation {
    condition     = (var.data_source == "usage_events") == (var.late_arrival_hours != null) && (var.late_arrival_hours == null || try(var.late_arrival_hours >= 1 && var.late_arrival_hours <= 22, false))
    error_message = "Give late_arrival_hours (1 to 22) for the usage events, and only for them."
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
