output "workgroup_name" {
  description = "Name of the workgroup."
  value       = aws_athena_workgroup.this.name
}

output "workgroup_arn" {
  description = "ARN of the workgroup."
  value       = aws_athena_workgroup.this.arn
}

output "results_bucket_name" {
  description = "Bucket holding query results."
  value       = module.results_bucket.name
}

output "results_bucket_arn" {
  description = "ARN of the results bucket."
  value       = module.results_bucket.arn
}
