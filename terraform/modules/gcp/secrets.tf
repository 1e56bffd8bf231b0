# The tokenization key, and score's API keys when score has keys, in
# Secret Manager, replicated in var.region only. Every function reads the
# token key as TAILOR_TOKEN_KEY; score reads its keys as TAILOR_API_KEYS.

resource "google_secret_manager_secret" "token_key" {
  project   = var.project_id
  secret_id = "${var.name}-token-key"
  labels    = var.labels

  # Losing the key splits every profile's history and unmatches the
  # erasure tombstones (README, "Token key").
  deletion_protection = var.deletion_protection

  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }

  depends_on = [google_project_service.this]
}

# Written through a write-only argument: the key is in neither the plan nor
# the state. A new token_key reaches the secret only with a new
# token_key_version.
resource "google_secret_manager_secret_version" "token_key" {
  secret                 = google_secret_manager_secret.token_key.id
  secret_data_wo         = var.token_key
  secret_data_wo_version = var.token_key_version
}

# score's API keys by SHA-256 digest, never the keys themselves: one
# `name sha256-hex scope,scope,...` line per key.
resource "google_secret_manager_secret" "api_keys" {
  count = local.api_keys ? 1 : 0

  project   = var.project_id
  secret_id = "${var.name}-score-api-keys"
  labels    = var.labels

  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }

  depends_on = [google_project_service.this]
}

resource "google_secret_manager_secret_version" "api_keys" {
  count = local.api_keys ? 1 : 0

  secret      = google_secret_manager_secret.api_keys[0].id
  secret_data = local.api_keys_text
}
