# What the SpinApp reads from secrets, never from its own manifest:
#
#   <name>-secrets   token_key     the Spin variable token_key
#                    sqlite_token  the libSQL token of the runtime config
#   <name>-api-keys  api_keys      the Spin variable api_keys
#
# The first is written through a write-only argument: the token key and
# the database token are kept in neither the plan nor the state, and reach
# the secret when it is created and whenever var.secrets_version changes.
# The second holds the API keys' SHA-256 digests, not the keys, and follows
# var.api_keys on every apply.

resource "kubernetes_secret_v1" "secrets" {
  metadata {
    name      = "${var.name}-secrets"
    namespace = local.namespace
    labels    = local.labels
  }

  type = "Opaque"

  data_wo = {
    token_key    = var.token_key
    sqlite_token = var.sqlite_token
  }
  data_wo_revision = var.secrets_version
}

resource "kubernetes_secret_v1" "api_keys" {
  metadata {
    name      = "${var.name}-api-keys"
    namespace = local.namespace
    labels    = local.labels
  }

  type = "Opaque"

  data = {
    api_keys = local.api_keys_text
  }
}
