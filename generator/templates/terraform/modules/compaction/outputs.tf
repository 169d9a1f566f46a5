output "function_name" {
  description = "Name of the compaction function."
  value       = module.function.function_name
}

output "role_arn" {
  description = "ARN of the compaction function's role."
  value       = module.function.role_arn
}

output "log_group_name" {
  description = "Log group the compaction function writes to."
  value       = module.function.log_group_name
}

output "schedule_rule_arn" {
  description = "ARN of the EventBridge rule that starts the compaction."
  value       = aws_cloudwatch_event_rule.schedule.arn
}

output "dead_letter_queue_url" {
  description = "URL of the queue holding scheduled runs that failed every retry."
  value       = aws_sqs_queue.dead_letters.url
}

output "manifest_folder" {
  description = "Folder of the data bucket holding one manifest per compacted hour: the JSON objects its Parquet files hold."
  value       = local.manifest_folder
}
