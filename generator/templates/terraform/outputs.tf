output "user_pool_id" {
  description = "Cognito user pool of the API's users."
  value       = module.cognito.user_pool_id
}

output "user_pool_client_id" {
  description = "App client to sign up and sign in with."
  value       = module.cognito.user_pool_client_id
}

output "rest_api_endpoint" {
  description = "Invoke URL of the metered stage."
  value       = module.api.endpoint
}

output "dev_rest_api_endpoint" {
  description = "Invoke URL of the unmetered dev stage (api.dev_stage), or null."
  value       = module.api.dev_endpoint
}

output "access_log_bucket" {
  description = "Bucket holding the access logs (JSON) and their Parquet compaction."
  value       = module.access_logs.bucket_name
}

output "firehose_arn" {
  description = "Firehose stream receiving the access logs."
  value       = module.access_logs.delivery_stream_arn
}

output "athena_workgroup" {
  description = "Athena workgroup to query the logs in."
  value       = module.athena.workgroup_name
}

output "athena_results_bucket" {
  description = "Bucket holding Athena's query results."
  value       = module.athena.results_bucket_name
}

output "json_table" {
  description = "Glue table over the raw JSON access logs (database.table)."
  value       = module.data_catalog.json_table_name
}

output "parquet_table" {
  description = "Glue table over the compacted Parquet access logs (database.table)."
  value       = module.data_catalog.parquet_table_name
}

output "compaction_function_name" {
  description = "Lambda function compacting each hour into Parquet."
  value       = module.compaction.function_name
}

output "compaction_role_arn" {
  description = "Execution role of the compaction function."
  value       = module.compaction.role_arn
}

output "compaction_dead_letter_queue_url" {
  description = "Queue holding scheduled compaction runs that failed every retry."
  value       = module.compaction.dead_letter_queue_url
}

output "rest_api_stage_arn" {
  description = "ARN of the metered stage, e.g. to associate a WAF web ACL."
  value       = module.api.stage_arn
}
{%- if m.metering.billing %}

output "billing_function_name" {
  description = "Billing function; invoke it with {\"month\": \"YYYY-MM\"} to bill a past month again."
  value       = module.billing.function_name
}

output "invoices_location" {
  description = "S3 location of the invoice files."
  value       = module.billing.invoices_location
}

output "invoices_table" {
  description = "Glue table over the invoices (database.table)."
  value       = module.billing.invoices_table_name
}
{%- endif %}
