output "events_stream_name" {
  description = "Stream to put events on."
  value       = module.tailor.events_stream_name
}

output "score_url" {
  description = "SigV4-signed Function URL of the score function."
  value       = module.tailor.score_url
}

output "function_names" {
  description = "Lambda function names by function."
  value       = module.tailor.function_names
}

output "table_names" {
  description = "DynamoDB table names by table."
  value       = module.tailor.table_names
}

output "dead_letter_queue_urls" {
  description = "Dead-letter queue URLs by stream function."
  value       = module.tailor.dead_letter_queue_urls
}

output "kms_key_arn" {
  description = "ARN of the deployment's KMS key."
  value       = module.tailor.kms_key_arn
}

output "score_invoke_policy_json" {
  description = "IAM policy to attach to callers of the score URL."
  value       = module.tailor.score_invoke_policy_json
}

output "events_producer_policy_json" {
  description = "IAM policy to attach to producers of the events stream."
  value       = module.tailor.events_producer_policy_json
}
