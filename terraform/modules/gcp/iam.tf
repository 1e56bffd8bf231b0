# One service account per function, `<name>-<function>`, and one invoker
# service account per push subscription, `<name>-<function>-push`. What each
# function's account may reach is data, local.permissions below, expanded
# once by the grants in this file. Producers (event_publishers) may publish
# to the events topic only.
#
# Every function account also gets roles/datastore.user on the deployment's
# Firestore database. Firestore has no IAM on collections or documents, and
# its roles are granted on the project: the grant carries an IAM condition
# on the database's resource name, so it reaches this database only, but
# every collection in it.

locals {
  # What each function's account may reach, by name: the topic whose
  # subscription delivers to the function, through the function's invoker
  # account (null for score, which answers HTTP requests), the topics it
  # publishes to (roles/pubsub.publisher), and the secrets it reads
  # (roles/secretmanager.secretAccessor).
  permissions = {
    ingest = {
      triggered_by = "events"
      publishes    = ["ingested"]
      secrets      = ["token_key"]
    }
    enrich = {
      triggered_by = "ingested"
      publishes    = ["enriched", "consent-changes"]
      secrets      = ["token_key"]
    }
    features = {
      triggered_by = "enriched"
      publishes    = []
      secrets      = ["token_key"]
    }
    consent = {
      triggered_by = "consent-changes"
      publishes    = []
      secrets      = ["token_key"]
    }
    score = {
      triggered_by = null
      publishes    = []
      secrets      = ["token_key", "api_keys"]
    }
  }

  # The secrets the deployment has, by name: score's API keys only with
  # score_api_keys.
  secret_ids = merge(
    { token_key = google_secret_manager_secret.token_key.secret_id },
    local.api_keys ? { api_keys = google_secret_manager_secret.api_keys[0].secret_id } : {},
  )

  # (function, topic) for every topic a function publishes to, and
  # (function, secret) for every secret it reads that the deployment has.
  publisher_grants = merge([
    for f, p in local.permissions : { for t in p.publishes : "${f}/${t}" => { function = f, topic = t } }
  ]...)
  secret_grants = merge([
    for f, p in local.permissions : {
      for s in p.secrets : "${f}/${s}" => { function = f, secret = s } if contains(keys(local.secret_ids), s)
    }
  ]...)
}

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

resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each = local.secret_grants

  project   = var.project_id
  secret_id = local.secret_ids[each.value.secret]
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.this[each.value.function].member
}

# The grants' addresses when there was one resource per secret: a state
# that holds them moves here unchanged.
moved {
  from = google_secret_manager_secret_iam_member.token_key["ingest"]
  to   = google_secret_manager_secret_iam_member.accessor["ingest/token_key"]
}

moved {
  from = google_secret_manager_secret_iam_member.token_key["enrich"]
  to   = google_secret_manager_secret_iam_member.accessor["enrich/token_key"]
}

moved {
  from = google_secret_manager_secret_iam_member.token_key["features"]
  to   = google_secret_manager_secret_iam_member.accessor["features/token_key"]
}

moved {
  from = google_secret_manager_secret_iam_member.token_key["consent"]
  to   = google_secret_manager_secret_iam_member.accessor["consent/token_key"]
}

moved {
  from = google_secret_manager_secret_iam_member.token_key["score"]
  to   = google_secret_manager_secret_iam_member.accessor["score/token_key"]
}

moved {
  from = google_secret_manager_secret_iam_member.api_keys[0]
  to   = google_secret_manager_secret_iam_member.accessor["score/api_keys"]
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
