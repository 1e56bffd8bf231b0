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
# Its function, log group, role and policy are made by the five functions'
# resources (lambda.tf, iam.tf), keyed "slow-lane", and its entries in the
# per-function maps say how it differs: it starts as score does (the same
# model, engine and catalog, score's environment and the ONNX Runtime
# layer), with the offline log's bucket and prefix besides; a run must
# finish within one invocation, so it has Lambda's longest timeout; and its
# role reads the offline log and uses the key through DynamoDB, S3 and SQS
# alone. What is the job's alone is here: its schedule, and what becomes of
# a failed run.

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
  arn       = aws_lambda_function.this["slow-lane"].arn
}

# Only this rule may invoke the job.
resource "aws_lambda_permission" "slow_lane" {
  statement_id  = "AllowSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["slow-lane"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.slow_lane.arn
}

# A failed run is retried (bounded; Lambda allows at most 2 retries) with
# the same event, so as of the same moment. A run that fails every attempt,
# or whose event waits longer than 6 hours (Lambda's longest) to be run,
# goes to the job's dead-letter queue (sqs.tf) with the error. Lanes a
# failed run wrote stay; the next run writes them all.
resource "aws_lambda_function_event_invoke_config" "slow_lane" {
  function_name                = aws_lambda_function.this["slow-lane"].function_name
  maximum_retry_attempts       = var.slow_lane_maximum_retry_attempts
  maximum_event_age_in_seconds = 21600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dead_letter["slow-lane"].arn
    }
  }
}

# ---------------------------------------------------------------------------
# Addresses of earlier versions
# ---------------------------------------------------------------------------

# Earlier versions of the module made the job with resources of its own.
# These move an existing deployment's job to its instances of the shared
# resources, so that it is kept, not destroyed and created again. (Its
# policy document, a data source, is read again at each plan and needs no
# move.)

moved {
  from = aws_cloudwatch_log_group.slow_lane
  to   = aws_cloudwatch_log_group.this["slow-lane"]
}

moved {
  from = aws_lambda_function.slow_lane
  to   = aws_lambda_function.this["slow-lane"]
}

moved {
  from = aws_iam_role.slow_lane
  to   = aws_iam_role.this["slow-lane"]
}

moved {
  from = aws_iam_role_policy.slow_lane
  to   = aws_iam_role_policy.this["slow-lane"]
}

# Its alarms are the functions' (alarms.tf): errors on any failed attempt,
# and any message in its queue.
