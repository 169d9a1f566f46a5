variable "workgroup_name" {
  description = "Name of the Athena workgroup."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,118}$", var.workgroup_name))
    error_message = "A workgroup name has 1 to 118 letters, digits, _ . or - (the functions' workgroup adds \"-functions\" within Athena's 128)."
  }
}

variable "results_bucket_name" {
  description = "Bucket for query results."
  type        = string
  nullable    = false
}

variable "force_destroy" {
  description = "Delete the results bucket's objects when it is destroyed."
  type        = bool
  default     = false
  nullable    = false
}

variable "named_queries" {
  description = "Saved queries (key => name, description, database, query)."
  type = map(object({
    name        = string
    description = string
    database    = string
    query       = string
  }))
  default  = {}
  nullable = false
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for query results; null uses SSE-S3."
  type        = string
  default     = null
}

variable "s3_access_log_bucket" {
  description = "Existing bucket receiving the results bucket's S3 server access logs; null disables them."
  type        = string
  default     = null
}

variable "query_results_retention_in_days" {
  description = "Days query results are kept."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.query_results_retention_in_days >= 1
    error_message = "Query results are kept at least one day."
  }
}

variable "noncurrent_version_retention_in_days" {
  description = "Days overwritten or deleted object versions are kept."
  type        = number
  default     = 30
  nullable    = false
}
