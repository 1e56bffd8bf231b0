# Tailor on Fermyon Spin, through SpinKube: one Spin application, `tailor`,
# whose components run two WebAssembly components (wasm32-wasip2): the
# stream stages' (ingest, consent, features) and score's. Each runs the
# function its Spin variable `function` names, as the application's
# manifest sets it. State is in Spin's SQLite database
# `tailor`, which the runtime config binds to a libSQL server.
#
#   callers -> Service <name>:80 -> SpinApp <name> (containerd-shim-spin)
#     POST /v1/events, GET /healthz -> ingest (then enrich, features and
#                                      consent, in-process)
#     POST /v1/consent              -> consent
#     GET /v1/profiles/{id}         -> features
#     POST /v1/decide, GET /v1/decisions/{id} -> score
#   every component -> SQLite database `tailor` -> libSQL (var.sqlite_url)
#
# Two layers, which the README's first apply takes one at a time:
#
# - operator.tf, the cluster's SpinKube stack (var.install_operator):
#   cert-manager, runtime-class-manager with a Shim that installs
#   containerd-shim-spin on the nodes and creates the RuntimeClass, and
#   spin-operator with its CRDs.
# - app.tf and secrets.tf, this deployment: a namespace, a service account,
#   the secrets, the SpinAppExecutor, the SpinApp and, with
#   var.autoscaling, a HorizontalPodAutoscaler.
#
# The SpinAppExecutor and the SpinApp (like the Shim) are custom resources
# written through kubernetes_manifest, which needs their CRDs in the cluster
# when it plans: they exist only once the first layer is applied.

locals {
  # The label of the SQLite database the manifest grants every component,
  # and what the runtime configuration binds to libSQL.
  database = "tailor"

  # The operator serves every SpinApp on port 80 of a ClusterIP Service
  # named after it, and names its Deployment the same.
  service_port = 80

  executor_name = "containerd-shim-spin"

  namespace = var.create_namespace ? kubernetes_namespace_v1.this[0].metadata[0].name : var.namespace

  labels = merge(var.labels, {
    "app.kubernetes.io/name"       = "tailor"
    "app.kubernetes.io/instance"   = var.name
    "app.kubernetes.io/managed-by" = "terraform"
  })

  # The HTTP API's keys by SHA-256 digest, never the keys themselves: one
  # `name sha256-hex scope,scope,...` line per key, as `tailor keys new`
  # writes them.
  api_keys_text = join("", [
    for k in var.api_keys : "${k.name} ${lower(k.sha256)} ${join(",", sort(k.scopes))}\n"
  ])

  # The application's Spin variables, by name. The component reads each
  # runtime setting TAILOR_<NAME> as the variable <name>; `function` is not
  # here: the manifest sets it per component.
  #
  # From secrets (secrets.tf), by secret and key:
  secret_variables = {
    token_key = { secret = kubernetes_secret_v1.secrets.metadata[0].name, key = "token_key" }
    api_keys  = { secret = kubernetes_secret_v1.api_keys.metadata[0].name, key = "api_keys" }
  }
  # As plain values; a null one is not set. There is no engine: the
  # WebAssembly build scores with tract whatever it is told (ONNX Runtime
  # has no WASI build).
  plain_variables = {
    destinations   = join(",", var.destinations)
    policy_overlay = var.policy_overlay
    stream_consent = var.stream_consent ? "accept" : "refuse"
    cost_region    = var.cost_region
  }
  # As the SpinApp's `spec.variables`: the operator sets each as the
  # environment variable SPIN_VARIABLE_<NAME>, which Spin's environment
  # provider resolves.
  spin_variables = concat(
    [for k, v in local.secret_variables : { name = k, valueFrom = { secretKeyRef = { name = v.secret, key = v.key } } }],
    [for k, v in local.plain_variables : { name = k, value = v } if v != null],
  )

  # Spin's runtime configuration: the SQLite database `tailor` on libSQL,
  # its token from the secret. The operator renders it as
  #   [sqlite_database.tailor]
  #   type = "libsql"
  #   url = "<var.sqlite_url>"
  #   token = "<the secret's sqlite_token>"
  sqlite_databases = [{
    name = local.database
    type = "libsql"
    options = [
      { name = "url", value = var.sqlite_url },
      { name = "token", valueFrom = { secretKeyRef = { name = kubernetes_secret_v1.secrets.metadata[0].name, key = "sqlite_token" } } },
    ]
  }]
}
