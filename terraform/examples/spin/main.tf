# Tailor on Fermyon Spin: one deployment of ../../modules/spin on a
# Kubernetes cluster, holding the eu-central destination (the policy's
# regions eu and uk) with the eu policy overlay composed over the central
# bundle, its state in a libSQL database. The module also installs the
# cluster's SpinKube stack: cert-manager, runtime-class-manager with the
# Spin shim, and spin-operator.
#
# See README.md for the walkthrough: build and push the application, apply
# the SpinKube stack, apply the application, then send an event and ask for
# a decision.

provider "kubernetes" {
  config_path    = var.kubeconfig
  config_context = var.kube_context
}

provider "helm" {
  kubernetes = {
    config_path    = var.kubeconfig
    config_context = var.kube_context
  }
}

locals {
  # The keys file `tailor keys new` appends to: one `name sha256-hex
  # scope,scope,...` line per key.
  api_key_lines = [
    for line in split("\n", file(var.api_keys_file)) : split(" ", trimspace(line))
    if trimspace(line) != "" && !startswith(trimspace(line), "#")
  ]
}

module "tailor" {
  source = "../../modules/spin"

  name           = var.name
  namespace      = var.name
  image          = var.image
  token_key      = var.token_key
  sqlite_url     = var.sqlite_url
  sqlite_token   = var.sqlite_token
  destinations   = ["eu-central"]
  policy_overlay = "eu"
  api_keys = [
    for fields in local.api_key_lines : {
      name   = fields[0]
      sha256 = try(fields[1], "")
      scopes = split(",", try(fields[2], ""))
    }
  ]

  image_pull_secrets    = var.image_pull_secrets
  install_cert_manager  = var.install_cert_manager
  install_shim          = var.install_shim
  runtime_class_handler = var.runtime_class_handler
}
