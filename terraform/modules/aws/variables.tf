# ---------------------------------------------------------------------------
# Naming and packages
# ---------------------------------------------------------------------------

variable "name" {
  type        = string
  description = "Deployment name. Prefixes every resource; the functions get it as TAILOR_TABLE_PREFIX and name tables `<name>-<table>`."
  default     = "tailor"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.name))
    error_message = "name must be 1-32 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "artifacts_dir" {
  type        = string
  description = "Directory holding the function packages built by `cargo lambda build --release --arm64 --output-format zip` (usually `target/lambda`); each function's package is `<artifacts_dir>/tailor-<function>/bootstrap.zip`, and the slow lane's job's `<artifacts_dir>/tailor-slow-lane/bootstrap.zip`."
}

variable "function_zips" {
  type        = map(string)
  description = "Per-function package paths that replace the `<artifacts_dir>/tailor-<function>/bootstrap.zip` default. Keys: ingest, enrich, features, consent, score, and slow-lane for the slow lane's job."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.function_zips) : contains(["ingest", "enrich", "features", "consent", "score", "slow-lane"], k)])
    error_message = "function_zips keys must be among ingest, enrich, features, consent, score, slow-lane."
  }
}

variable "ort_layer_zip" {
  type        = string
  description = "Path to the ONNX Runtime layer zip for the score function and the slow lane's job: it must hold `lib/libonnxruntime.so` for aarch64 (the layer is mounted at /opt)."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource that takes tags."
  default     = {}
}

# ---------------------------------------------------------------------------
# Function settings
# ---------------------------------------------------------------------------

variable "token_key" {
  type        = string
  description = "Tokenization key (TAILOR_TOKEN_KEY), at least 16 bytes, used by every function: ingest's tokens of personal fields, and the keyed tokens erasure tombstones are kept under, so every function of a deployment gets the same key. Stored in the Lambda configuration encrypted with the deployment's KMS key, and in Terraform state: keep the state encrypted and private."
  sensitive   = true

  validation {
    condition     = length(var.token_key) >= 16
    error_message = "token_key must be at least 16 bytes."
  }
}

variable "destinations" {
  type        = list(string)
  description = "The policy destinations this deployment holds (TAILOR_DESTINATIONS): events and decisions of regions approved for any other are refused. One deployment per destination, in the AWS region where that destination's data may be kept."
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

variable "stream_consent" {
  type        = bool
  description = "Whether ingest takes consent changes (grants, revocations, erasures) from the events stream: true sets TAILOR_STREAM_CONSENT=accept, false (the default) sets refuse, and ingest then dead-letters each one as consent_not_permitted. With true, whoever may put records on the stream (events_producer_policy_json) can change any person's consent, so set it only when every producer is trusted with that. The score Function URL takes no consent changes: with false, this deployment records none."
  default     = false
  nullable    = false
}

variable "log_level" {
  type        = string
  description = "Log level of every function (TAILOR_LOG, and the Lambda application log level)."
  default     = "info"

  validation {
    condition     = contains(["trace", "debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be one of trace, debug, info, warn, error."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of each function's CloudWatch log group and of the offline log's delivery log group, in days. Logs carry pseudonymous profile identifiers, so keep it as short as operations allow."
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "memory_size" {
  type = object({
    ingest   = optional(number, 256)
    enrich   = optional(number, 256)
    features = optional(number, 256)
    consent  = optional(number, 256)
    score    = optional(number, 512)
  })
  description = "Memory per function in MB. Unset functions keep their default: 256 for the stream functions, 512 for score."
  default     = {}

  validation {
    condition     = alltrue([for v in values(var.memory_size) : v >= 128 && v <= 10240])
    error_message = "memory_size values must be between 128 and 10240 MB."
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
  description = "Timeout per function in seconds. Unset functions keep their default: 60 for the stream functions, 10 for score."
  default     = {}

  validation {
    condition     = alltrue([for v in values(var.timeout) : v >= 1 && v <= 900])
    error_message = "timeout values must be between 1 and 900 seconds."
  }
}

variable "reserved_concurrency" {
  type        = map(number)
  description = "Reserved concurrent executions per function (keys: ingest, enrich, features, consent, score, and slow-lane for the slow lane's job). Functions left out are unreserved."
  default     = {}

  validation {
    condition = alltrue([
      for k, v in var.reserved_concurrency :
      contains(["ingest", "enrich", "features", "consent", "score", "slow-lane"], k) && v >= 0 && floor(v) == v
    ])
    error_message = "reserved_concurrency keys must be function names (or slow-lane) and values whole numbers of 0 or more."
  }
}

variable "score_model_dir" {
  type        = string
  description = "Model directory of the score function and the slow lane's job (TAILOR_MODEL_DIR), inside their packages."
  default     = "/var/task/models/conversion-v1"
}

variable "score_engine" {
  type        = string
  description = "Model engine of the score function and the slow lane's job (TAILOR_ENGINE): auto (ONNX Runtime when its library loads, else tract), ort or tract."
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
# The slow lane's job
# ---------------------------------------------------------------------------

variable "slow_lane_schedule" {
  type        = string
  description = "EventBridge schedule expression of the slow lane's job, `cron(...)` or `rate(...)`, in UTC. Each run reads the whole offline log and computes every profile's slow lane as of the moment the schedule fired."
  default     = "cron(30 2 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.slow_lane_schedule))
    error_message = "slow_lane_schedule must be an EventBridge schedule expression, cron(...) or rate(...)."
  }
}

variable "slow_lane_memory_size" {
  type        = number
  description = "Memory of the slow lane's job in MB. A run holds every event of the offline log (offline_log_retention_days of it), about 540 bytes each at its largest, so size it to the log."
  default     = 1024

  validation {
    condition     = var.slow_lane_memory_size >= 128 && var.slow_lane_memory_size <= 10240 && floor(var.slow_lane_memory_size) == var.slow_lane_memory_size
    error_message = "slow_lane_memory_size must be a whole number from 128 to 10240 MB."
  }
}

variable "slow_lane_maximum_retry_attempts" {
  type        = number
  description = "Retries of a failed run of the slow lane's job, with the same scheduled event, before it goes to the job's dead-letter queue. At most 2, as Lambda allows for asynchronous invocations."
  default     = 2

  validation {
    condition     = var.slow_lane_maximum_retry_attempts >= 0 && var.slow_lane_maximum_retry_attempts <= 2 && floor(var.slow_lane_maximum_retry_attempts) == var.slow_lane_maximum_retry_attempts
    error_message = "slow_lane_maximum_retry_attempts must be a whole number from 0 to 2."
  }
}

# ---------------------------------------------------------------------------
# Streams and their consumers
# ---------------------------------------------------------------------------

variable "stream_retention_hours" {
  type        = number
  description = "Retention of the Kinesis streams in hours. Records named in a dead-letter queue message can be replayed only while the stream still holds them."
  default     = 24

  validation {
    condition     = var.stream_retention_hours >= 24 && var.stream_retention_hours <= 8760 && floor(var.stream_retention_hours) == var.stream_retention_hours
    error_message = "stream_retention_hours must be a whole number from 24 to 8760."
  }
}

variable "batch_size" {
  type        = number
  description = "Largest number of records per invocation of a stream function."
  default     = 100

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number from 1 to 10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  type        = number
  description = "Longest time a stream function's batch waits to fill before it is sent, in seconds."
  default     = 1

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300 && floor(var.maximum_batching_window_in_seconds) == var.maximum_batching_window_in_seconds
    error_message = "maximum_batching_window_in_seconds must be a whole number from 0 to 300."
  }
}

variable "maximum_retry_attempts" {
  type        = number
  description = "Retries of a failing batch (after bisection) before its records go to the function's dead-letter queue. Bounded: infinite retry (-1) is not allowed, as one poison record would stall its shard."
  default     = 5

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 10000 && floor(var.maximum_retry_attempts) == var.maximum_retry_attempts
    error_message = "maximum_retry_attempts must be a whole number from 0 to 10000."
  }
}

variable "maximum_record_age_in_seconds" {
  type        = number
  description = "Oldest record a stream function still processes, in seconds; older records go to the dead-letter queue. Bounded: -1 (no limit) is not allowed."
  default     = 3600

  validation {
    condition     = var.maximum_record_age_in_seconds >= 60 && var.maximum_record_age_in_seconds <= 604800 && floor(var.maximum_record_age_in_seconds) == var.maximum_record_age_in_seconds
    error_message = "maximum_record_age_in_seconds must be a whole number from 60 to 604800."
  }
}

variable "parallelization_factor" {
  type        = number
  description = "Concurrent batches per shard for each stream function. Records of one partition key (producers use the profile) stay in order at any factor, so per-profile order holds."
  default     = 1

  validation {
    condition     = var.parallelization_factor >= 1 && var.parallelization_factor <= 10 && floor(var.parallelization_factor) == var.parallelization_factor
    error_message = "parallelization_factor must be a whole number from 1 to 10."
  }
}

# ---------------------------------------------------------------------------
# Data protection
# ---------------------------------------------------------------------------

variable "deletion_protection" {
  type        = bool
  description = "Turn on deletion protection for every DynamoDB table, and keep Terraform from destroying the offline log's bucket while it holds objects. Set it to false before destroying the deployment."
  default     = true
}

variable "offline_log_retention_days" {
  type        = number
  description = "Days the offline log's S3 objects (the enriched stream as JSON Lines) are kept before the lifecycle rule deletes them. The log is not rewritten on erasure, so this bounds how long a person's events stay in the offline log after an erasure. At most 45 days, the erasure tombstones' lifetime: the batch job leaves out keys with tombstones, so an event kept longer than its person's tombstones would be read again."
  default     = 30

  validation {
    condition     = var.offline_log_retention_days >= 1 && var.offline_log_retention_days <= 45 && floor(var.offline_log_retention_days) == var.offline_log_retention_days
    error_message = "offline_log_retention_days must be a whole number from 1 to 45 (the erasure tombstones' lifetime)."
  }
}

variable "kms_deletion_window_in_days" {
  type        = number
  description = "Waiting period before the deployment's KMS key is deleted after it is scheduled for deletion, in days."
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30 && floor(var.kms_deletion_window_in_days) == var.kms_deletion_window_in_days
    error_message = "kms_deletion_window_in_days must be a whole number from 7 to 30."
  }
}

# ---------------------------------------------------------------------------
# Alarms
# ---------------------------------------------------------------------------

variable "iterator_age_alarm_threshold_ms" {
  type        = number
  description = "Iterator age of a stream function above which its alarm fires, in milliseconds (how far the function lags behind its stream)."
  default     = 60000

  validation {
    condition     = var.iterator_age_alarm_threshold_ms > 0
    error_message = "iterator_age_alarm_threshold_ms must be positive."
  }
}

variable "alarm_actions" {
  type        = list(string)
  description = "ARNs (usually SNS topics) notified when an alarm fires or clears. Empty: alarms are only visible in CloudWatch."
  default     = []
}

# ---------------------------------------------------------------------------
# Spend controls
# ---------------------------------------------------------------------------

variable "monthly_budget" {
  type        = number
  description = "Monthly budget of this deployment in USD: an AWS Budgets cost budget over the costs tagged `tailor-deployment = <name>`, which warns budget_emails at 80% of actual and 100% of forecast spend. The tag must be activated as a cost allocation tag. Null creates no budget."
  default     = null

  validation {
    condition     = var.monthly_budget == null || coalesce(var.monthly_budget, 1) > 0
    error_message = "monthly_budget must be null or a positive number of USD."
  }
}

variable "budget_emails" {
  type        = list(string)
  description = "Email addresses the monthly budget notifies (at most 10, as AWS Budgets allows per notification). At least one when monthly_budget is set."
  default     = []
  nullable    = false

  validation {
    condition     = length(var.budget_emails) <= 10 && alltrue([for e in var.budget_emails : can(regex("^[^@\\s]+@[^@\\s]+$", e))])
    error_message = "budget_emails must be at most 10 email addresses."
  }
}
