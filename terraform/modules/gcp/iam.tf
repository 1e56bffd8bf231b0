# One service account per function, `<name>-<function>`, and one invoker
# service account per push subscription, `<name>-<function>-push`.
#
#   function  runs as             publishes to               invoked by
#   ingest    <name>-ingest       ingested                   <name>-ingest-push (events)
#   enrich    <name>-enrich       enriched, consent-changes  <name>-enrich-push (ingested)
#   features  <name>-features     -                          <name>-features-push (enriched)
#   consent   <name>-consent      -                          <name>-consent-push (consent-changes)
#   score     <name>-score        -                          score_invokers, or anyone with score_public
#
# Producers (event_publishers) may publish to the events topic only.
#
# Every function account also gets roles/datastore.user on the deployment's
# Firestore database and roles/secretmanager.secretAccessor on the token
# key (score on its API keys too). Firestore has no IAM on collections or
# documents, and its roles are granted on the project: the grant carries an
# IAM condition on the database's resource name, so it reaches this
# database only, but every collection in it.

resource "google_service_account" "this" {
  for_each = toset(local.function_names)

  project      = var.project_id
  account_id   = "${var.name}-${each.key}"
  display_name = "Tailor ${var.name}: ${each.key}"
  description  = "Runs the ${each.key} function of the Tailor deployment ${var.name}."

  depends_on = [google_project_service.this]
}

resource "google_service_account" "invoker" {
  for_each = local.triggers

  project      = var.project_id
  account_id   = "${var.name}-${each.key}-push"
  display_name = "Tailor ${var.name}: ${each.key} push"
  description  = "Pushes ${var.name}-${each.value} messages to the ${each.key} function of the Tailor deployment ${var.name}."

  depends_on = [google_project_service.this]
}

resource "google_project_iam_member" "firestore" {
  for_each = toset(local.function_names)

  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.this[each.key].member

  condition {
    title       = "${var.name}-firestore"
    description = "The Firestore database of the Tailor deployment ${var.name} only."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${google_firestore_database.this.name}\""
  }
}

locals {
  # (function, topic) for every topic a function publishes to.
  publisher_grants = merge([
    for f, topics in local.publishes : { for t in topics : "${f}/${t}" => { function = f, topic = t } }
  ]...)
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = local.publisher_grants

  project = var.project_id
  topic   = google_pubsub_topic.this[each.value.topic].name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.this[each.value.function].member
}

# Producers of events: they may publish to the events topic only.
resource "google_pubsub_topic_iam_member" "event_publisher" {
  for_each = toset(var.event_publishers)

  project = var.project_id
  topic   = google_pubsub_topic.this["events"].name
  role    = "roles/pubsub.publisher"
  member  = each.value
}

resource "google_secret_manager_secret_iam_member" "token_key" {
  for_each = toset(local.function_names)

  project   = var.project_id
  secret_id = google_secret_manager_secret.token_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.this[each.key].member
}

resource "google_secret_manager_secret_iam_member" "api_keys" {
  count = local.api_keys ? 1 : 0

  project   = var.project_id
  secret_id = google_secret_manager_secret.api_keys[0].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.this["score"].member
}

# Each invoker may invoke its own function's service and nothing else.
resource "google_cloud_run_v2_service_iam_member" "push_invoker" {
  for_each = local.triggers

  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.this[each.key].name
  role     = "roles/run.invoker"
  member   = google_service_account.invoker[each.key].member
}

# The Pub/Sub service agent mints the push OIDC tokens of each invoker
# account, on that account only. Projects created since April 2021 grant
# it this through its own role; older ones need the grant.
resource "google_service_account_iam_member" "push_token_creator" {
  for_each = local.triggers

  service_account_id = google_service_account.invoker[each.key].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

# score's callers, when it is not public: each gets roles/run.invoker on the
# score service only.
resource "google_cloud_run_v2_service_iam_member" "score_invoker" {
  for_each = var.score_public ? toset([]) : toset(var.score_invokers)

  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.this["score"].name
  role     = "roles/run.invoker"
  member   = each.value
}
