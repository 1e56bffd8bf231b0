# The deployment's monthly budget, when var.monthly_budget is set: an AWS
# Budgets cost budget over the costs tagged with the deployment's own tag
# (local.deployment_tag), which every resource of the module carries. It
# warns var.budget_emails when the month's actual spend passes 80% of the
# budget and when the forecast for the month passes 100%. Budgets sees a tag
# only once it is activated as a cost allocation tag, and only from then on.

resource "aws_budgets_budget" "monthly" {
  count = var.monthly_budget == null ? 0 : 1

  name         = "${var.name}-monthly"
  budget_type  = "COST"
  limit_amount = tostring(var.monthly_budget)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  cost_filter {
    name   = "TagKeyValue"
    values = [for k, v in local.deployment_tag : format("user:%s$%s", k, v)]
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 80
    threshold_type             = "PERCENTAGE"
    notification_type          = "ACTUAL"
    subscriber_email_addresses = var.budget_emails
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 100
    threshold_type             = "PERCENTAGE"
    notification_type          = "FORECASTED"
    subscriber_email_addresses = var.budget_emails
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = length(var.budget_emails) > 0
      error_message = "monthly_budget needs budget_emails: AWS Budgets sends a notification to at least one subscriber."
    }
  }
}
