output "database_names" {
  description = "Names of the Glue databases."
  value       = sort([for d in aws_glue_catalog_database.this : d.name])
}

output "database_arns" {
  description = "ARNs of the Glue databases."
  value       = sort([for d in aws_glue_catalog_database.this : d.arn])
}

output "json_table_name" {
  description = "Qualified name (database.table) of the JSON table."
  value       = "${aws_glue_catalog_table.this["json"].database_name}.${aws_glue_catalog_table.this["json"].name}"
}

output "parquet_table_name" {
  description = "Qualified name (database.table) of the Parquet table."
  value       = "${aws_glue_catalog_table.this["parquet"].database_name}.${aws_glue_catalog_table.this["parquet"].name}"
}

output "tables" {
  description = "The tables (keys `json`, `parquet`, and `events_json`, `events_parquet` with usage events): database and name of each."
  value = {
    for format, table in aws_glue_catalog_table.this : format => {
      database = table.database_name
      name     = table.name
    }
  }
}
