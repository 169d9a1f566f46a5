output "bucket_name" {
  description = "Bucket holding the access logs."
  value       = module.bucket.name
}

output "bucket_arn" {
  description = "ARN of the access-log bucket."
  value       = module.bucket.arn
}

output "delivery_stream_arn" {
  description = "ARN of the Firehose stream, the API stage's access-log destination."
  value       = aws_kinesis_firehose_delivery_stream.this.arn
}

output "delivery_stream_name" {
  description = "Name of the Firehose stream."
  value       = aws_kinesis_firehose_delivery_stream.this.name
}

output "role_arn" {
  description = "ARN of the role Firehose writes with."
  value       = aws_iam_role.firehose.arn
}
