# Every output is a map by deployment, eu and us:
#   terraform output -json events_stream_name | jq -r .eu

output "regions" {
  description = "AWS region of each deployment, by deployment."
  value = {
    eu = var.eu_region
    us = var.us_region
  }
}

output "events_stream_name" {
  description = "Stream to put events on, by deployment: each event goes to the deployment of its region."
  value = {
    eu = module.eu.events_stream_name
    us = module.us.events_stream_name
  }
}

output "score_url" {
  description = "SigV4-signed Function URL of the score function, by deployment."
  value = {
    eu = module.eu.score_url
    us = module.us.score_url
  }
}

output "function_names" {
  description = "Lambda function names by function, by deployment."
  value = {
    eu = module.eu.function_names
    us = module.us.function_names
  }
}

output "table_names" {
  description = "DynamoDB table names by table, by deployment."
  value = {
    eu = module.eu.table_names
    us = module.us.table_names
  }
}

output "dead_letter_queue_urls" {
  description = "Dead-letter queue URLs by stream function and of the slow lane's job (slow-lane), by deployment."
  value = {
    eu = module.eu.dead_letter_queue_urls
    us = module.us.dead_letter_queue_urls
  }
}

output "kms_key_arn" {
  description = "ARN of each deployment's KMS key, by deployment."
  value = {
    eu = module.eu.kms_key_arn
    us = module.us.kms_key_arn
  }
}

output "score_invoke_policy_json" {
  description = "IAM policy to attach to callers of the score URL, by deployment."
  value = {
    eu = module.eu.score_invoke_policy_json
    us = module.us.score_invoke_policy_json
  }
}

output "events_producer_policy_json" {
  description = "IAM policy to attach to producers of the events stream, by deployment."
  value = {
    eu = module.eu.events_producer_policy_json
    us = module.us.events_producer_policy_json
  }
}
