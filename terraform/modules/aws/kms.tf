# One customer-managed key encrypts the deployment's data at rest: tables,
# streams, dead-letter queues, the offline log's bucket, log groups and the
# functions' environment.

resource "aws_kms_key" "this" {
  description             = "Tailor ${var.name}: tables, streams, queues, offline log, logs and function environment"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

# In a key policy the resource "*" means the key itself.
data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:This is a key policy: its resource "*" is this key alone, and the owning account must keep administering it or the key becomes unmanageable.
  #checkov:skip=CKV_AWS_111:This is a key policy: its resource "*" is this key alone; write access goes to the owning account, which delegates use to the IAM policies in iam.tf.
  #checkov:skip=CKV_AWS_356:This is a key policy: its resource "*" is this key alone, not every resource in the account.

  # The account administers the key and delegates its use to IAM policies:
  # each function's role, the slow lane's job's included, is granted
  # kms:Decrypt and kms:GenerateDataKey in iam.tf, the offline log's
  # delivery role in offline_log.tf, and DynamoDB, Kinesis, SQS, S3 and
  # Lambda use the key on behalf of those callers.
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # CloudWatch Logs encrypts this deployment's log groups: the functions'
  # and the slow lane's job's (one pattern, `/aws/lambda/<name>-*`) and the
  # offline log's delivery stream's (its exact name).
  statement {
    sid = "CloudWatchLogs"
    actions = [
      "kms:Decrypt*",
      "kms:Describe*",
      "kms:Encrypt*",
      "kms:GenerateDataKey*",
      "kms:ReEncrypt*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.name}-*",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.offline_log_group}",
      ]
    }
  }
}
