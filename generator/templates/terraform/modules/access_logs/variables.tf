variable "bucket_name" {
  description = "Bucket that receives the access logs."
  type        = string
  nullable    = false
}

variable "force_destroy" {
  description = "Delete the bucket's objects when the bucket is destroyed."
  type        = bool
  default     = false
  nullable    = false
}

variable "delivery_stream_name" {
  description = "Firehose stream name; API Gateway requires the amazon-apigateway- prefix."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^amazon-apigateway-[A-Za-z0-9_.-]+$", var.delivery_stream_name)) && length(var.delivery_stream_name) <= 64
    error_message = "The stream name must start with amazon-apigateway-, hold only letters, digits, _ . - and have at most 64 characters."
  }
}

variable "buffering_size_in_mbs" {
  description = "Firehose buffer size in MiB before a file is written."
  type        = number
  nullable    = false

  validation {
    condition     = var.buffering_size_in_mbs >= 1 && var.buffering_size_in_mbs <= 128
    error_message = "The buffer size must be between 1 and 128 MiB."
  }
}

variable "buffering_interval_in_seconds" {
  description = "Firehose buffer interval in seconds before a file is written."
  type        = number
  nullable    = false

  validation {
    condition     = var.buffering_interval_in_seconds >= 0 && var.buffering_interval_in_seconds <= 900
    error_message = "The buffer interval must be between 0 and 900 seconds."
  }
}

variable "prefix" {
  description = "S3 key prefix of delivered records, with Firehose timestamp expressions."
  type        = string
  nullable    = false
}

variable "error_output_prefix" {
  description = "S3 key prefix of records Firehose could not deliver."
  type        = string
  nullable    = false
}

variable "log_retention_in_days" {
  description = "Retention of the delivery-error log group."
  type        = number
  default     = 365
  nullable    = false
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the bucket, the stream and the log group; null uses AWS-owned keys and SSE-S3."
  type        = string
  default     = null
}

variable "s3_access_log_bucket" {
  description = "Existing bucket receiving the bucket's S3 server access logs; null disables them."
  type        = string
  default     = null
}

variable "json_retention_in_days" {
  description = "Days the raw JSON access logs (and Firehose's error output) are kept."
  type        = number
  default     = 90
  nullable    = false

  validation {
    condition     = var.json_retention_in_days >= 2
    error_message = "Raw JSON is kept at least two days, so that every hour can be compacted."
  }
}

variable "other_raw_folders" {
  description = "Other streams' raw folders in the bucket (rule name => key prefix ending in /), expired after json_retention_in_days like the access logs."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for name, prefix in var.other_raw_folders : can(regex("^[A-Za-z0-9-]+$", name)) && can(regex("^[A-Za-z0-9!_.*()=/-]+/$", prefix))])
    error_message = "Rule names hold letters, digits and dashes; prefixes end with /."
  }
}

variable "noncurrent_version_retention_in_days" {
  description = "Days overwritten or deleted object versions are kept."
  type        = number
  default     = 30
  nullable    = false
}
