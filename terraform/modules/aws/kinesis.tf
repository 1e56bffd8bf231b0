# Four streams, `<name>-<stream>`. Order per profile relies on the partition
# key: producers put events on `events` with the profile as partition key,
# and the functions key what they write on the same way. Kinesis keeps one
# key's records in order within its shard, and Lambda keeps that order at
# any parallelization factor.

resource "aws_kinesis_stream" "this" {
  for_each = toset(local.stream_names)

  name             = "${var.name}-${each.key}"
  retention_period = var.stream_retention_hours
  encryption_type  = "KMS"
  kms_key_id       = aws_kms_key.this.arn

  stream_mode_details {
    stream_mode = "ON_DEMAND"
  }

  tags = local.tags
}
