# The offline log: every message on the enriched stream, kept in S3 as JSON
# Lines (one enriched message per line) for the scheduled batch job that
# computes the slow lane's long-horizon features, and for backfills. It is
# what the local platform keeps as `.tailor/enriched.jsonl`.
#
#   enriched stream -> Firehose <name>-offline-log -> s3://<bucket>/enriched/yyyy/MM/dd/HH/
#
# Unlike the local file, the log is not rewritten on erasure: a person's
# events stay until the lifecycle rule expires them
# (var.offline_log_retention_days), and meanwhile the batch job and the
# backfill leave out every key that has an erasure tombstone.

locals {
  # Globally unique and at most 63 characters, S3's limit on a bucket name:
  # var.name (at most 32) + "-ol-" (4) + the account id (12) + "-" (1)
  # leaves 14 for the region, the longest commercial region name
  # (ap-southeast-5). A longer one fails the precondition below at plan,
  # not at apply. "ol" is the offline log: "offline-log" does not fit.
  offline_log_bucket = "${var.name}-ol-${local.account_id}-${local.region}"

  # Where the batch job reads: one folder per UTC hour of delivery.
  offline_log_prefix = "enriched/"

  # The delivery stream's log group. The key policy (kms.tf) names it, so
  # CloudWatch Logs may encrypt it with the deployment key; it cannot refer
  # to the group itself, which needs the key first.
  offline_log_group = "/aws/kinesisfirehose/${var.name}-offline-log"
}

# ---------------------------------------------------------------------------
# The bucket
# ---------------------------------------------------------------------------

resource "aws_s3_bucket" "offline_log" {
  #checkov:skip=CKV_AWS_18:Server access logs would need a second bucket and would copy every object key and requester of this one; the only writer is the delivery stream and the readers are IAM principals, whose S3 calls CloudTrail data events record where the account wants them.
  #checkov:skip=CKV_AWS_144:Each deployment keeps its destination's data in the AWS region where it may be kept (see Residency); a replica in another region would carry personal data out of it and be one more copy an erasure has to wait out.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object-created events: the batch job runs on a schedule and lists the hourly prefixes it reads.
  bucket = local.offline_log_bucket

  # With deletion protection (the default) Terraform refuses to destroy the
  # bucket while it holds objects; without it, destroy empties it first, as
  # it then deletes the tables.
  force_destroy = !var.deletion_protection

  tags = local.tags

  lifecycle {
    precondition {
      condition     = length(local.offline_log_bucket) <= 63
      error_message = "The offline log's bucket name, ${local.offline_log_bucket}, is longer than the 63 characters S3 allows: shorten name."
    }
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "offline_log" {
  bucket = aws_s3_bucket.offline_log.id

  # The bucket key cuts the KMS requests of a bucket full of small objects
  # to one per bucket key instead of one per object.
  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
  }
}

resource "aws_s3_bucket_public_access_block" "offline_log" {
  bucket = aws_s3_bucket.offline_log.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# No ACLs: the bucket owns every object, and only IAM decides who reads.
resource "aws_s3_bucket_ownership_controls" "offline_log" {
  bucket = aws_s3_bucket.offline_log.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# Versioning keeps an object overwritten or deleted by mistake for a day
# (the noncurrent rule below), no longer: a kept version is one more place
# an erased person's events would wait in.
resource "aws_s3_bucket_versioning" "offline_log" {
  bucket = aws_s3_bucket.offline_log.id

  versioning_configuration {
    status = "Enabled"
  }
}

# The retention of the log, and so how long an erased person's events stay
# in it. It applies to the whole bucket: the error output too holds records.
resource "aws_s3_bucket_lifecycle_configuration" "offline_log" {
  bucket = aws_s3_bucket.offline_log.id

  rule {
    id     = "retention"
    status = "Enabled"

    filter {}

    expiration {
      days = var.offline_log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # The rule about noncurrent versions needs versioning to be on first.
  depends_on = [aws_s3_bucket_versioning.offline_log]
}

resource "aws_s3_bucket_policy" "offline_log" {
  bucket = aws_s3_bucket.offline_log.id
  policy = data.aws_iam_policy_document.offline_log_bucket.json

  # S3 rejects a bucket policy while the public access block is being set.
  depends_on = [aws_s3_bucket_public_access_block.offline_log]
}

# Every request to the bucket comes over TLS.
data "aws_iam_policy_document" "offline_log_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.offline_log.arn, "${aws_s3_bucket.offline_log.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# ---------------------------------------------------------------------------
# The delivery stream
# ---------------------------------------------------------------------------

# Delivery errors only (a record Firehose could not write, an access
# denied), kept like the functions' logs.
resource "aws_cloudwatch_log_group" "offline_log" {
  #checkov:skip=CKV_AWS_338:Delivery errors can name objects and records of the offline log; retention is var.log_retention_days (default 30), the same data-minimisation choice as the functions' log groups.
  name              = local.offline_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = local.tags
}

# Firehose writes to a stream it is given and does not create it.
resource "aws_cloudwatch_log_stream" "offline_log" {
  name           = "DestinationDelivery"
  log_group_name = aws_cloudwatch_log_group.offline_log.name
}

# Firehose reads the enriched stream from the moment it is created, beside
# the features function's event source mapping (it is a consumer of its
# own, and takes nothing from the function). Delivery is at least once: a
# retried batch can write a message twice, which the batch job counts once.
resource "aws_kinesis_firehose_delivery_stream" "offline_log" {
  name        = "${var.name}-offline-log"
  destination = "extended_s3"

  # The stream is already encrypted with the deployment key, and Firehose
  # takes no server-side encryption of its own with a Kinesis source.
  kinesis_source_configuration {
    kinesis_stream_arn = aws_kinesis_stream.this["enriched"].arn
    role_arn           = aws_iam_role.offline_log.arn
  }

  extended_s3_configuration {
    bucket_arn = aws_s3_bucket.offline_log.arn
    role_arn   = aws_iam_role.offline_log.arn

    # The hour is the UTC hour Firehose received the object's oldest
    # record, not the events' own time: a late event lands in a later hour.
    prefix              = "${local.offline_log_prefix}!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/!{timestamp:HH}/"
    error_output_prefix = "errors/!{firehose:error-output-type}/!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/!{timestamp:HH}/"

    # Plain JSON Lines, as the reader reads them; S3 encrypts them with the
    # deployment key.
    compression_format = "UNCOMPRESSED"
    file_extension     = ".jsonl"
    kms_key_arn        = aws_kms_key.this.arn

    # An object per 64 MB or 5 minutes, whichever comes first: an hour's
    # folder is complete a few minutes after the hour.
    buffering_size     = 64
    buffering_interval = 300

    # Each message is one JSON document without a line end: the delimiter
    # makes one message one line.
    processing_configuration {
      enabled = true

      processors {
        type = "AppendDelimiterToRecord"
      }
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.offline_log.name
      log_stream_name = aws_cloudwatch_log_stream.offline_log.name
    }
  }

  tags = local.tags

  # Firehose checks the role's access when the stream is created.
  depends_on = [aws_iam_role_policy.offline_log]
}

# ---------------------------------------------------------------------------
# The delivery stream's role
# ---------------------------------------------------------------------------

# Only Firehose, and only on behalf of this account (the external id
# Firehose passes is the account id), assumes the role.
data "aws_iam_policy_document" "offline_log_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "offline_log" {
  name               = "${var.name}-offline-log"
  description        = "Tailor ${var.name}: the offline log's delivery stream, from the enriched stream to S3"
  assume_role_policy = data.aws_iam_policy_document.offline_log_assume_role.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "offline_log" {
  name   = "${var.name}-offline-log"
  role   = aws_iam_role.offline_log.id
  policy = data.aws_iam_policy_document.offline_log.json
}

# What the delivery stream needs, each on its own resource: the enriched
# stream, the bucket and its objects, the key, its own log stream.
data "aws_iam_policy_document" "offline_log" {
  statement {
    sid       = "ReadEnriched"
    actions   = local.kinesis_read_actions
    resources = [aws_kinesis_stream.this["enriched"].arn]
  }

  statement {
    sid = "Bucket"
    actions = [
      "s3:GetBucketLocation",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
    ]
    resources = [aws_s3_bucket.offline_log.arn]
  }

  statement {
    sid = "Objects"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetObject",
      "s3:PutObject",
    ]
    resources = ["${aws_s3_bucket.offline_log.arn}/*"]
  }

  # Decrypting the stream's records, and encrypting the objects: used
  # through Kinesis and S3 only.
  statement {
    sid       = "DeploymentKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [
        "kinesis.${local.region}.${data.aws_partition.current.dns_suffix}",
        "s3.${local.region}.${data.aws_partition.current.dns_suffix}",
      ]
    }
  }

  statement {
    sid       = "DeliveryLog"
    actions   = ["logs:PutLogEvents"]
    resources = [aws_cloudwatch_log_stream.offline_log.arn]
  }
}
