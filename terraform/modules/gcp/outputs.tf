output "events_topic_id" {
  description = "Topic producers publish events to (`projects/<project>/topics/<name>-events`), with the profile as ordering key."
  value       = google_pubsub_topic.this["events"].id
}

output "topic_ids" {
  description = "Topic IDs (`projects/<project>/topics/...`) by topic: events, ingested, enriched, consent-changes."
  value       = { for k, t in google_pubsub_topic.this : k => t.id }
}

output "subscription_ids" {
  description = "Trigger subscription IDs by stream function: push, or pull for the functions in pull_functions."
  value       = { for k, s in google_pubsub_subscription.trigger : k => s.id }
}

output "dead_letter_topic_ids" {
  description = "Dead-letter topic IDs by stream function."
  value       = { for k, t in google_pubsub_topic.dead_letter : k => t.id }
}

output "dead_letter_subscription_ids" {
  description = "Pull subscription IDs of the dead-letter topics, by stream function; each keeps its messages 7 days."
  value       = { for k, s in google_pubsub_subscription.dead_letter : k => s.id }
}

output "service_names" {
  description = "Cloud Run service names by function."
  value       = { for k, s in google_cloud_run_v2_service.this : k => s.name }
}

output "service_urls" {
  description = "Cloud Run service URLs by function. Only score's is for callers; the stream services take internal traffic from their push subscriptions only."
  value       = { for k, s in google_cloud_run_v2_service.this : k => s.uri }
}

output "score_url" {
  description = "URL of the score service: the HTTP API (`POST /v1/decide`, `GET /v1/decisions/{id}`, `GET /healthz`)."
  value       = google_cloud_run_v2_service.this["score"].uri
}

output "push_audiences" {
  description = "Audience of each stream function's push OIDC tokens (TAILOR_PUSH_AUDIENCE): the service's deterministic URL, by stream function."
  value       = local.push_audience
}

output "service_account_emails" {
  description = "Service account each function runs as, by function."
  value       = { for k, a in google_service_account.this : k => a.email }
}

output "invoker_service_account_emails" {
  description = "Service account each push subscription authenticates as (TAILOR_PUSH_INVOKER), by stream function."
  value       = { for k, a in google_service_account.invoker : k => a.email }
}

output "database_name" {
  description = "ID of the Firestore database (TAILOR_FIRESTORE_DATABASE)."
  value       = google_firestore_database.this.name
}

output "collection_names" {
  description = "Firestore collection names by table."
  value       = local.collections
}

output "repository_url" {
  description = "Docker repository to push the tailor-gcp image to: `<region>-docker.pkg.dev/<project>/<repository>`."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.this.repository_id}"
}

output "token_key_secret_id" {
  description = "Secret Manager secret holding the token key (TAILOR_TOKEN_KEY)."
  value       = google_secret_manager_secret.token_key.id
}

output "kms_key_id" {
  description = "ID of the deployment's Cloud KMS key."
  value       = google_kms_crypto_key.this.id
}
