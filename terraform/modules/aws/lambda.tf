# Every Lambda function of the module, the five functions and the slow
# lane's scheduled job (slow_lane.tf), made by the same resources: Rust
# binaries on the provided.al2023 runtime, arm64. Where they differ is
# data, keyed by function: the maps below, local.packages and
# local.function_environment (main.tf), and local.permissions (iam.tf).

locals {
  # What each one is, in its function's description and its role's.
  descriptions = merge(
    { for f in local.function_names : f => { function = f, role = "the ${f} function" } },
    { "slow-lane" = { function = "the slow lane's scheduled job", role = "the slow lane's scheduled job" } },
  )

  # Memory in MB: the functions' from var.memory_size, the job's from
  # var.slow_lane_memory_size, as a run reads the whole offline log into
  # memory.
  memory_sizes = merge(var.memory_size, { "slow-lane" = var.slow_lane_memory_size })

  # Timeout in seconds: the functions' from var.timeout; the job's is
  # Lambda's longest, as a run must finish within one invocation.
  timeouts = merge(var.timeout, { "slow-lane" = 900 })

  # score and the job run the model, and mount ONNX Runtime (the layer
  # below) at /opt; the others have no layers.
  layers = merge(
    { for f in local.lambda_names : f => [] },
    { for f in ["score", "slow-lane"] : f => [aws_lambda_layer_version.ort.arn] },
  )
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Logs carry pseudonymous profile identifiers that erasure must not outlive for long; retention is var.log_retention_days (default 30), a data-minimisation choice left to the operator.
  for_each = toset(local.lambda_names)

  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = local.tags
}

# ONNX Runtime for the `ort` engine of score and the slow lane's job,
# mounted at /opt.
resource "aws_lambda_layer_version" "ort" {
  layer_name               = "${var.name}-onnxruntime"
  description              = "ONNX Runtime shared library (lib/libonnxruntime.so) for Tailor's score function"
  filename                 = var.ort_layer_zip
  source_code_hash         = filebase64sha256(var.ort_layer_zip)
  compatible_runtimes      = ["provided.al2023"]
  compatible_architectures = ["arm64"]
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Stream functions hand failed batches to an SQS queue through their event source mapping's on-failure destination; score is only invoked synchronously on its Function URL, and a function dead-letter queue applies to asynchronous invocations only; the slow lane's job, which its schedule invokes asynchronously, sends a run that fails every attempt to its SQS queue, with the error, through the on-failure destination of its asynchronous invocation config (slow_lane.tf), so a dead-letter queue besides would take the same failures twice.
  #checkov:skip=CKV_AWS_117:The functions and the slow lane's job reach only AWS service endpoints (Kinesis, DynamoDB, S3, SQS, KMS, CloudWatch, X-Ray) with IAM-signed requests and no private network resources; a VPC would add NAT or endpoint costs without narrowing access, which the roles already restrict.
  #checkov:skip=CKV_AWS_272:Packages, the slow lane's job's included, are uploaded by Terraform straight from the deployer's own cargo lambda build; AWS Signer signs only packages staged in S3, so code signing belongs to a release pipeline that stages them there.
  for_each = toset(local.lambda_names)

  function_name = "${var.name}-${each.key}"
  description   = "Tailor ${var.name}: ${local.descriptions[each.key].function}"
  role          = aws_iam_role.this[each.key].arn

  runtime       = "provided.al2023"
  architectures = ["arm64"]
  handler       = "bootstrap"

  filename         = local.packages[each.key]
  source_code_hash = filebase64sha256(local.packages[each.key])
  layers           = local.layers[each.key]

  memory_size                    = local.memory_sizes[each.key]
  timeout                        = local.timeouts[each.key]
  reserved_concurrent_executions = lookup(var.reserved_concurrency, each.key, -1)

  kms_key_arn = aws_kms_key.this.arn
  environment {
    variables = merge(local.common_environment, local.function_environment[each.key])
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this[each.key].name
    application_log_level = upper(var.log_level)
    system_log_level      = "WARN"
  }

  tracing_config {
    mode = "Active"
  }

  tags = local.tags

  # The role's policy must exist before the function (and its event source
  # mapping or schedule) are created, and the log group before the first
  # invocation.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

# Stream functions: one mapping each, from its trigger stream.
resource "aws_lambda_event_source_mapping" "this" {
  for_each = local.triggers

  event_source_arn  = aws_kinesis_stream.this[each.value].arn
  function_name     = aws_lambda_function.this[each.key].arn
  starting_position = "TRIM_HORIZON"

  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  parallelization_factor             = var.parallelization_factor

  # The functions report the records they could not process; Lambda retries
  # from the first of them, splits failing batches to isolate a poison
  # record, and gives up after bounded retries or record age.
  function_response_types        = ["ReportBatchItemFailures"]
  bisect_batch_on_function_error = true
  maximum_retry_attempts         = var.maximum_retry_attempts
  maximum_record_age_in_seconds  = var.maximum_record_age_in_seconds

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.dead_letter[each.key].arn
    }
  }

  tags = local.tags
}

# score answers signed (SigV4) HTTPS requests only.
resource "aws_lambda_function_url" "score" {
  function_name      = aws_lambda_function.this["score"].function_name
  authorization_type = "AWS_IAM"
}
