# The APIs the deployment uses. They stay enabled when the deployment is
# destroyed: other workloads of the project may use them too.

locals {
  services = [
    "artifactregistry.googleapis.com",
    "cloudkms.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
  ]
}

resource "google_project_service" "this" {
  for_each = var.enable_apis ? toset(local.services) : toset([])

  project            = var.project_id
  service            = each.key
  disable_on_destroy = false
}
