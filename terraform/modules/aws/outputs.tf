output "events_stream_name" {
  description = "Name of the stream producers put events on (partition key: the profile)."
  value       = aws_kinesis_stream.this["events"].name
}

output "events_stream_arn" {
  description = "ARN of the stream producers put events on."
  value       = aws_kinesis_stream.this["events"].arn
}

output "stream_names" {
  description = "Stream names by stream: events, ingested, enriched, consent-changes."
  value       = { for k, s in aws_kinesis_stream.this : k => s.name }
}

output "stream_arns" {
  description = "Stream ARNs by stream."
  value       = { for k, s in aws_kinesis_stream.this : k => s.arn }
}

output "table_names" {
  description = "DynamoDB table names by table."
  value       = { for k, t in aws_dynamodb_table.this : k => t.name }
}

output "table_arns" {
  description = "DynamoDB table ARNs by table."
  value       = { for k, t in aws_dynamodb_table.this : k => t.arn }
}

output "function_names" {
  description = "Lambda function names by function."
  value       = { for f in local.function_names : f => aws_lambda_function.this[f].function_name }
}

output "function_arns" {
  description = "Lambda function ARNs by function."
  value       = { for f in local.function_names : f => aws_lambda_function.this[f].arn }
}

output "role_arns" {
  description = "Execution role ARNs by function."
  value       = { for f in local.function_names : f => aws_iam_role.this[f].arn }
}

output "score_url" {
  description = "Function URL of the score function; requests must be SigV4-signed for the `lambda` service."
  value       = aws_lambda_function_url.score.function_url
}

output "score_invoke_policy_json" {
  description = "IAM policy that lets a caller invoke the score Function URL."
  value       = data.aws_iam_policy_document.score_invoke.json
}

output "events_producer_policy_json" {
  description = "IAM policy that lets a producer put records on the events stream."
  value       = data.aws_iam_policy_document.events_producer.json
}

output "dead_letter_queue_urls" {
  description = "Dead-letter queue URLs by stream function, and the slow lane's job's (slow-lane)."
  value       = { for k, q in aws_sqs_queue.dead_letter : k => q.url }
}

output "dead_letter_queue_arns" {
  description = "Dead-letter queue ARNs by stream function, and the slow lane's job's (slow-lane)."
  value       = { for k, q in aws_sqs_queue.dead_letter : k => q.arn }
}

output "kms_key_arn" {
  description = "ARN of the deployment's KMS key."
  value       = aws_kms_key.this.arn
}

output "ort_layer_arn" {
  description = "ARN (with version) of the ONNX Runtime layer."
  value       = aws_lambda_layer_version.ort.arn
}

output "offline_log_bucket_name" {
  description = "Name of the S3 bucket the offline log is delivered to (the enriched stream as JSON Lines, one message per line)."
  value       = aws_s3_bucket.offline_log.bucket
}

output "offline_log_bucket_arn" {
  description = "ARN of the offline log's S3 bucket."
  value       = aws_s3_bucket.offline_log.arn
}

output "offline_log_prefix" {
  description = "Key prefix of the offline log's objects in its bucket, `enriched/`; under it one folder per UTC hour of delivery, `yyyy/MM/dd/HH/`."
  value       = local.offline_log_prefix
}

output "offline_log_delivery_stream_name" {
  description = "Name of the Firehose delivery stream that writes the offline log from the enriched stream."
  value       = aws_kinesis_firehose_delivery_stream.offline_log.name
}

output "slow_lane_function_name" {
  description = "Lambda function name of the slow lane's scheduled job."
  value       = aws_lambda_function.this["slow-lane"].function_name
}

output "slow_lane_function_arn" {
  description = "Lambda function ARN of the slow lane's scheduled job."
  value       = aws_lambda_function.this["slow-lane"].arn
}

output "slow_lane_role_arn" {
  description = "Execution role ARN of the slow lane's scheduled job."
  value       = aws_iam_role.this["slow-lane"].arn
}

output "slow_lane_schedule_rule_name" {
  description = "Name of the EventBridge rule that runs the slow lane's job on slow_lane_schedule."
  value       = aws_cloudwatch_event_rule.slow_lane.name
}
