# ---------------------------------------------------------------------------
# The application
# ---------------------------------------------------------------------------

variable "name" {
  type        = string
  description = "Name of the SpinApp, and so of the Deployment and the Service the operator makes of it; prefixes the secrets (`<name>-secrets`, `<name>-api-keys`)."
  default     = "tailor"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", var.name))
    error_message = "name must be 1-40 lower-case letters, digits and hyphens, starting with a letter and ending with a letter or digit (a Service name)."
  }
}

variable "namespace" {
  type        = string
  description = "Namespace of the SpinApp, its executor, its secrets and its service account."
  default     = "tailor"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a Kubernetes namespace name: at most 63 lower-case letters, digits and hyphens."
  }
}

variable "create_namespace" {
  type        = bool
  description = "Create the namespace, with Pod Security's baseline profile enforced. False: it exists already."
  default     = true
}

variable "labels" {
  type        = map(string)
  description = "Labels added, with `app.kubernetes.io/name = tailor`, `app.kubernetes.io/instance = <name>` and `app.kubernetes.io/managed-by = terraform`, to the objects the module writes itself: the namespace, the service account, the secrets, the SpinAppExecutor, the SpinApp and its pods, the HorizontalPodAutoscaler, the Shim and the RuntimeClass. Not to the Helm releases' objects or the operator's CRDs."
  default     = {}
}

variable "image" {
  type        = string
  description = "OCI reference of the Spin application, as `spin registry push` published it, such as `ghcr.io/my-org/tailor:1a2b3c4` or `...@sha256:<digest>`: the application's manifest, its WebAssembly component and the model at /models/conversion-v1."

  validation {
    condition     = length(trimspace(var.image)) > 0
    error_message = "image must name the application's OCI artifact."
  }
}

variable "image_pull_secrets" {
  type        = list(string)
  description = "Names of docker-registry secrets in the namespace that pull a private image."
  default     = []
}

# ---------------------------------------------------------------------------
# The application's variables
# ---------------------------------------------------------------------------

variable "token_key" {
  type        = string
  description = "Tokenization key (the Spin variable token_key), at least 16 bytes: ingest's tokens of personal fields, and the keyed tokens erasure tombstones are kept under. Written to the secret `<name>-secrets` through a write-only argument: it is kept in neither the plan nor the state, and must be given on every plan and apply (TF_VAR_token_key)."
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = length(var.token_key) >= 16
    error_message = "token_key must be at least 16 bytes."
  }
}

variable "secrets_version" {
  type        = number
  description = "Version of token_key and sqlite_token written to the secret `<name>-secrets`. They reach the secret only when this changes, and the pods restart to read them; changing the token key splits every profile's history."
  default     = 1

  validation {
    condition     = var.secrets_version >= 1 && floor(var.secrets_version) == var.secrets_version
    error_message = "secrets_version must be a whole number of 1 or more."
  }
}

variable "api_keys" {
  type = list(object({
    name   = string
    sha256 = string
    scopes = list(string)
  }))
  description = "The HTTP API's keys, by SHA-256 digest (never the key itself): a name for logs, the key's SHA-256 as 64 hex digits, and its scopes (events:write, consent:write, decide, profiles:read, decisions:read). `tailor keys new --file <file>` makes a key, prints it once and appends its line to the file; `printf %s <key> | sha256sum` gives the digest of any key. Written to the secret `<name>-api-keys` (the Spin variable api_keys), one `name sha256-hex scope,...` line per key. Every request carries one as `Authorization: Bearer <key>`: nothing in front of the cluster authenticates callers, so there must be at least one."

  validation {
    condition     = length(var.api_keys) > 0
    error_message = "api_keys must hold at least one key: every route of the API needs one."
  }

  validation {
    condition     = alltrue([for k in var.api_keys : can(regex("^\\S+$", k.name)) && can(regex("^[0-9a-fA-F]{64}$", k.sha256))])
    error_message = "each of api_keys needs a one-word name and a SHA-256 digest of 64 hex digits."
  }

  validation {
    condition = alltrue([
      for k in var.api_keys : length(k.scopes) > 0 && alltrue([
        for s in k.scopes : contains(["events:write", "consent:write", "decide", "profiles:read", "decisions:read"], s)
      ])
    ])
    error_message = "each of api_keys needs scopes among events:write, consent:write, decide, profiles:read, decisions:read."
  }
}

variable "destinations" {
  type        = list(string)
  description = "The policy destinations this deployment holds (the Spin variable destinations, comma-separated): events and decisions of regions approved for any other are refused. One deployment per destination, on a cluster and a libSQL database where that destination's data may be kept."
  nullable    = false

  validation {
    condition     = length(var.destinations) > 0
    error_message = "destinations must name at least one destination of the policy (shared/policy/entities.json), for example [\"eu-central\"]."
  }

  validation {
    condition     = alltrue([for d in var.destinations : can(regex("^[a-z0-9-]+$", d))])
    error_message = "each of destinations must be a destination id of lower-case letters, digits and hyphens, such as eu-central."
  }
}

variable "policy_overlay" {
  type        = string
  description = "The policy overlay composed over the central bundle (the Spin variable policy_overlay), such as \"eu\": it may only forbid more and keep data for less. Null for the central bundle alone."
  default     = null

  validation {
    condition     = var.policy_overlay == null || can(regex("^[a-z0-9-]+$", var.policy_overlay))
    error_message = "policy_overlay must be null or an overlay name of lower-case letters, digits and hyphens, such as eu (shared/policy/overlays/eu.cedar)."
  }
}

variable "cost_region" {
  type        = string
  description = "The price book region of the cluster's nodes (the Spin variable cost_region), such as aws-us-east-1: each request's stages then log a cost record, a share of a node-hour at the price book's node price (infra/prices). Null: no cost records."
  default     = null

  validation {
    condition     = var.cost_region == null || can(regex("^[a-z0-9-]+$", var.cost_region))
    error_message = "cost_region must be a price book region of lower-case letters, digits and hyphens, such as aws-us-east-1."
  }
}

variable "stream_consent" {
  type        = bool
  description = "Whether consent_change events sent to `POST /v1/events` may change consent (the Spin variable stream_consent: accept, or refuse). False: consent changes only through `POST /v1/consent`, whose key needs consent:write; set true only where every key with events:write belongs to a trusted system."
  default     = false
}

# ---------------------------------------------------------------------------
# The SQLite database
# ---------------------------------------------------------------------------

variable "sqlite_url" {
  type        = string
  description = "HTTP(S) URL of the libSQL server behind the SQLite database `tailor`: a Turso database (`https://<database>-<organization>.turso.io`) or an sqld you run (`http://sqld.<namespace>.svc:8080`). Spin speaks to libSQL over HTTP only, so not `libsql://`."

  validation {
    condition     = can(regex("^https?://[^/\\s]+", var.sqlite_url))
    error_message = "sqlite_url must be an http:// or https:// URL (for Turso, https://<database>-<organization>.turso.io)."
  }
}

variable "sqlite_token" {
  type        = string
  description = "Auth token of the libSQL server (`turso db tokens create <database>`, or a JWT sqld's --auth-jwt-key-file accepts). Written to the secret `<name>-secrets` through a write-only argument, with token_key; must be given on every plan and apply (TF_VAR_sqlite_token)."
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = length(var.sqlite_token) > 0
    error_message = "sqlite_token must not be empty."
  }
}

# ---------------------------------------------------------------------------
# Resources and scaling
# ---------------------------------------------------------------------------

variable "resources" {
  type = object({
    cpu_limit      = optional(string, "1")
    memory_limit   = optional(string, "512Mi")
    cpu_request    = optional(string, "100m")
    memory_request = optional(string, "128Mi")
  })
  description = "CPU and memory of each pod (every component runs in each): limits and requests, as Kubernetes quantities. Unset fields keep 1 CPU and 512Mi as limits, 100m and 128Mi as requests; autoscaling measures CPU against the request."
  default     = {}

  validation {
    condition = alltrue([
      for v in [var.resources.cpu_limit, var.resources.cpu_request] : can(regex("^([0-9]+m|[0-9]+(\\.[0-9]+)?)$", v))
    ])
    error_message = "cpu_limit and cpu_request must be CPU quantities such as 1, 0.5 or 500m."
  }

  validation {
    condition = alltrue([
      for v in [var.resources.memory_limit, var.resources.memory_request] : can(regex("^[0-9]+(Ki|Mi|Gi)$", v))
    ])
    error_message = "memory_limit and memory_request must be memory quantities such as 128Mi or 1Gi."
  }
}

variable "replicas" {
  type        = number
  description = "Pods of the SpinApp, when autoscaling is null."
  default     = 2

  validation {
    condition     = var.replicas >= 1 && floor(var.replicas) == var.replicas
    error_message = "replicas must be a whole number of 1 or more."
  }
}

variable "autoscaling" {
  type = object({
    min_replicas    = optional(number, 2)
    max_replicas    = optional(number, 10)
    cpu_utilization = optional(number, 70)
  })
  description = "Scale the pods with a HorizontalPodAutoscaler on CPU utilization (a share of the CPU request, in percent) between min_replicas and max_replicas; replicas is then ignored. It needs the cluster's metrics server. Null: replicas pods."
  default     = null

  validation {
    condition = var.autoscaling == null || try(
      var.autoscaling.min_replicas >= 1 && floor(var.autoscaling.min_replicas) == var.autoscaling.min_replicas &&
      var.autoscaling.max_replicas >= var.autoscaling.min_replicas && floor(var.autoscaling.max_replicas) == var.autoscaling.max_replicas,
      false,
    )
    error_message = "autoscaling needs whole numbers with 1 <= min_replicas <= max_replicas."
  }

  validation {
    condition     = var.autoscaling == null || try(var.autoscaling.cpu_utilization >= 1 && var.autoscaling.cpu_utilization <= 100, false)
    error_message = "autoscaling.cpu_utilization must be a percentage from 1 to 100."
  }
}

# ---------------------------------------------------------------------------
# The cluster's SpinKube stack
# ---------------------------------------------------------------------------

variable "install_operator" {
  type        = bool
  description = "Install the cluster's SpinKube stack (operator.tf): cert-manager, runtime-class-manager with the Spin shim, the RuntimeClass, and spin-operator with its CRDs. Once per cluster: a second deployment in the same cluster sets it to false."
  default     = true
}

variable "install_cert_manager" {
  type        = bool
  description = "Install cert-manager with the stack. False where the cluster runs cert-manager already (spin-operator's webhook needs it)."
  default     = true
}

variable "install_shim" {
  type        = bool
  description = "Install containerd-shim-spin on the nodes with runtime-class-manager, which also creates the RuntimeClass. False where the nodes carry the shim already (SpinKube's k3d image, for one): the module then creates the RuntimeClass alone."
  default     = true
}

variable "shim_node_selector" {
  type        = map(string)
  description = "With install_shim, labels of the nodes that get the shim and run the pods: runtime-class-manager installs the shim on them and gives the RuntimeClass this node selector. Label those nodes, such as `kubectl label node <node> spin=true`, or give the node pool the label. Unused with install_shim false (the RuntimeClass the module creates has no node selector, so the pods may run on any node, and every node needs the shim) and without install_operator."
  default     = { spin = "true" }
}

variable "shim_systemd_cgroup" {
  type        = bool
  description = "Whether the shim uses the systemd cgroup driver (containerd's SystemdCgroup): true where the kubelet does, as on most distributions; false for cgroupfs."
  default     = true
}

variable "runtime_class_name" {
  type        = string
  description = "Name of the RuntimeClass the executor runs the pods under. The stack creates it; without install_operator, it must exist in the cluster."
  default     = "wasmtime-spin-v2"
}

variable "runtime_class_handler" {
  type        = string
  description = "containerd runtime handler of the RuntimeClass. runtime-class-manager registers the shim under this name; on nodes that carry the shim already it must be the name their containerd configuration gives it (`spin` on SpinKube's k3d image)."
  default     = "spin-v2"
}
