# ---------------------------------------------------------------------------
# Project, naming and image
# ---------------------------------------------------------------------------

variable "project_id" {
  type        = string
  description = "Google Cloud project the deployment goes into (GOOGLE_CLOUD_PROJECT of every function)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID: 6-30 lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  type        = string
  description = "Region of the Cloud Run services, the Artifact Registry repository, the key, the secrets' replicas and the only region Pub/Sub may keep messages in, such as europe-west3. Choose it where the destinations' data may be kept."

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west3 or us-east1."
  }
}

variable "name" {
  type        = string
  description = "Deployment name. Prefixes every resource; the functions get it as TAILOR_COLLECTION_PREFIX and name collections `<name>-<table>` (underscores as hyphens). At most 16 characters, so that `<name>-features-push` is a valid service account ID."
  default     = "tailor"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,14}[a-z0-9]$", var.name))
    error_message = "name must be 4-16 characters of lower-case letters, digits and hyphens, starting with a letter and ending with a letter or digit."
  }
}

variable "image" {
  type        = string
  description = "Container image holding the tailor-gcp binary, pushed to the deployment's Artifact Registry repository (output `repository_url`), such as `<repository_url>/tailor-gcp:<tag>` or `...@sha256:<digest>`. Every service runs it with its function as the first argument."

  validation {
    condition     = length(var.image) > 0
    error_message = "image must name a container image."
  }
}

variable "images" {
  type        = map(string)
  description = "Per function, an image to run instead of `image`: one built for that function alone (the Dockerfile's FUNCTIONS build argument), which holds neither the other functions nor, for a stream function, a model engine. Keys are function names; a function not named runs `image`."
  default     = {}

  validation {
    condition     = alltrue([for f, i in var.images : contains(["ingest", "enrich", "features", "consent", "score"], f) && length(i) > 0])
    error_message = "images maps function names (ingest, enrich, features, consent, score) to non-empty image names."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels added to every resource that takes labels."
  default     = {}
}

variable "enable_apis" {
  type        = bool
  description = "Enable the APIs the deployment uses (run, pubsub, firestore, artifactregistry, secretmanager, cloudkms, iam, logging, monitoring, and billingbudgets when monthly_budget is set). They stay enabled when the deployment is destroyed. Set to false where the project's APIs are managed elsewhere."
  default     = true
}

# ---------------------------------------------------------------------------
# Function settings
# ---------------------------------------------------------------------------

variable "token_key" {
  type        = string
  description = "Tokenization key (TAILOR_TOKEN_KEY), at least 16 bytes, used by every function: ingest's tokens of personal fields, and the keyed tokens erasure tombstones are kept under, so every function of a deployment gets the same key. Written to Secret Manager through a write-only argument: it is kept in neither the plan nor the state, and must be given on every plan and apply (TF_VAR_token_key)."
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = length(var.token_key) >= 16
    error_message = "token_key must be at least 16 bytes."
  }
}

variable "token_key_version" {
  type        = number
  description = "Version of token_key written to Secret Manager. token_key reaches the secret only when this changes; changing the key splits every profile's history (see the README)."
  default     = 1

  validation {
    condition     = var.token_key_version >= 1 && floor(var.token_key_version) == var.token_key_version
    error_message = "token_key_version must be a whole number of 1 or more."
  }
}

variable "destinations" {
  type        = list(string)
  description = "The policy destinations this deployment holds (TAILOR_DESTINATIONS): events and decisions of regions approved for any other are refused. One deployment per destination, in a region where that destination's data may be kept."
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
  description = "The policy overlay this deployment composes over the central bundle (TAILOR_POLICY_OVERLAY), such as \"eu\": it may only forbid more and keep data for less. Null for the central bundle alone."
  default     = null

  validation {
    condition     = var.policy_overlay == null || can(regex("^[a-z0-9-]+$", var.policy_overlay))
    error_message = "policy_overlay must be null or an overlay name of lower-case letters, digits and hyphens, such as eu (shared/policy/overlays/eu.cedar)."
  }
}

variable "log_level" {
  type        = string
  description = "Log level of every function (TAILOR_LOG)."
  default     = "info"

  validation {
    condition     = contains(["trace", "debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be one of trace, debug, info, warn, error."
  }
}

variable "clock" {
  type        = string
  description = "What the stream functions' items expire by (TAILOR_CLOCK): wall, or arrival (the latest message's arrival time, for replaying historical events). Null leaves it unset, which means wall."
  default     = null

  validation {
    condition     = var.clock == null || contains(["wall", "arrival"], coalesce(var.clock, "wall"))
    error_message = "clock must be null, wall or arrival."
  }
}

variable "score_model_dir" {
  type        = string
  description = "Model directory of the score function inside the image (TAILOR_MODEL_DIR). Null leaves it unset: the image's default applies."
  default     = null
}

variable "score_engine" {
  type        = string
  description = "Model engine of the score function (TAILOR_ENGINE): auto (ONNX Runtime when its library loads, else tract), ort or tract."
  default     = "auto"

  validation {
    condition     = contains(["auto", "ort", "tract"], var.score_engine)
    error_message = "score_engine must be auto, ort or tract."
  }
}

variable "score_store_budget_ms" {
  type        = number
  description = "Latency budget of the score function's store calls in milliseconds (TAILOR_STORE_BUDGET_MS); a slower store counts as unavailable and the caller gets the safe default."
  default     = 50

  validation {
    condition     = var.score_store_budget_ms >= 1 && var.score_store_budget_ms <= 10000 && floor(var.score_store_budget_ms) == var.score_store_budget_ms
    error_message = "score_store_budget_ms must be a whole number from 1 to 10000."
  }
}

# ---------------------------------------------------------------------------
# Cloud Run
# ---------------------------------------------------------------------------

variable "cpu" {
  type = object({
    ingest   = optional(string, "1")
    enrich   = optional(string, "1")
    features = optional(string, "1")
    consent  = optional(string, "1")
    score    = optional(string, "1")
  })
  description = "CPU limit per service, as Cloud Run takes it (\"1\", \"2\", \"500m\"). Unset functions keep 1 CPU."
  default     = {}
}

variable "memory" {
  type = object({
    ingest   = optional(string, "512Mi")
    enrich   = optional(string, "512Mi")
    features = optional(string, "512Mi")
    consent  = optional(string, "512Mi")
    score    = optional(string, "1Gi")
  })
  description = "Memory limit per service (\"512Mi\", \"1Gi\"). Unset functions keep their default: 512Mi for the stream functions, 1Gi for score."
  default     = {}

  validation {
    condition     = alltrue([for v in values(var.memory) : can(regex("^[0-9]+(Mi|Gi)$", v))])
    error_message = "memory values must be a whole number of Mi or Gi, such as 512Mi or 1Gi."
  }
}

variable "timeout" {
  type = object({
    ingest   = optional(number, 60)
    enrich   = optional(number, 60)
    features = optional(number, 60)
    consent  = optional(number, 60)
    score    = optional(number, 10)
  })
  description = "Request timeout per service in seconds. A stream function's push subscription gets the same ack deadline, so Pub/Sub does not redeliver a message the function still works on. Unset functions keep their default: 60 for the stream functions, 10 for score."
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.timeout : v >= (k == "score" ? 1 : 10) && v <= 600 && floor(v) == v])
    error_message = "timeout values must be whole numbers of seconds, at most 600 (the longest Pub/Sub ack deadline); the stream functions' at least 10 (the shortest)."
  }
}

variable "concurrency" {
  type = object({
    ingest   = optional(number, 80)
    enrich   = optional(number, 80)
    features = optional(number, 80)
    consent  = optional(number, 80)
    score    = optional(number, 80)
  })
  description = "Concurrent requests per instance of each service (max_instance_request_concurrency). Unset functions keep 80."
  default     = {}

  validation {
    condition     = alltrue([for v in values(var.concurrency) : v >= 1 && v <= 1000 && floor(v) == v])
    error_message = "concurrency values must be whole numbers from 1 to 1000."
  }
}

variable "pull_functions" {
  type        = set(string)
  description = "Stream functions that pull their subscription in batches (TAILOR_PULL_SUBSCRIPTION) instead of answering push. A pulling service keeps at least one instance with its CPU always allocated, so it is billed per instance-second rather than per request: for steady high volume. Empty: every stream function answers push."
  default     = []

  validation {
    condition     = alltrue([for f in var.pull_functions : contains(["ingest", "enrich", "features", "consent"], f)])
    error_message = "pull_functions may name only the stream functions: ingest, enrich, features, consent."
  }
}

variable "min_instances" {
  type = object({
    ingest   = optional(number, 0)
    enrich   = optional(number, 0)
    features = optional(number, 0)
    consent  = optional(number, 0)
    score    = optional(number, 0)
  })
  description = "Instances each service keeps warm. Unset functions keep 0 (scale to zero); a warm score instance spares decisions the cold start."
  default     = {}

  validation {
    condition     = alltrue([for v in values(var.min_instances) : v >= 0 && floor(v) == v])
    error_message = "min_instances values must be whole numbers of 0 or more."
  }
}

variable "max_instances" {
  type = object({
    ingest   = optional(number, 10)
    enrich   = optional(number, 10)
    features = optional(number, 10)
    consent  = optional(number, 10)
    score    = optional(number, 10)
  })
  description = "Most instances of each service; this bounds what a burst costs and how hard it presses on Firestore. Unset functions keep 10."
  default     = {}

  validation {
    condition     = alltrue([for v in values(var.max_instances) : v >= 1 && floor(v) == v])
    error_message = "max_instances values must be whole numbers of 1 or more."
  }
}

# ---------------------------------------------------------------------------
# score's exposure
# ---------------------------------------------------------------------------

variable "score_public" {
  type        = bool
  description = "Let anyone reach the score service, with Cloud Run's IAM check off (invoker_iam_disabled); score then checks its own API keys, so score_api_keys must not be empty. False (the default): only score_invokers may call it, with Google-signed ID tokens."
  default     = false
}

variable "score_invokers" {
  type        = list(string)
  description = "IAM members granted roles/run.invoker on the score service when it is not public, such as \"serviceAccount:shop@my-project.iam.gserviceaccount.com\"."
  default     = []

  validation {
    condition     = alltrue([for m in var.score_invokers : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "score_invokers must name principals; to open score to everyone, set score_public, which requires API keys."
  }
}

variable "score_ingress" {
  type        = string
  description = "Where score accepts traffic from: INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER. The stream functions always take internal traffic only."
  default     = "INGRESS_TRAFFIC_ALL"

  validation {
    condition     = contains(["INGRESS_TRAFFIC_ALL", "INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"], var.score_ingress)
    error_message = "score_ingress must be INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  }
}

variable "score_api_keys" {
  type = list(object({
    name   = string
    sha256 = string
    scopes = list(string)
  }))
  description = "score's API keys, by SHA-256 digest (never the key itself): a name for logs, the key's SHA-256 as 64 hex digits, and its scopes (events:write, consent:write, decide, profiles:read, decisions:read). `tailor keys new --file <file>` makes a key, prints it once and appends its line (name, digest, scopes) to the file; `printf %s <key> | sha256sum` gives the digest of any key. Non-empty, they are written to a Secret Manager secret that score reads as TAILOR_API_KEYS, and every request must carry one as `Authorization: Bearer <key>`. Empty: score trusts Cloud Run's IAM check, as the AWS deployment trusts its SigV4-signed Function URL."
  default     = []

  validation {
    condition     = alltrue([for k in var.score_api_keys : can(regex("^\\S+$", k.name)) && can(regex("^[0-9a-fA-F]{64}$", k.sha256))])
    error_message = "each of score_api_keys needs a one-word name and a SHA-256 digest of 64 hex digits."
  }

  validation {
    condition = alltrue([
      for k in var.score_api_keys : length(k.scopes) > 0 && alltrue([
        for s in k.scopes : contains(["events:write", "consent:write", "decide", "profiles:read", "decisions:read"], s)
      ])
    ])
    error_message = "each of score_api_keys needs scopes among events:write, consent:write, decide, profiles:read, decisions:read."
  }
}

# ---------------------------------------------------------------------------
# Pub/Sub
# ---------------------------------------------------------------------------

variable "max_delivery_attempts" {
  type        = number
  description = "Deliveries of a message to its stream function before Pub/Sub moves it to the function's dead-letter topic. Bounded, so one poison message cannot hold back its ordering key for ever."
  default     = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100 && floor(var.max_delivery_attempts) == var.max_delivery_attempts
    error_message = "max_delivery_attempts must be a whole number from 5 to 100 (Pub/Sub's limits)."
  }
}

variable "minimum_backoff_seconds" {
  type        = number
  description = "Shortest wait before Pub/Sub redelivers a message a stream function did not acknowledge, in seconds."
  default     = 10

  validation {
    condition     = var.minimum_backoff_seconds >= 0 && var.minimum_backoff_seconds <= 600 && floor(var.minimum_backoff_seconds) == var.minimum_backoff_seconds
    error_message = "minimum_backoff_seconds must be a whole number from 0 to 600."
  }
}

variable "maximum_backoff_seconds" {
  type        = number
  description = "Longest wait before Pub/Sub redelivers a message a stream function did not acknowledge, in seconds; the wait grows exponentially from minimum_backoff_seconds up to this."
  default     = 600

  validation {
    condition     = var.maximum_backoff_seconds >= 0 && var.maximum_backoff_seconds <= 600 && floor(var.maximum_backoff_seconds) == var.maximum_backoff_seconds
    error_message = "maximum_backoff_seconds must be a whole number from 0 to 600."
  }
}

variable "event_publishers" {
  type        = list(string)
  description = "IAM members granted roles/pubsub.publisher on the events topic, such as \"serviceAccount:collector@my-project.iam.gserviceaccount.com\": the producers of events."
  default     = []

  validation {
    condition     = alltrue([for m in var.event_publishers : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "event_publishers must name principals: the events topic is never public."
  }
}

variable "subscription_retention_seconds" {
  type        = number
  description = "How long a stream function's subscription keeps a message it has not acknowledged, in seconds; an older one is dropped, not dead-lettered."
  default     = 604800

  validation {
    condition     = var.subscription_retention_seconds >= 600 && var.subscription_retention_seconds <= 604800 && floor(var.subscription_retention_seconds) == var.subscription_retention_seconds
    error_message = "subscription_retention_seconds must be a whole number from 600 to 604800 (7 days)."
  }
}

# ---------------------------------------------------------------------------
# Firestore and data protection
# ---------------------------------------------------------------------------

variable "database_id" {
  type        = string
  description = "ID of the Firestore database the module creates (TAILOR_FIRESTORE_DATABASE). Null: the deployment name."
  default     = null

  validation {
    condition     = var.database_id == null || can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", coalesce(var.database_id, "none")))
    error_message = "database_id must be null or 4-63 lower-case letters, digits and hyphens, starting with a letter and ending with a letter or digit."
  }
}

variable "firestore_location" {
  type        = string
  description = "Location of the Firestore database: a region such as europe-west3, or a multi-region such as eur3. Null: var.region."
  default     = null
}

variable "firestore_cmek" {
  type        = bool
  description = "Encrypt the Firestore database with the deployment's key. The Firestore service agent must exist first (`gcloud beta services identity create --service=firestore.googleapis.com`), and the database must be in var.region. Fixed at creation: changing it replaces the database."
  default     = false
}

variable "deletion_protection" {
  type        = bool
  description = "Turn on deletion protection for the Firestore database, the Cloud Run services and the token key secret. Set it to false, and apply, before destroying the deployment."
  default     = true
}

variable "kms_destroy_scheduled_days" {
  type        = number
  description = "Waiting period before a destroyed version of the deployment's key is destroyed for good, in days."
  default     = 30

  validation {
    condition     = var.kms_destroy_scheduled_days >= 1 && var.kms_destroy_scheduled_days <= 120 && floor(var.kms_destroy_scheduled_days) == var.kms_destroy_scheduled_days
    error_message = "kms_destroy_scheduled_days must be a whole number from 1 to 120."
  }
}

# ---------------------------------------------------------------------------
# Alerts
# ---------------------------------------------------------------------------

variable "backlog_alert_threshold_seconds" {
  type        = number
  description = "Age of a stream function's oldest unacknowledged message above which its backlog alert opens, in seconds (how far the function lags behind its topic)."
  default     = 60

  validation {
    condition     = var.backlog_alert_threshold_seconds > 0
    error_message = "backlog_alert_threshold_seconds must be positive."
  }
}

variable "notification_channels" {
  type        = list(string)
  description = "Cloud Monitoring notification channel IDs (`projects/<project>/notificationChannels/<id>`) notified when an alert opens or closes. Empty: alerts are only visible in Cloud Monitoring."
  default     = []
}

# ---------------------------------------------------------------------------
# Spend controls
# ---------------------------------------------------------------------------

variable "monthly_budget" {
  type        = number
  description = "Monthly budget of the project in whole USD: a Cloud Billing budget on billing_account over the project's costs, which alerts notification_channels and the billing account's administrators at 80% of actual and 100% of forecast spend. The billing account must bill in USD. Null creates no budget."
  default     = null

  validation {
    condition     = var.monthly_budget == null || (coalesce(var.monthly_budget, 1) >= 1 && floor(coalesce(var.monthly_budget, 1)) == coalesce(var.monthly_budget, 1))
    error_message = "monthly_budget must be null or a whole number of USD, 1 or more."
  }
}

variable "billing_account" {
  type        = string
  description = "ID of the Cloud Billing account that pays for the project, such as 012345-6789AB-CDEF01: the budget belongs to it. Required when monthly_budget is set; whoever applies needs a role that may create budgets on it, such as Billing Account Costs Manager."
  default     = null

  validation {
    condition     = var.billing_account == null || can(regex("^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$", coalesce(var.billing_account, "none")))
    error_message = "billing_account must be null or a billing account ID of three groups of 6 upper-case hex digits, such as 012345-6789AB-CDEF01."
  }
}
