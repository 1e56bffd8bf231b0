# The deployment's monthly budget, when var.monthly_budget is set: a Cloud
# Billing budget on var.billing_account over the project's costs (every
# service the project uses, not only the deployment's). It alerts when the
# month's actual spend passes 80% of the budget and when the forecast for
# the month passes 100%, by email to the billing account's administrators
# and to var.notification_channels, which for a budget must be email
# channels, at most 5.

resource "google_billing_budget" "monthly" {
  count = var.monthly_budget == null ? 0 : 1

  billing_account = var.billing_account
  display_name    = "${var.name} monthly"

  budget_filter {
    projects        = ["projects/${local.project_number}"]
    calendar_period = "MONTH"
  }

  amount {
    specified_amount {
      currency_code = "USD"
      units         = tostring(var.monthly_budget)
    }
  }

  threshold_rules {
    threshold_percent = 0.8
    spend_basis       = "CURRENT_SPEND"
  }

  threshold_rules {
    threshold_percent = 1.0
    spend_basis       = "FORECASTED_SPEND"
  }

  all_updates_rule {
    monitoring_notification_channels = var.notification_channels
  }

  lifecycle {
    precondition {
      condition     = var.billing_account != null
      error_message = "monthly_budget needs billing_account: the budget belongs to the billing account that pays for the project."
    }

    precondition {
      condition     = length(var.notification_channels) <= 5
      error_message = "a budget notifies at most 5 notification channels: with monthly_budget set, notification_channels may name 5 at most."
    }
  }

  depends_on = [google_project_service.this]
}
