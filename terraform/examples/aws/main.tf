# A complete Tailor deployment on AWS. See ../../modules/aws/README.md for
# the walkthrough: build the packages, fetch the ONNX Runtime layer, apply,
# then send an event and ask for a decision.

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      application = "tailor"
      deployment  = var.name
    }
  }
}

module "tailor" {
  source = "../../modules/aws"

  name                = var.name
  token_key           = var.token_key
  artifacts_dir       = var.artifacts_dir
  ort_layer_zip       = var.ort_layer_zip
  alarm_actions       = var.alarm_actions
  deletion_protection = var.deletion_protection
}
