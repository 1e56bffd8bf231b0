# Alarms notify var.alarm_actions when they fire and when they clear.

locals {
  # Every Lambda function that alarms on its errors, by name: the five
  # functions and the slow lane's job.
  alarmed_functions = { for f in local.lambda_names : f => aws_lambda_function.this[f].function_name }

  # What a message in each dead-letter queue holds.
  dead_letter_messages = {
    for k, v in local.dead_letter_queues : k => (
      v == "schedule"
      ? "a scheduled run; the queue message holds the scheduled event and the error"
      : "stream records; the queue message names the shard and sequence numbers"
    )
  }
}

# A stream function falling behind its stream.
resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  for_each = local.triggers

  alarm_name          = "${var.name}-${each.key}-iterator-age"
  alarm_description   = "${each.key} lags more than ${var.iterator_age_alarm_threshold_ms} ms behind the ${each.value} stream."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.iterator_age_alarm_threshold_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  for_each = local.alarmed_functions

  alarm_name          = "${var.name}-${each.key}-errors"
  alarm_description   = "${each.key} failed invocations."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  for_each = toset(local.function_names)

  alarm_name          = "${var.name}-${each.key}-throttles"
  alarm_description   = "${each.key} invocations were throttled."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}

# Any message in a dead-letter queue is a batch that was given up on.
resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = local.dead_letter_messages

  alarm_name          = "${var.name}-${each.key}-dlq"
  alarm_description   = "${each.key} gave up on ${each.value}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letter[each.key].name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}

# A function costing more in an hour than CloudWatch expects: the sum of
# the cost_amount its cost records log (namespace Tailor, dimension
# function_name: this deployment's function alone) against the band
# anomaly detection learns from that metric's history.
resource "aws_cloudwatch_metric_alarm" "cost_anomaly" {
  for_each = toset(local.function_names)

  alarm_name          = "${var.name}-${each.key}-cost-anomaly"
  alarm_description   = "${each.key} cost more per hour than the band anomaly detection expects of its cost_amount, 2 hours running."
  evaluation_periods  = 2
  threshold_metric_id = "band"
  comparison_operator = "GreaterThanUpperThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags

  metric_query {
    id          = "cost"
    return_data = true

    metric {
      namespace   = "Tailor"
      metric_name = "cost_amount"
      dimensions  = { function_name = aws_lambda_function.this[each.key].function_name }
      stat        = "Sum"
      period      = 3600
    }
  }

  metric_query {
    id          = "band"
    expression  = "ANOMALY_DETECTION_BAND(cost, 2)"
    label       = "${each.key} cost_amount (expected)"
    return_data = true
  }
}
