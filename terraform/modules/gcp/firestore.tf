# One Firestore database in Native mode, with point-in-time recovery and
# optional delete protection, in firestore_location (by default var.region).
# Collections are `<name>-<table>`, underscores as hyphens
# (`<name>-feature-inputs`); they need no creation, but each gets a
# TTL policy on `expire_at`, the timestamp every document carries, so
# Firestore deletes documents once they expire. `subjects` holds per-person
# keys that seal personal fields in decisions, audit records and dead
# letters; erasure deletes them.

resource "google_firestore_database" "this" {
  project     = var.project_id
  name        = local.database_id
  location_id = local.firestore_location
  type        = "FIRESTORE_NATIVE"

  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = "DELETE"

  dynamic "cmek_config" {
    for_each = var.firestore_cmek ? [google_kms_crypto_key.this.id] : []
    content {
      kms_key_name = cmek_config.value
    }
  }

  lifecycle {
    precondition {
      condition     = !var.firestore_cmek || local.firestore_location == var.region
      error_message = "firestore_cmek needs the database in var.region, where the deployment's key is: set firestore_location to null or to var.region."
    }
  }

  depends_on = [google_project_service.this, google_kms_crypto_key_iam_member.agents]
}

# TTL on `expire_at` for every collection. The empty index_config exempts
# the field from single-field indexing: the functions read documents by
# key and never query by expiry, and an index on a steadily increasing
# timestamp would only add write cost and hot-spot.
resource "google_firestore_field" "expire_at" {
  for_each = local.collections

  project    = var.project_id
  database   = google_firestore_database.this.name
  collection = each.value
  field      = "expire_at"

  ttl_config {}

  index_config {}
}
