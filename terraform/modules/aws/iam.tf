# One role per function. Each policy names every stream, table and queue the
# function may reach; nothing is granted on a wildcard resource except the
# log streams of the function's own log group (`:*`) and X-Ray, whose
# trace-upload actions have no resource-level permissions.
#
# Access (r: read, w: write, rw: both):
#
#   function  trigger          writes                     tables
#   ingest    events           ingested                   dedup rw, dead-letters w, subjects rw
#   enrich    ingested         enriched, consent-changes  identity rw, audit w, tombstones r, consent r, dead-letters w, subjects rw
#   features  enriched         -                          feature-inputs rw, features rw, identity r, consent r, tombstones r, dead-letters w, subjects rw
#   consent   consent-changes  -                          consent rw, audit w, feature-inputs rw, features rw, identity rw, tombstones rw, dead-letters w, subjects rw
#   score     (Function URL)   -                          identity r, features r, consent r, tombstones r, decisions rw, subjects rw

data "aws_iam_policy_document" "assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = toset(local.function_names)

  name               = "${var.name}-${each.key}"
  description        = "Tailor ${var.name}: the ${each.key} function"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "this" {
  for_each = local.role_policies

  name   = "${var.name}-${each.key}"
  role   = aws_iam_role.this[each.key].id
  policy = each.value
}

locals {
  role_policies = {
    ingest   = data.aws_iam_policy_document.ingest.json
    enrich   = data.aws_iam_policy_document.enrich.json
    features = data.aws_iam_policy_document.features.json
    consent  = data.aws_iam_policy_document.consent.json
    score    = data.aws_iam_policy_document.score.json
  }
}

# What every function needs: its own log group, the key, and X-Ray.
data "aws_iam_policy_document" "common" {
  for_each = toset(local.function_names)

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[each.key].arn}:*"]
  }

  statement {
    sid       = "DeploymentKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }

  # Active tracing: X-Ray's upload actions take no resource ARN.
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "ingest" {
  source_policy_documents = [data.aws_iam_policy_document.common["ingest"].json]

  statement {
    sid       = "ReadTrigger"
    actions   = local.kinesis_read_actions
    resources = [aws_kinesis_stream.this["events"].arn]
  }

  statement {
    sid       = "WriteStreams"
    actions   = local.kinesis_write_actions
    resources = [aws_kinesis_stream.this["ingested"].arn]
  }

  statement {
    sid     = "ReadTables"
    actions = local.dynamodb_read_actions
    resources = [
      aws_dynamodb_table.this["dedup"].arn,
      aws_dynamodb_table.this["subjects"].arn,
    ]
  }

  statement {
    sid     = "WriteTables"
    actions = local.dynamodb_write_actions
    resources = [
      aws_dynamodb_table.this["dedup"].arn,
      aws_dynamodb_table.this["dead-letters"].arn,
      aws_dynamodb_table.this["subjects"].arn,
    ]
  }

  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter["ingest"].arn]
  }
}

data "aws_iam_policy_document" "enrich" {
  source_policy_documents = [data.aws_iam_policy_document.common["enrich"].json]

  statement {
    sid       = "ReadTrigger"
    actions   = local.kinesis_read_actions
    resources = [aws_kinesis_stream.this["ingested"].arn]
  }

  statement {
    sid     = "WriteStreams"
    actions = local.kinesis_write_actions
    resources = [
      aws_kinesis_stream.this["enriched"].arn,
      aws_kinesis_stream.this["consent-changes"].arn,
    ]
  }

  statement {
    sid     = "ReadTables"
    actions = local.dynamodb_read_actions
    resources = [
      aws_dynamodb_table.this["identity"].arn,
      aws_dynamodb_table.this["tombstones"].arn,
      aws_dynamodb_table.this["consent"].arn,
      aws_dynamodb_table.this["subjects"].arn,
    ]
  }

  statement {
    sid     = "WriteTables"
    actions = local.dynamodb_write_actions
    resources = [
      aws_dynamodb_table.this["identity"].arn,
      aws_dynamodb_table.this["audit"].arn,
      aws_dynamodb_table.this["dead-letters"].arn,
      aws_dynamodb_table.this["subjects"].arn,
    ]
  }

  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter["enrich"].arn]
  }
}

data "aws_iam_policy_document" "features" {
  source_policy_documents = [data.aws_iam_policy_document.common["features"].json]

  statement {
    sid       = "ReadTrigger"
    actions   = local.kinesis_read_actions
    resources = [aws_kinesis_stream.this["enriched"].arn]
  }

  statement {
    sid     = "ReadTables"
    actions = local.dynamodb_read_actions
    resources = [
      aws_dynamodb_table.this["feature-inputs"].arn,
      aws_dynamodb_table.this["features"].arn,
      aws_dynamodb_table.this["identity"].arn,
      aws_dynamodb_table.this["consent"].arn,
      aws_dynamodb_table.this["tombstones"].arn,
      aws_dynamodb_table.this["subjects"].arn,
    ]
  }

  statement {
    sid     = "WriteTables"
    actions = local.dynamodb_write_actions
    resources = [
      aws_dynamodb_table.this["feature-inputs"].arn,
      aws_dynamodb_table.this["features"].arn,
      aws_dynamodb_table.this["dead-letters"].arn,
      aws_dynamodb_table.this["subjects"].arn,
    ]
  }

  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter["features"].arn]
  }
}

data "aws_iam_policy_document" "consent" {
  source_policy_documents = [data.aws_iam_policy_document.common["consent"].json]

  statement {
    sid       = "ReadTrigger"
    actions   = local.kinesis_read_actions
    resources = [aws_kinesis_stream.this["consent-changes"].arn]
  }

  statement {
    sid     = "ReadTables"
    actions = local.dynamodb_read_actions
    resources = [
      aws_dynamodb_table.this["consent"].arn,
      aws_dynamodb_table.this["feature-inputs"].arn,
      aws_dynamodb_table.this["features"].arn,
      aws_dynamodb_table.this["identity"].arn,
      aws_dynamodb_table.this["tombstones"].arn,
      aws_dynamodb_table.this["subjects"].arn,
    ]
  }

  statement {
    sid     = "WriteTables"
    actions = local.dynamodb_write_actions
    resources = [
      aws_dynamodb_table.this["consent"].arn,
      aws_dynamodb_table.this["audit"].arn,
      aws_dynamodb_table.this["feature-inputs"].arn,
      aws_dynamodb_table.this["features"].arn,
      aws_dynamodb_table.this["identity"].arn,
      aws_dynamodb_table.this["tombstones"].arn,
      aws_dynamodb_table.this["dead-letters"].arn,
      aws_dynamodb_table.this["subjects"].arn,
    ]
  }

  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter["consent"].arn]
  }
}

data "aws_iam_policy_document" "score" {
  source_policy_documents = [data.aws_iam_policy_document.common["score"].json]

  statement {
    sid     = "ReadTables"
    actions = local.dynamodb_read_actions
    resources = [
      aws_dynamodb_table.this["identity"].arn,
      aws_dynamodb_table.this["features"].arn,
      aws_dynamodb_table.this["consent"].arn,
      aws_dynamodb_table.this["tombstones"].arn,
      aws_dynamodb_table.this["decisions"].arn,
      aws_dynamodb_table.this["subjects"].arn,
    ]
  }

  statement {
    sid     = "WriteTables"
    actions = local.dynamodb_write_actions
    resources = [
      aws_dynamodb_table.this["decisions"].arn,
      aws_dynamodb_table.this["subjects"].arn,
    ]
  }
}

# For callers of the score Function URL: attach this policy to the role or
# user that sends the signed requests. Function URLs created since October
# 2025 need both actions.
data "aws_iam_policy_document" "score_invoke" {
  statement {
    sid       = "InvokeScoreUrl"
    actions   = ["lambda:InvokeFunctionUrl"]
    resources = [aws_lambda_function.this["score"].arn]

    condition {
      test     = "StringEquals"
      variable = "lambda:FunctionUrlAuthType"
      values   = ["AWS_IAM"]
    }
  }

  statement {
    sid       = "InvokeScore"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this["score"].arn]
  }
}

# For producers of the events stream: what putting events takes.
data "aws_iam_policy_document" "events_producer" {
  statement {
    sid       = "PutEvents"
    actions   = local.kinesis_write_actions
    resources = [aws_kinesis_stream.this["events"].arn]
  }

  statement {
    sid       = "EncryptEvents"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
}
