variable "principal_arns" {
  description = "IAM roles granted the permissions (the compaction functions' roles), by a name known at plan time."
  type        = map(string)
  nullable    = false

  validation {
    condition     = length(var.principal_arns) > 0
    error_message = "Grant at least one role."
  }
}

variable "databases" {
  description = "Glue databases the principal works in (from the data_catalog module, so the grants follow the databases)."
  type        = list(string)
  nullable    = false
}
