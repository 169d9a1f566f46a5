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
  description = "The two tables: json (Firehose's hourly JSON files) and parquet (their hourly compaction)."
  type = map(object({
    database    = string
    name        = string
    description = string
    folder      = string
    columns     = list(object({ name = string, type = string, comment = string }))
  }))
  nullable = false

  validation {
    condition     = length(setsubtract(keys(var.tables), ["json", "parquet"])) == 0 && length(var.tables) == 2
    error_message = "Give exactly the tables json and parquet."
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
