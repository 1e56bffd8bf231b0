# One dead-letter queue per stream function. When a batch still fails after
# bisection and the bounded retries, or its records grow older than
# maximum_record_age_in_seconds, Lambda sends a message that names the shard
# and sequence-number range; the records themselves stay in the stream until
# its retention runs out, which bounds how long they can be replayed.

resource "aws_sqs_queue" "dead_letter" {
  for_each = local.triggers

  name                              = "${var.name}-${each.key}-dlq"
  message_retention_seconds         = 1209600 # 14 days, the SQS maximum
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300

  tags = local.tags
}
