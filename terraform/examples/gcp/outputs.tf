output "repository_url" {
  description = "Docker repository to push the tailor-gcp image to."
  value       = module.tailor.repository_url
}

output "events_topic_id" {
  description = "Topic to publish events to, with the profile as ordering key."
  value       = module.tailor.events_topic_id
}

output "score_url" {
  description = "URL of the score service."
  value       = module.tailor.score_url
}

output "service_urls" {
  description = "Cloud Run service URLs by function."
  value       = module.tailor.service_urls
}

output "subscription_ids" {
  description = "Push subscription IDs by stream function."
  value       = module.tailor.subscription_ids
}

output "dead_letter_subscription_ids" {
  description = "Dead-letter pull subscription IDs by stream function."
  value       = module.tailor.dead_letter_subscription_ids
}

output "service_account_emails" {
  description = "Service account of each function."
  value       = module.tailor.service_account_emails
}

output "database_name" {
  description = "ID of the Firestore database."
  value       = module.tailor.database_name
}
