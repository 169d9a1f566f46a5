variable "function" {
  description = "The billing Lambda function."
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
  description = "EventBridge schedule of the monthly billing run."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.schedule_expression))
    error_message = "The schedule is an EventBridge cron(...) or rate(...) expression."
  }
}

variable "config_json" {
  description = "The meters and price plans (the metering section of the context, checked by metering-gen), as JSON."
  type        = string
  nullable    = false

  validation {
    condition     = can(jsondecode(var.config_json).meters) && can(jsondecode(var.config_json).pricing)
    error_message = "The configuration is a JSON object with meters and pricing."
  }
}

variable "bucket_name" {
  description = "Bucket holding the Parquet access logs, the configuration object and the invoices."
  type        = string
  nullable    = false
}

variable "bucket_arn" {
  description = "ARN of that bucket."
  type        = string
  nullable    = false
}

variable "usage_table" {
  description = "The Parquet table of access logs the usage query reads (database, name, folder)."
  type        = object({ database = string, name = string, folder = string })
  nullable    = false
}

variable "json_folder" {
  description = "Folder of the bucket holding the JSON access logs: every hour of a month must have its objects in Parquet before the month is billed."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*()=-]+(/[A-Za-z0-9!_.*()=-]+)*$", var.json_folder))
    error_message = "json_folder must be a folder name without leading or trailing slashes."
  }
}

variable "manifest_folder" {
  description = "Folder of the bucket holding the compaction's manifests (the compaction module's manifest_folder output)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*()=-]+(/[A-Za-z0-9!_.*()=-]+)*$", var.manifest_folder))
    error_message = "manifest_folder must be a folder name without leading or trailing slashes."
  }
}

variable "events" {
  description = "The usage events' Parquet table (database, name, folder), their JSON folder and their compaction's manifest folder; null without usage events."
  type = object({
    database        = string
    name            = string
    folder          = string
    json_folder     = string
    manifest_folder = string
  })
  default = null

  validation {
    condition     = var.events == null || alltrue([for f in try([var.events.folder, var.events.json_folder, var.events.manifest_folder], []) : can(regex("^[A-Za-z0-9!_.*()=-]+(/[A-Za-z0-9!_.*()=-]+)*$", f))])
    error_message = "The events' folders are folder names without leading or trailing slashes."
  }
}

variable "invoices_table" {
  description = "Where the Glue table over the invoices goes (database, name)."
  type        = object({ database = string, name = string })
  nullable    = false
}

variable "projection_first_year" {
  description = "First year of the invoices table's partition projection."
  type        = number
  nullable    = false
}

variable "projection_last_year" {
  description = "Last year of the invoices table's partition projection."
  type        = number
  nullable    = false

  validation {
    condition     = var.projection_last_year >= var.projection_first_year
    error_message = "The last year may not be before the first."
  }
}

variable "workgroup_name" {
  description = "Athena workgroup the usage query runs in."
  type        = string
  nullable    = false
}

variable "workgroup_arn" {
  description = "ARN of that workgroup."
  type        = string
  nullable    = false
}

variable "results_bucket_name" {
  description = "Bucket of the Athena query results, which also holds the function's per-month leases."
  type        = string
  nullable    = false
}

variable "results_bucket_arn" {
  description = "ARN of the workgroup's query-results bucket."
  type        = string
  nullable    = false
}

variable "grant_lake_formation" {
  description = "Grant the function's role SELECT on the usage table in Lake Formation."
  type        = bool
  default     = true
  nullable    = false
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 365
  nullable    = false
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the configuration object, logs, environment and queue; null uses AWS-managed keys."
  type        = string
  default     = null
}
