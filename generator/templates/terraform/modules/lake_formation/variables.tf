variable "principal_arn" {
  description = "IAM role granted the permissions (the compaction function's role)."
  type        = string
  nullable    = false
}

variable "databases" {
  description = "Glue databases the principal works in."
  type        = list(string)
  nullable    = false
}

variable "admins" {
  description = "Data-lake administrators to set; empty leaves the account's list untouched."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.admins : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", a))])
    error_message = "Administrators are IAM role or user ARNs."
  }
}
