# Tailor on AWS: five Lambda functions joined by Kinesis streams, state in
# DynamoDB, everything at rest encrypted with one customer-managed KMS key.
#
#   producers -> events -> ingest -> ingested -> enrich -> enriched -> features
#                                                       \-> consent-changes -> consent
#   callers (SigV4) -> score Function URL -> score
#
# Each function has its own role that reaches only the streams, tables and
# queue local.permissions (iam.tf) lists for it. Kinesis Data Firehose also
# reads the enriched stream and keeps it in S3 as the offline log
# (offline_log.tf), with a role of its own; the slow lane's scheduled job
# (slow_lane.tf), a sixth Lambda function made by the same resources as the
# five, with its own role and its own entry in local.permissions, reads
# that log on an EventBridge schedule and keeps the slow-lane table.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  # The five functions: the stream functions and score. What the five
  # have and the slow lane's job has not goes by these names: the throttle
  # and cost alarms (alarms.tf) and the outputs by function (outputs.tf).
  function_names = ["ingest", "enrich", "features", "consent", "score"]

  # Every Lambda function of the module: the five functions and the slow
  # lane's scheduled job. The same resources (lambda.tf, iam.tf) make each
  # one's function, log group, role and policy, from its entries in the
  # maps keyed by these names.
  lambda_names = ["ingest", "enrich", "features", "consent", "score", "slow-lane"]

  # Tags of every resource that takes tags: var.tags and the deployment's
  # own tag, `tailor-deployment = <name>`, by which the monthly budget
  # (budget.tf) tells this deployment's costs from the account's. The key
  # has no colon, which Kinesis does not take in a tag key.
  deployment_tag = { "tailor-deployment" = var.name }
  tags           = merge(var.tags, local.deployment_tag)

  # The stream that feeds each stream function (local.permissions in
  # iam.tf). score has no trigger: it answers synchronous calls on its
  # Function URL.
  triggers = { for f, p in local.permissions : f => p.triggered_by if p.triggered_by != null }

  stream_names = ["events", "ingested", "enriched", "consent-changes"]

  table_names = [
    "dedup",
    "identity",
    "feature-inputs",
    "features",
    "slow-lane",
    "consent",
    "audit",
    "dead-letters",
    "tombstones",
    "erasure-index",
    "decisions",
    "subjects",
  ]

  # Action sets granted in iam.tf. A table a function only reads gets the
  # read set, one it only writes the write set, one it does both with gets
  # both.
  kinesis_read_actions = [
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
  ]
  kinesis_write_actions = [
    "kinesis:PutRecord",
    "kinesis:PutRecords",
  ]
  dynamodb_read_actions = [
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
  ]
  dynamodb_write_actions = [
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
  ]

  # Each Lambda function's package: <artifacts_dir>/tailor-<name>/bootstrap.zip
  # (the job's is tailor-slow-lane), unless var.function_zips names another.
  packages = {
    for f in local.lambda_names :
    f => lookup(var.function_zips, f, "${var.artifacts_dir}/tailor-${f}/bootstrap.zip")
  }

  # Environment shared by every function. Every function reads or writes
  # erasure tombstones, which are kept under keyed tokens (HMAC with the
  # tokenization key) of the identity key, so every function needs the
  # same TAILOR_TOKEN_KEY. Every function also gets the destinations the
  # deployment holds, and checks them against the policy at start-up:
  # ingest refuses events of regions approved for any other destination,
  # and score answers their requests with the placement's default. A
  # deployment that names a policy overlay gets TAILOR_POLICY_OVERLAY, and
  # every function composes that overlay over the central bundle (an
  # unknown one stops it at start-up); without one the variable is not set
  # and the central bundle applies alone.
  common_environment = merge(
    {
      TAILOR_TABLE_PREFIX = var.name
      TAILOR_LOG          = var.log_level
      TAILOR_TOKEN_KEY    = var.token_key
      TAILOR_DESTINATIONS = join(",", var.destinations)
    },
    var.policy_overlay == null ? {} : { TAILOR_POLICY_OVERLAY = var.policy_overlay }
  )

  # What score runs the model with: ONNX Runtime from the layer, the model,
  # the engine, and the budget of its store calls.
  score_environment = {
    ORT_DYLIB_PATH         = "/opt/lib/libonnxruntime.so"
    TAILOR_MODEL_DIR       = var.score_model_dir
    TAILOR_ENGINE          = var.score_engine
    TAILOR_STORE_BUDGET_MS = tostring(var.score_store_budget_ms)
  }

  # Each Lambda function's own environment, besides the common one. ingest
  # takes consent changes from the events stream only where the deployment
  # trusts every producer of that stream with them (stream_consent);
  # otherwise it dead-letters them as consent_not_permitted. The slow
  # lane's job starts as score does (the same model, engine and catalog),
  # and reads the offline log (offline_log.tf) besides.
  function_environment = {
    ingest = {
      TAILOR_STREAM_INGESTED = aws_kinesis_stream.this["ingested"].name
      TAILOR_STREAM_CONSENT  = var.stream_consent ? "accept" : "refuse"
    }
    enrich = {
      TAILOR_STREAM_ENRICHED        = aws_kinesis_stream.this["enriched"].name
      TAILOR_STREAM_CONSENT_CHANGES = aws_kinesis_stream.this["consent-changes"].name
    }
    features = {}
    consent  = {}
    score    = local.score_environment
    "slow-lane" = merge(local.score_environment, {
      TAILOR_OFFLINE_LOG_BUCKET = aws_s3_bucket.offline_log.id
      TAILOR_OFFLINE_LOG_PREFIX = local.offline_log_prefix
    })
  }
}
