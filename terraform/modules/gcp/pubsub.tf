# Four topics, `<name>-<topic>`, and one subscription per stream function
# on its trigger topic: a push subscription to the service, or, for the
# functions in var.pull_functions, a pull subscription the service reads. Order per profile relies on ordering keys:
# producers publish to `events` with the profile as ordering key, the
# functions publish on the same way, and every subscription delivers in
# order. Messages are kept in var.region only.
#
# What a function does not acknowledge (any answer but 2xx) is redelivered
# with exponential backoff; after max_delivery_attempts the Pub/Sub service
# agent forwards it to the function's dead-letter topic,
# `<name>-<function>-dead-letter`, whose pull subscription keeps it for 7
# days.

resource "google_pubsub_topic" "this" {
  for_each = toset(local.topic_names)

  project      = var.project_id
  name         = "${var.name}-${each.key}"
  kms_key_name = google_kms_crypto_key.this.id
  labels       = var.labels

  message_storage_policy {
    allowed_persistence_regions = [var.region]
  }

  depends_on = [google_kms_crypto_key_iam_member.agents]
}

resource "google_pubsub_topic" "dead_letter" {
  for_each = local.triggers

  project      = var.project_id
  name         = "${var.name}-${each.key}-dead-letter"
  kms_key_name = google_kms_crypto_key.this.id
  labels       = var.labels

  message_storage_policy {
    allowed_persistence_regions = [var.region]
  }

  depends_on = [google_kms_crypto_key_iam_member.agents]
}

# Stream functions: one subscription each on its trigger topic. Pushed to
# `<service URL>/push`, authenticated with an OIDC token of the function's
# invoker service account; or pulled by the service (var.pull_functions).
resource "google_pubsub_subscription" "trigger" {
  for_each = local.triggers

  project = var.project_id
  name    = local.subscription_names[each.key]
  topic   = google_pubsub_topic.this[each.value].id
  labels  = var.labels

  # A message is redelivered only after the ack deadline, so it must not
  # run out while the function still works on the request.
  ack_deadline_seconds       = var.timeout[each.key]
  enable_message_ordering    = true
  message_retention_duration = "${var.subscription_retention_seconds}s"

  dynamic "push_config" {
    for_each = local.pulls[each.key] ? [] : [each.key]
    content {
      push_endpoint = "${google_cloud_run_v2_service.this[each.key].uri}/push"

      oidc_token {
        service_account_email = google_service_account.invoker[each.key].email
        audience              = local.push_audience[each.key]
      }
    }
  }

  retry_policy {
    minimum_backoff = "${var.minimum_backoff_seconds}s"
    maximum_backoff = "${var.maximum_backoff_seconds}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter[each.key].id
    max_delivery_attempts = var.max_delivery_attempts
  }

  # Never expire for inactivity: a quiet deployment keeps its pipeline.
  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.push_invoker,
    google_service_account_iam_member.push_token_creator,
  ]
}

# Dead letters wait on a pull subscription, 7 days, the longest Pub/Sub
# keeps messages on a subscription.
resource "google_pubsub_subscription" "dead_letter" {
  for_each = local.triggers

  project = var.project_id
  name    = "${var.name}-${each.key}-dead-letter"
  topic   = google_pubsub_topic.dead_letter[each.key].id
  labels  = var.labels

  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"
  retain_acked_messages      = true

  expiration_policy {
    ttl = ""
  }
}

# The Pub/Sub service agent forwards undeliverable messages: it publishes
# to each dead-letter topic and acknowledges on each source subscription.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.triggers

  project = var.project_id
  topic   = google_pubsub_topic.dead_letter[each.key].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each = local.triggers

  project      = var.project_id
  subscription = google_pubsub_subscription.trigger[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# A pulling service reads and acknowledges its own subscription.
resource "google_pubsub_subscription_iam_member" "pull" {
  for_each = var.pull_functions

  project      = var.project_id
  subscription = google_pubsub_subscription.trigger[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_service_account.this[each.key].email}"
}
