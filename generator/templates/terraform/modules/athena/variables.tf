variable "workgroup_name" {
  description = "Name of the Athena workgroup."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,128}$", var.workgroup_name))
    error_message = "A workgroup name has 1 to 128 letters, digits, _ . or -."
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
