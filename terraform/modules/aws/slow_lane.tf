# The slow lane's scheduled batch job: `tailor-slow-lane`, a Lambda
# function that an EventBridge schedule invokes (asynchronously) once per
# var.slow_lane_schedule. Each run reads the offline log (offline_log.tf)
# whole, every object under local.offline_log_prefix, and keeps every
# profile's long-horizon features and batch scores in the slow-lane table,
# as of the scheduled event's `time`: a retried run computes the same lanes.
#
#   EventBridge <name>-slow-lane -> <name>-slow-lane -> slow-lane table
#                                        ^ s3://<bucket>/enriched/
#
# It starts as score does (the same model, engine and catalog, the same
# environment and the ONNX Runtime layer), with the offline log's bucket
# and prefix besides. A run must finish within one invocation, so the job
# has Lambda's longest timeout.

locals {
  slow_lane_package = lookup(var.function_zips, "slow-lane", "${var.artifacts_dir}/tailor-slow-lane/bootstrap.zip")

  # What the job reads and writes: the tables the replay settles keys in
  # (identity, tombstones, consent) and its own. It reads the offline log
  # besides (the statements below) and sends failed runs to its queue.
  slow_lane_reads  = ["identity", "tombstones", "consent", "slow-lane"]
  slow_lane_writes = ["slow-lane"]
}

resource "aws_cloudwatch_log_group" "slow_lane" {
  #checkov:skip=CKV_AWS_338:Logs carry pseudonymous profile identifiers that erasure must not outlive for long; retention is var.log_retention_days (default 30), the same data-minimisation choice as the functions' log groups.
  name              = "/aws/lambda/${var.name}-slow-lane"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = local.tags
}

resource "aws_lambda_function" "slow_lane" {
  #checkov:skip=CKV_AWS_116:EventBridge invokes the job asynchronously, and a run that fails every attempt goes to its SQS queue through the on-failure destination of aws_lambda_function_event_invoke_config.slow_lane, with the error; a dead-letter queue besides would take the same failures twice.
  #checkov:skip=CKV_AWS_117:The job reaches only AWS service endpoints (S3, DynamoDB, SQS, KMS, CloudWatch, X-Ray) with IAM-signed requests and no private network resources; a VPC would add NAT or endpoint costs without narrowing access, which its role already restricts.
  #checkov:skip=CKV_AWS_272:The package is uploaded by Terraform straight from the deployer's own cargo lambda build; AWS Signer signs only packages staged in S3, so code signing belongs to a release pipeline that stages them there.
  function_name = "${var.name}-slow-lane"
  description   = "Tailor ${var.name}: the slow lane's scheduled job"
  role          = aws_iam_role.slow_lane.arn

  runtime       = "provided.al2023"
  architectures = ["arm64"]
  handler       = "bootstrap"

  filename         = local.slow_lane_package
  source_code_hash = filebase64sha256(local.slow_lane_package)
  layers           = [aws_lambda_layer_version.ort.arn]

  # The whole log is read into memory, and a run must finish within one
  # invocation: Lambda's longest timeout.
  memory_size                    = var.slow_lane_memory_size
  timeout                        = 900
  reserved_concurrent_executions = lookup(var.reserved_concurrency, "slow-lane", -1)

  kms_key_arn = aws_kms_key.this.arn
  environment {
    variables = merge(local.common_environment, local.function_environment["score"], {
      TAILOR_OFFLINE_LOG_BUCKET = aws_s3_bucket.offline_log.id
      TAILOR_OFFLINE_LOG_PREFIX = local.offline_log_prefix
    })
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.slow_lane.name
    application_log_level = upper(var.log_level)
    system_log_level      = "WARN"
  }

  tracing_config {
    mode = "Active"
  }

  tags = local.tags

  # The role's policy must exist before the function, and the log group
  # before the first invocation.
  depends_on = [aws_iam_role_policy.slow_lane, aws_cloudwatch_log_group.slow_lane]
}

# ---------------------------------------------------------------------------
# The schedule
# ---------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "slow_lane" {
  name                = "${var.name}-slow-lane"
  description         = "Tailor ${var.name}: runs the slow lane's job"
  schedule_expression = var.slow_lane_schedule
  tags                = local.tags
}

# The scheduled event itself is the input: the job computes as of its
# `time`.
resource "aws_cloudwatch_event_target" "slow_lane" {
  rule      = aws_cloudwatch_event_rule.slow_lane.name
  target_id = "slow-lane"
  arn       = aws_lambda_function.slow_lane.arn
}

# Only this rule may invoke the job.
resource "aws_lambda_permission" "slow_lane" {
  statement_id  = "AllowSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.slow_lane.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.slow_lane.arn
}

# A failed run is retried (bounded; Lambda allows at most 2 retries) with
# the same event, so as of the same moment. A run that fails every attempt,
# or whose event waits longer than 6 hours (Lambda's longest) to be run,
# goes to the job's dead-letter queue (sqs.tf) with the error. Lanes a
# failed run wrote stay; the next run writes them all.
resource "aws_lambda_function_event_invoke_config" "slow_lane" {
  function_name                = aws_lambda_function.slow_lane.function_name
  maximum_retry_attempts       = var.slow_lane_maximum_retry_attempts
  maximum_event_age_in_seconds = 21600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dead_letter["slow-lane"].arn
    }
  }
}

# ---------------------------------------------------------------------------
# The job's role
# ---------------------------------------------------------------------------

resource "aws_iam_role" "slow_lane" {
  name               = "${var.name}-slow-lane"
  description        = "Tailor ${var.name}: the slow lane's scheduled job"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "slow_lane" {
  name   = "${var.name}-slow-lane"
  role   = aws_iam_role.slow_lane.id
  policy = data.aws_iam_policy_document.slow_lane.json
}

# What the job needs, each on its own resource: its log group, the offline
# log's objects, its tables, its dead-letter queue and the key. Only X-Ray,
# whose upload actions take no resource ARN, is granted on "*".
data "aws_iam_policy_document" "slow_lane" {
  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.slow_lane.arn}:*"]
  }

  # Listing the bucket, under the log's prefix only: not the error output.
  statement {
    sid       = "ListOfflineLog"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.offline_log.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.offline_log_prefix}*"]
    }
  }

  statement {
    sid       = "ReadOfflineLog"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.offline_log.arn}/${local.offline_log_prefix}*"]
  }

  statement {
    sid       = "ReadTables"
    actions   = local.dynamodb_read_actions
    resources = [for t in local.slow_lane_reads : aws_dynamodb_table.this[t].arn]
  }

  statement {
    sid       = "WriteTables"
    actions   = local.dynamodb_write_actions
    resources = [for t in local.slow_lane_writes : aws_dynamodb_table.this[t].arn]
  }

  # The on-failure destination: Lambda sends with the job's role.
  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter["slow-lane"].arn]
  }

  # Decrypting the tables and the log's objects, and encrypting the
  # tables' items and the queue's messages: used through DynamoDB, S3 and
  # SQS only.
  statement {
    sid       = "DeploymentKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [
        "dynamodb.${local.region}.${data.aws_partition.current.dns_suffix}",
        "s3.${local.region}.${data.aws_partition.current.dns_suffix}",
        "sqs.${local.region}.${data.aws_partition.current.dns_suffix}",
      ]
    }
  }

  # Active tracing: X-Ray's upload actions take no resource ARN.
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }
}

# Its alarms are the functions' (alarms.tf): errors on any failed attempt,
# and any message in its queue.
