# The APIs the deployment uses, and the budget API where it has a budget
# (budget.tf). They stay enabled when the deployment is destroyed: other
# workloads of the project may use them too.

locals {
  services = concat([
    "artifactregistry.googleapis.com",
    "cloudkms.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
  ], var.monthly_budget == null ? [] : ["billingbudgets.googleapis.com"])
}

resource "google_project_service" "this" {
  for_each = var.enable_apis ? toset(local.services) : toset([])

  project            = var.project_id
  service            = each.key
  disable_on_destroy = false
}
