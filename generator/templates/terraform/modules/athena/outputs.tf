output "workgroup_name" {
  description = "Name of the workgroup."
  value       = aws_athena_workgroup.this.name
}

output "workgroup_arn" {
  description = "ARN of the workgroup."
  value       = aws_athena_workgroup.this.arn
}

output "functions_workgroup_name" {
  description = "Name of the workgroup the functions' queries run in (it does not enforce its result location, so CTAS may name one)."
  value       = aws_athena_workgroup.functions.name
}

output "functions_workgroup_arn" {
  description = "ARN of the functions' workgroup."
  value       = aws_athena_workgroup.functions.arn
}

output "results_bucket_name" {
  description = "Bucket holding query results."
  value       = module.results_bucket.name
}

output "results_bucket_arn" {
  description = "ARN of the results bucket."
  value       = module.results_bucket.arn
}
