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
