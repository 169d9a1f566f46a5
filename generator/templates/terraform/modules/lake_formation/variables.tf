variable "principal_arn" {
  description = "IAM role granted the permissions (the compaction function's role)."
  type        = string
  nullable    = false
}

variable "databases" {
  description = "Glue databases the principal works in (from the data_catalog module, so the grants follow the databases)."
  type        = list(string)
  nullable    = false
}
