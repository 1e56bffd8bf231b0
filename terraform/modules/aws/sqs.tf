# One dead-letter queue per stream function, and one for the slow lane's
# scheduled job (slow_lane.tf). When a stream function's batch still fails
# after bisection and the bounded retries, or its records grow older than
# maximum_record_age_in_seconds, Lambda sends a message that names the shard
# and sequence-number range; the records themselves stay in the stream until
# its retention runs out, which bounds how long they can be replayed. When a
# scheduled run of the job fails on every attempt, Lambda sends the
# scheduled event with the error (the on-failure destination of its
# asynchronous invocations).

locals {
  # What invokes the function each queue serves: its trigger stream, or
  # the job's schedule.
  dead_letter_queues = merge(local.triggers, { "slow-lane" = "schedule" })
}

resource "aws_sqs_queue" "dead_letter" {
  for_each = local.dead_letter_queues

  name                              = "${var.name}-${each.key}-dlq"
  message_retention_seconds         = 1209600 # 14 days, the SQS maximum
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300

  tags = local.tags
}
