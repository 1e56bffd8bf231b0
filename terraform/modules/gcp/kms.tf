# One customer-managed key encrypts the deployment's messages and images at
# rest: every Pub/Sub topic and the Artifact Registry repository, and the
# Firestore database when firestore_cmek is set. The service agents that
# encrypt on the deployment's behalf may use it; nothing else is granted.

resource "google_kms_key_ring" "this" {
  project  = var.project_id
  name     = var.name
  location = var.region

  depends_on = [google_project_service.this]
}

resource "google_kms_crypto_key" "this" {
  #checkov:skip=CKV_GCP_82:Terraform never deletes key material at once: destroying the key schedules its versions for destruction after destroy_scheduled_duration (var.kms_destroy_scheduled_days, default 30, as the AWS deployment's deletion window), during which they can be restored. prevent_destroy would make every `terraform destroy` of the deployment fail.
  name                       = var.name
  key_ring                   = google_kms_key_ring.this.id
  purpose                    = "ENCRYPT_DECRYPT"
  rotation_period            = "7776000s" # 90 days
  destroy_scheduled_duration = "${var.kms_destroy_scheduled_days * 86400}s"
  labels                     = var.labels
}

locals {
  # The service agents that use the key: Pub/Sub for the topics, Artifact
  # Registry for the images, and Firestore for the database if it is
  # customer-key encrypted.
  kms_agents = merge(
    {
      pubsub           = local.pubsub_agent
      artifactregistry = "serviceAccount:service-${local.project_number}@gcp-sa-artifactregistry.iam.gserviceaccount.com"
    },
    var.firestore_cmek ? { firestore = "serviceAccount:service-${local.project_number}@gcp-sa-firestore.iam.gserviceaccount.com" } : {}
  )
}

resource "google_kms_crypto_key_iam_member" "agents" {
  for_each = local.kms_agents

  crypto_key_id = google_kms_crypto_key.this.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = each.value
}
