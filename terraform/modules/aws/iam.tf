# One role per Lambda function, the slow lane's job's included, with one
# inline policy. What each function may reach is data, local.permissions
# below, expanded once: every function's policy is made of the documents
# in this file that apply to it. Each statement names its resources;
# nothing is granted on a wildcard resource except the log streams of the
# function's own log group (`:*`) and X-Ray, whose trace-upload actions
# have no resource-level permissions.

locals {
  # What each function may reach, by name: the stream whose records invoke
  # it (null for score, which answers its Function URL, and for the slow
  # lane's job, which its schedule invokes), the streams it puts records
  # on, and the tables it reads and writes. A table it reads gets
  # local.dynamodb_read_actions, one it writes local.dynamodb_write_actions,
  # one in both lists both. reads_offline_log: whether it reads the offline
  # log (offline_log.tf). key_via: the services through which alone it may
  # use the deployment key (kms:ViaService), or null where it uses the key
  # without that condition. A function with a dead-letter queue (sqs.tf)
  # also sends to it, and every function writes to its own log group and
  # uploads traces (the common document below).
  permissions = {
    ingest = {
      triggered_by      = "events"
      publishes         = ["ingested"]
      reads             = ["dedup", "tombstones", "erasure-index", "subjects"]
      writes            = ["dedup", "dead-letters", "subjects"]
      reads_offline_log = false
      key_via           = null
    }
    enrich = {
      triggered_by      = "ingested"
      publishes         = ["enriched", "consent-changes"]
      reads             = ["identity", "tombstones", "erasure-index", "consent", "subjects"]
      writes            = ["identity", "audit", "dead-letters", "subjects"]
      reads_offline_log = false
      key_via           = null
    }
    features = {
      triggered_by      = "enriched"
      publishes         = []
      reads             = ["feature-inputs", "features", "identity", "consent", "tombstones", "erasure-index", "subjects"]
      writes            = ["feature-inputs", "features", "dead-letters", "subjects"]
      reads_offline_log = false
      key_via           = null
    }
    consent = {
      triggered_by      = "consent-changes"
      publishes         = []
      reads             = ["consent", "feature-inputs", "features", "slow-lane", "identity", "tombstones", "erasure-index", "subjects"]
      writes            = ["consent", "audit", "feature-inputs", "features", "slow-lane", "identity", "tombstones", "erasure-index", "dead-letters", "subjects"]
      reads_offline_log = false
      key_via           = null
    }
    score = {
      triggered_by      = null
      publishes         = []
      reads             = ["identity", "features", "slow-lane", "consent", "tombstones", "erasure-index", "decisions", "subjects"]
      writes            = ["decisions", "subjects"]
      reads_offline_log = false
      key_via           = null
    }
    # The slow lane's job: the tables the replay settles keys in (identity,
    # tombstones and their index, consent) and its own, and the offline log. It decrypts
    # the tables and the log's objects, and encrypts the tables' items and
    # its queue's messages, through DynamoDB, S3 and SQS alone.
    "slow-lane" = {
      triggered_by      = null
      publishes         = []
      reads             = ["identity", "tombstones", "erasure-index", "consent", "slow-lane"]
      writes            = ["slow-lane"]
      reads_offline_log = true
      key_via           = ["dynamodb", "s3", "sqs"]
    }
  }

  # The functions that put records on streams, with those streams.
  publishers = { for f, p in local.permissions : f => p.publishes if p.publishes != [] }
}

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
  for_each = toset(local.lambda_names)

  name               = "${var.name}-${each.key}"
  description        = "Tailor ${var.name}: ${local.descriptions[each.key].role}"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "this" {
  for_each = local.permissions

  name   = "${var.name}-${each.key}"
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.function[each.key].json
}

# Each function's policy: the documents below that apply to it, merged in
# this order. A document a function has no instance of (score has no
# trigger, features no output stream, only the slow lane's job reads the
# offline log) is left out.
data "aws_iam_policy_document" "function" {
  for_each = local.permissions

  source_policy_documents = [
    for doc in [
      data.aws_iam_policy_document.common[each.key],
      lookup(data.aws_iam_policy_document.key, each.key, null),
      lookup(data.aws_iam_policy_document.key_via, each.key, null),
      lookup(data.aws_iam_policy_document.trigger, each.key, null),
      lookup(data.aws_iam_policy_document.publish, each.key, null),
      lookup(data.aws_iam_policy_document.offline_log_reader, each.key, null),
      data.aws_iam_policy_document.tables[each.key],
      lookup(data.aws_iam_policy_document.dead_letter, each.key, null),
    ] : doc.json if doc != null
  ]
}

# What every function needs: its own log group, and X-Ray.
data "aws_iam_policy_document" "common" {
  for_each = local.permissions

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[each.key].arn}:*"]
  }

  # Active tracing: X-Ray's upload actions take no resource ARN.
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }
}

# The deployment key, for a function without key_via.
data "aws_iam_policy_document" "key" {
  for_each = { for f, p in local.permissions : f => p if p.key_via == null }

  statement {
    sid       = "DeploymentKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
}

# The deployment key, for a function with key_via: used through those
# services only.
data "aws_iam_policy_document" "key_via" {
  for_each = { for f, p in local.permissions : f => p.key_via if p.key_via != null }

  statement {
    sid       = "DeploymentKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [for s in each.value : "${s}.${local.region}.${data.aws_partition.current.dns_suffix}"]
    }
  }
}

# A stream function reads its trigger stream.
data "aws_iam_policy_document" "trigger" {
  for_each = local.triggers

  statement {
    sid       = "ReadTrigger"
    actions   = local.kinesis_read_actions
    resources = [aws_kinesis_stream.this[each.value].arn]
  }
}

# A function that puts records on streams may put them on those alone.
data "aws_iam_policy_document" "publish" {
  for_each = local.publishers

  statement {
    sid       = "WriteStreams"
    actions   = local.kinesis_write_actions
    resources = [for s in each.value : aws_kinesis_stream.this[s].arn]
  }
}

# A function that reads the offline log lists the bucket under the log's
# prefix only, not the delivery errors beside it, and reads the objects
# under that prefix.
data "aws_iam_policy_document" "offline_log_reader" {
  for_each = { for f, p in local.permissions : f => p if p.reads_offline_log }

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
}

# Every function reads and writes tables: a statement must name at least
# one resource, so neither list may be empty.
data "aws_iam_policy_document" "tables" {
  for_each = local.permissions

  statement {
    sid       = "ReadTables"
    actions   = local.dynamodb_read_actions
    resources = [for t in each.value.reads : aws_dynamodb_table.this[t].arn]
  }

  statement {
    sid       = "WriteTables"
    actions   = local.dynamodb_write_actions
    resources = [for t in each.value.writes : aws_dynamodb_table.this[t].arn]
  }
}

# A function with a dead-letter queue (sqs.tf) sends to it, as the
# on-failure destination sends with the function's role: a stream
# function's failed batches' descriptions, the slow lane's job's failed
# runs.
data "aws_iam_policy_document" "dead_letter" {
  for_each = local.dead_letter_queues

  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter[each.key].arn]
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
