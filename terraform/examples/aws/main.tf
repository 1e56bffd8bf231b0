# Tailor on AWS, one deployment per residency destination. Each event's
# region has one approved destination in the policy
# (shared/policy/entities.json): eu and uk go to eu-central, us to us-east.
# The eu deployment holds eu-central only, in an EU region; the us
# deployment holds us-east only, in a US region. Each has its own streams,
# tables, key and functions, and refuses the other's events: producers send
# each event to the events stream of its region's deployment, and callers
# ask that deployment's score URL for decisions. The eu deployment composes
# the eu policy overlay (shared/policy/overlays/eu.cedar and eu.json) over
# the central bundle: the overlay only forbids more and keeps data for
# less. The us deployment applies the central bundle alone.
#
# Both take consent changes from their events stream (stream_consent):
# its only producers are the principals given events_producer_policy_json,
# trusted with consent, and the stream is the only way consent changes
# reach a deployment on AWS.
#
# See ../../modules/aws/README.md for the walkthrough: build the packages,
# fetch the ONNX Runtime layer, apply, then send an event and ask for a
# decision.

provider "aws" {
  alias  = "eu"
  region = var.eu_region

  default_tags {
    tags = {
      application = "tailor"
      deployment  = "${var.name}-eu"
    }
  }
}

provider "aws" {
  alias  = "us"
  region = var.us_region

  default_tags {
    tags = {
      application = "tailor"
      deployment  = "${var.name}-us"
    }
  }
}

module "eu" {
  source = "../../modules/aws"
  providers = {
    aws = aws.eu
  }

  name                = "${var.name}-eu"
  destinations        = ["eu-central"]
  policy_overlay      = "eu"
  token_key           = var.token_key
  artifacts_dir       = var.artifacts_dir
  ort_layer_zip       = var.ort_layer_zip
  alarm_actions       = var.eu_alarm_actions
  monthly_budget      = var.eu_monthly_budget
  budget_emails       = var.budget_emails
  deletion_protection = var.deletion_protection
  stream_consent      = true
}

module "us" {
  source = "../../modules/aws"
  providers = {
    aws = aws.us
  }

  name                = "${var.name}-us"
  destinations        = ["us-east"]
  token_key           = var.token_key
  artifacts_dir       = var.artifacts_dir
  ort_layer_zip       = var.ort_layer_zip
  alarm_actions       = var.us_alarm_actions
  monthly_budget      = var.us_monthly_budget
  budget_emails       = var.budget_emails
  deletion_protection = var.deletion_protection
  stream_consent      = true
}
