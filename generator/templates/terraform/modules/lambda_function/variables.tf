variable "function_name" {
  description = "Name of the function; its log group is /aws/lambda/<name>."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "A function name has 1 to 64 letters, digits, - or _."
  }
}

variable "description" {
  description = "Description of the function."
  type        = string
  default     = ""
  nullable    = false
}

variable "handler" {
  description = "Handler name passed to the custom runtime."
  type        = string
  default     = "bootstrap"
  nullable    = false
}

variable "zip_path" {
  description = "Path of the zip holding the function's bootstrap executable."
  type        = string
  nullable    = false
}

variable "memory_size" {
  description = "Memory in MB."
  type        = number
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "Memory must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  nullable    = false

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "The timeout must be between 1 and 900 seconds."
  }
}

variable "environment" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "policies" {
  description = "Inline IAM policies (name => JSON document) added to the execution role."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 365
  nullable    = false
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the environment variables and the log group; null uses AWS-managed keys."
  type        = string
  default     = null
}

variable "dead_letter_queue_arn" {
  description = "SQS queue receiving asynchronous invocations that failed every retry; null for none."
  type        = string
  default     = null
}
