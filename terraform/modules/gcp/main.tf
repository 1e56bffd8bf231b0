# Tailor on Google Cloud: five Cloud Run services, one container image, one
# binary (`tailor-gcp <function>`), joined by Pub/Sub push subscriptions,
# state in one Firestore (Native mode) database.
#
#   producers -> events -> ingest -> ingested -> enrich -> enriched -> features
#                                                       \-> consent-changes -> consent
#   callers -> score (Cloud Run IAM, or public with score's own API keys)
#
# Each stream function's push subscription delivers to `<service URL>/push`
# with an OIDC token of the function's own invoker service account; what
# still fails after max_delivery_attempts goes to the function's dead-letter
# topic. Each function runs as its own service account, which reaches only
# the Firestore database, the topics it publishes to and its secrets
# (local.permissions in iam.tf).

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  project_number = data.google_project.this.number

  function_names = ["ingest", "enrich", "features", "consent", "score"]

  # The topic that feeds each stream function (local.permissions in iam.tf).
  # score has no subscription: it answers HTTP requests.
  triggers = { for f, p in local.permissions : f => p.triggered_by if p.triggered_by != null }

  topic_names = ["events", "ingested", "enriched", "consent-changes"]

  # Each stream function's subscription on its trigger topic, by name (a
  # pulling service is told it by name, not by reference: the push
  # subscriptions refer to the services).
  subscription_names = { for f, _ in local.triggers : f => "${var.name}-${f}" }
  pulls              = { for f, _ in local.triggers : f => contains(var.pull_functions, f) }

  # Firestore collections by table, `<name>-<table>` with the table's
  # underscores as hyphens (`<name>-feature-inputs`), as the functions name
  # them. Every document carries its expiry in the timestamp field
  # `expire_at`, which each collection's TTL policy deletes by
  # (firestore.tf).
  table_names = [
    "dedup",
    "identity",
    "feature_inputs",
    "features",
    "slow_lane",
    "consent",
    "audit",
    "dead_letters",
    "tombstones",
    "erasure_index",
    "decisions",
    "subjects",
  ]
  collections = { for t in local.table_names : t => "${var.name}-${replace(t, "_", "-")}" }

  service_names = { for f in local.function_names : f => "${var.name}-${f}" }

  # The audience of each push subscription's OIDC token, and what the
  # service checks the token against (TAILOR_PUSH_AUDIENCE). It is the
  # service's deterministic URL, known before the service exists: the
  # service's `uri` attribute cannot go into its own environment without a
  # cycle. It is also declared as the service's custom audience, so Cloud
  # Run's own token check accepts it whichever URL the service is reached on.
  push_audience = {
    for f in keys(local.triggers) :
    f => "https://${local.service_names[f]}-${local.project_number}.${var.region}.run.app"
  }

  # The Pub/Sub service agent: it mints the push OIDC tokens, forwards
  # undeliverable messages to the dead-letter topics and acknowledges them on
  # the source subscriptions.
  pubsub_agent = "serviceAccount:service-${local.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  database_id        = coalesce(var.database_id, var.name)
  firestore_location = coalesce(var.firestore_location, var.region)

  # score's API keys, when there are any: one `name sha256-hex
  # scope,scope,...` line per key, in Secret Manager (secrets.tf).
  api_keys = length(var.score_api_keys) > 0
  api_keys_text = join("", [
    for k in var.score_api_keys : "${k.name} ${lower(k.sha256)} ${join(",", sort(k.scopes))}\n"
  ])

  # Environment shared by every function, as on AWS: every function reads or
  # writes erasure tombstones, kept under keyed tokens of the identity key,
  # so every function gets the same TAILOR_TOKEN_KEY (from Secret Manager:
  # secret_environment below). Every function gets the destinations the
  # deployment holds and checks them against the policy at start-up, and
  # composes the policy overlay when one is named. A null value leaves its
  # variable unset.
  common_environment = {
    GOOGLE_CLOUD_PROJECT      = var.project_id
    TAILOR_COLLECTION_PREFIX  = var.name
    TAILOR_FIRESTORE_DATABASE = google_firestore_database.this.name
    TAILOR_LOG                = var.log_level
    TAILOR_DESTINATIONS       = join(",", var.destinations)
    TAILOR_POLICY_OVERLAY     = var.policy_overlay
  }

  # Per function: the topics it publishes to (topic ids, the short names in
  # var.project_id), and for the stream functions what the push requests'
  # OIDC tokens must carry (TAILOR_PUSH_AUDIENCE, TAILOR_PUSH_INVOKER) and
  # the expiry clock.
  function_environment = {
    ingest = {
      TAILOR_TOPIC_INGESTED    = google_pubsub_topic.this["ingested"].name
      TAILOR_PUSH_AUDIENCE     = local.push_audience["ingest"]
      TAILOR_PUSH_INVOKER      = google_service_account.invoker["ingest"].email
      TAILOR_CLOCK             = var.clock
      TAILOR_PULL_SUBSCRIPTION = local.pulls["ingest"] ? local.subscription_names["ingest"] : null
    }
    enrich = {
      TAILOR_TOPIC_ENRICHED        = google_pubsub_topic.this["enriched"].name
      TAILOR_TOPIC_CONSENT_CHANGES = google_pubsub_topic.this["consent-changes"].name
      TAILOR_PUSH_AUDIENCE         = local.push_audience["enrich"]
      TAILOR_PUSH_INVOKER          = google_service_account.invoker["enrich"].email
      TAILOR_CLOCK                 = var.clock
      TAILOR_PULL_SUBSCRIPTION     = local.pulls["enrich"] ? local.subscription_names["enrich"] : null
    }
    features = {
      TAILOR_PUSH_AUDIENCE     = local.push_audience["features"]
      TAILOR_PUSH_INVOKER      = google_service_account.invoker["features"].email
      TAILOR_CLOCK             = var.clock
      TAILOR_PULL_SUBSCRIPTION = local.pulls["features"] ? local.subscription_names["features"] : null
    }
    consent = {
      TAILOR_PUSH_AUDIENCE     = local.push_audience["consent"]
      TAILOR_PUSH_INVOKER      = google_service_account.invoker["consent"].email
      TAILOR_CLOCK             = var.clock
      TAILOR_PULL_SUBSCRIPTION = local.pulls["consent"] ? local.subscription_names["consent"] : null
    }
    score = {
      TAILOR_MODEL_DIR       = var.score_model_dir
      TAILOR_ENGINE          = var.score_engine
      TAILOR_STORE_BUDGET_MS = tostring(var.score_store_budget_ms)
    }
  }

  # How each service is billed, for its cost records (Cloud Run does not
  # tell a container its region or its limits).
  cost_environment = {
    for f in local.function_names : f => {
      TAILOR_COST_REGION = var.region
      TAILOR_CPU         = var.cpu[f]
      TAILOR_MEMORY      = var.memory[f]
    }
  }

  # What each service gets as plain environment: the maps above merged,
  # without the variables left null.
  environment = {
    for f in local.function_names : f => {
      for k, v in merge(local.common_environment, local.function_environment[f], local.cost_environment[f]) : k => v if v != null
    }
  }

  # What each service gets from Secret Manager, at the version the module
  # wrote: the token key, and score's API keys when it has any. Without
  # TAILOR_API_KEYS, score trusts Cloud Run's IAM check.
  token_key_ref = {
    secret  = google_secret_manager_secret.token_key.secret_id
    version = google_secret_manager_secret_version.token_key.version
  }
  api_keys_ref = local.api_keys ? {
    secret  = google_secret_manager_secret.api_keys[0].secret_id
    version = google_secret_manager_secret_version.api_keys[0].version
  } : null
  secret_environment = {
    for f in local.function_names : f => merge(
      { TAILOR_TOKEN_KEY = local.token_key_ref },
      f == "score" && local.api_keys ? { TAILOR_API_KEYS = local.api_keys_ref } : {},
    )
  }
}
