# Tailor on Google Cloud: one deployment of ../../modules/gcp, holding the
# eu-central destination (the policy's regions eu and uk) in an EU region,
# with the eu policy overlay composed over the central bundle. Producers
# publish each event of those regions to its events topic; callers ask its
# score service for decisions. For another destination, add a module call
# of its own in a region where that destination's data may be kept (see the
# README).
#
# See README.md for the walkthrough: create the image repository, build and
# push the image, apply, then publish an event and ask for a decision.

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = {
    application = "tailor"
    deployment  = var.name
  }
}

module "tailor" {
  source = "../../modules/gcp"

  project_id     = var.project_id
  region         = var.region
  name           = var.name
  image          = var.image
  token_key      = var.token_key
  destinations   = ["eu-central"]
  policy_overlay = "eu"

  score_invokers        = var.score_invokers
  event_publishers      = var.event_publishers
  notification_channels = var.notification_channels
  deletion_protection   = var.deletion_protection
  monthly_budget        = var.monthly_budget
  billing_account       = var.billing_account
}
