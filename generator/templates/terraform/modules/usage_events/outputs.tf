output "delivery_stream_name" {
  description = "Name of the Firehose stream that receives usage events."
  value       = aws_kinesis_firehose_delivery_stream.this.name
}

output "delivery_stream_arn" {
  description = "ARN of the Firehose stream that receives usage events."
  value       = aws_kinesis_firehose_delivery_stream.this.arn
}

output "writer_policy_arn" {
  description = "IAM policy that allows firehose:PutRecord and firehose:PutRecordBatch on the stream and nothing else."
  value       = aws_iam_policy.writer.arn
}

output "transform_function_name" {
  description = "The function that transforms each buffer of events."
  value       = module.transform.function_name
}

output "role_arn" {
  description = "ARN of the role Firehose transforms and writes with."
  value       = aws_iam_role.firehose.arn
}
