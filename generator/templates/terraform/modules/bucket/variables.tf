variable "name" {
  description = "Name of the bucket."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name))
    error_message = "A bucket name has 3 to 63 lower-case letters, digits, dots and hyphens, and begins and ends with a letter or digit."
  }
}

variable "force_destroy" {
  description = "Delete the bucket's objects when the bucket is destroyed."
  type        = bool
  default     = false
  nullable    = false
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for default encryption; null uses SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "The KMS key must be given by its key ARN."
  }
}

variable "expirations" {
  description = "Objects to expire, by rule name: key prefix (\"\" for the whole bucket) and age in days."
  type = map(object({
    prefix = string
    days   = number
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for e in values(var.expirations) : e.days >= 1])
    error_message = "Objects expire after at least one day."
  }
}

variable "noncurrent_version_retention_in_days" {
  description = "Days an overwritten or deleted object version is kept."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.noncurrent_version_retention_in_days >= 1
    error_message = "Noncurrent versions are kept at least one day."
  }
}

variable "access_log_bucket" {
  description = "Existing bucket receiving this bucket's S3 server access logs under <name>/; null disables them."
  type        = string
  default     = null
}
