variable "databases" {
  description = "Glue databases to create (the JSON and the Parquet table's, once each)."
  type        = list(string)
  nullable    = false

  validation {
    condition     = alltrue([for d in var.databases : can(regex("^[a-z0-9_]{1,255}$", d))])
    error_message = "Glue database names hold only lower-case letters, digits and underscores."
  }
}

variable "bucket_name" {
  description = "Bucket holding both tables' data."
  type        = string
  nullable    = false
}

variable "tables" {
  description = "The tables: json (Firehose's hourly JSON access logs) and parquet (their hourly compaction); with usage events, also events_json and events_parquet."
  type = map(object({
    database    = string
    name        = string
    description = string
    folder      = string
    columns     = list(object({ name = string, type = string, comment = string }))
  }))
  nullable = false

  validation {
    condition     = length(setsubtract(keys(var.tables), ["json", "parquet", "events_json", "events_parquet"])) == 0 && contains(keys(var.tables), "json") && contains(keys(var.tables), "parquet") && (contains(keys(var.tables), "events_json") == contains(keys(var.tables), "events_parquet"))
    error_message = "Give the tables json and parquet, and events_json with events_parquet or neither."
  }
}

variable "projection_first_year" {
  description = "First year of the projected partitions."
  type        = number
  default     = 2020
  nullable    = false
}

variable "projection_last_year" {
  description = "Last year of the projected partitions."
  type        = number
  default     = 2099
  nullable    = false

  validation {
    condition     = var.projection_last_year >= var.projection_first_year
    error_message = "The last projected year must not be before the first."
  }
}
