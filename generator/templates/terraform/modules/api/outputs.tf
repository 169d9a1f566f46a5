output "rest_api_id" {
  description = "ID of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "endpoint" {
  description = "Invoke URL of the metered stage."
  value       = aws_api_gateway_stage.metered.invoke_url
}

output "dev_endpoint" {
  description = "Invoke URL of the dev stage, or null."
  value       = one(aws_api_gateway_stage.dev[*].invoke_url)
}

output "backend_function_name" {
  description = "Name of the Lambda function behind the API."
  value       = module.backend.function_name
}

output "stage_arn" {
  description = "ARN of the metered stage, e.g. to associate a WAF web ACL."
  value       = aws_api_gateway_stage.metered.arn
}

output "metered_path" {
  description = "Path of the metered method (GET), from the stage's invoke URL: /random/strings."
  value       = aws_api_gateway_resource.strings.path
}
