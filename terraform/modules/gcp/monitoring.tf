# Alert policies notify var.notification_channels when they open and when
# they close.

# Any message on a dead-letter subscription is one Pub/Sub gave up on after
# max_delivery_attempts.
resource "google_monitoring_alert_policy" "dead_letters" {
  for_each = local.triggers

  project               = var.project_id
  display_name          = "${var.name}-${each.key} dead letters"
  combiner              = "OR"
  notification_channels = var.notification_channels
  severity              = "ERROR"
  user_labels           = var.labels

  conditions {
    display_name = "${google_pubsub_subscription.dead_letter[each.key].name} holds messages"

    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter[each.key].name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    subject   = "${var.name}-${each.key} gave up on ${var.name}-${each.value} messages"
    content   = "Pub/Sub could not deliver messages of ${var.name}-${each.value} to ${each.key} in ${var.max_delivery_attempts} attempts and moved them to ${google_pubsub_subscription.dead_letter[each.key].name}, which keeps them 7 days. Pull them from there to inspect or replay them."
    mime_type = "text/markdown"
  }
}

# A stream function falling behind its subscription.
resource "google_monitoring_alert_policy" "backlog" {
  for_each = local.triggers

  project               = var.project_id
  display_name          = "${var.name}-${each.key} backlog"
  combiner              = "OR"
  notification_channels = var.notification_channels
  severity              = "WARNING"
  user_labels           = var.labels

  conditions {
    display_name = "oldest unacknowledged ${var.name}-${each.value} message older than ${var.backlog_alert_threshold_seconds} s"

    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.trigger[each.key].name}\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.backlog_alert_threshold_seconds
      duration        = "300s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
}

# Requests a service answered with 5xx. For a stream function each one is a
# nack, and Pub/Sub delivers the message again.
resource "google_monitoring_alert_policy" "server_errors" {
  for_each = toset(local.function_names)

  project               = var.project_id
  display_name          = "${var.name}-${each.key} 5xx"
  combiner              = "OR"
  notification_channels = var.notification_channels
  severity              = "ERROR"
  user_labels           = var.labels

  conditions {
    display_name = "${local.service_names[each.key]} answered 5xx"

    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloud_run_v2_service.this[each.key].name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
}

# Error log lines of each service: the function's own (JSON lines with
# "level": "ERROR") and the platform's (severity ERROR or above, such as a
# container that fails to start).
resource "google_logging_metric" "errors" {
  for_each = toset(local.function_names)

  project     = var.project_id
  name        = "${var.name}-${each.key}-errors"
  description = "Error log entries of the Tailor ${var.name} ${each.key} service."
  filter      = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${local.service_names[each.key]}\" AND (severity >= ERROR OR jsonPayload.level = \"ERROR\")"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [google_project_service.this]
}

resource "google_monitoring_alert_policy" "errors" {
  for_each = toset(local.function_names)

  project               = var.project_id
  display_name          = "${var.name}-${each.key} errors"
  combiner              = "OR"
  notification_channels = var.notification_channels
  severity              = "ERROR"
  user_labels           = var.labels

  conditions {
    display_name = "${local.service_names[each.key]} logged errors"

    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND metric.type = \"logging.googleapis.com/user/${google_logging_metric.errors[each.key].name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
}

# The cost of each invocation of each service, from its cost records:
# entries with "message": "cost record" whose `cost` carries a total (an
# unpriced record has none) in USD. A distribution in USD, for charts of
# the cost per invocation and per period; the spend alerts are the
# budget's (budget.tf).
resource "google_logging_metric" "cost" {
  for_each = toset(local.function_names)

  project         = var.project_id
  name            = "${var.name}-${each.key}-cost"
  description     = "Cost in USD of each invocation of the Tailor ${var.name} ${each.key} service, from its cost records."
  filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${local.service_names[each.key]}\" AND jsonPayload.message = \"cost record\" AND jsonPayload.cost.currency = \"USD\" AND jsonPayload.cost.total:*"
  value_extractor = "EXTRACT(jsonPayload.cost.total)"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "1"
    display_name = "${var.name}-${each.key} cost per invocation (USD)"
  }

  # From 10^-9 USD, doubling: 48 buckets reach past 10^5 USD.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 48
      growth_factor      = 2
      scale              = 0.000000001
    }
  }

  depends_on = [google_project_service.this]
}
