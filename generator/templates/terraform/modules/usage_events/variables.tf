variable "delivery_stream_name" {
  description = "Firehose stream the SaaS backend sends its usage events to."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,64}$", var.delivery_stream_name))
    error_message = "The stream name must hold 1 to 64 letters, digits, _ . or -."
  }
}

variable "bucket_arn" {
  description = "ARN of the bucket that receives the events (the access-log bucket)."
  type        = string
  nullable    = false
}

variable "prefix" {
  description = "S3 key prefix of delivered events, with Firehose timestamp expressions."
  type        = string
  nullable    = false
}

variable "error_output_prefix" {
  description = "S3 key prefix of records Firehose could not transform or deliver."
  type        = string
  nullable    = false
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

variable "log_retention_in_days" {
  description = "Retention of the delivery-error and function log groups."
  type        = number
  default     = 365
  nullable    = false
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the stream, the log groups and the function's environment; null uses AWS-owned and AWS-managed keys."
  type        = string
  default     = null
}

variable "function" {
  description = "The transformation function, as its crate's [package.metadata.lambda] describes it."
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
