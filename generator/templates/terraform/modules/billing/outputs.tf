output "function_name" {
  description = "Name of the billing function; invoke it with {\"month\": \"YYYY-MM\"} to bill a past month."
  value       = module.function.function_name
}

output "role_arn" {
  description = "ARN of the billing function's role."
  value       = module.function.role_arn
}

output "log_group_name" {
  description = "Log group the billing function writes to."
  value       = module.function.log_group_name
}

output "invoices_location" {
  description = "S3 location of the invoice files (year=YYYY/month=MM/tenants/<tenant>.json and summary.csv)."
  value       = "s3://${var.bucket_name}/${local.invoices_prefix}"
}

output "invoices_table_name" {
  description = "Glue table over the invoices (database.table)."
  value       = "${aws_glue_catalog_table.invoices.database_name}.${aws_glue_catalog_table.invoices.name}"
}

output "dead_letter_queue_url" {
  description = "URL of the queue holding scheduled runs that failed every retry."
  value       = aws_sqs_queue.dead_letters.url
}

output "config_uri" {
  description = "S3 URI of the metering config (meters and plans) the function reads."
  value       = "s3://${var.bucket_name}/${local.config_key}"
}
