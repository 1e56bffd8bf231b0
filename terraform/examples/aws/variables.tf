variable "eu_region" {
  type        = string
  description = "AWS region of the eu deployment, which holds the eu-central destination (the policy's regions eu and uk). It must be in the EU, where that data may be kept."
  default     = "eu-central-1"

  validation {
    condition     = startswith(var.eu_region, "eu-")
    error_message = "eu_region must be an EU region (eu-...): the eu deployment holds eu-central's data."
  }
}

variable "us_region" {
  type        = string
  description = "AWS region of the us deployment, which holds the us-east destination (the policy's region us). It must be in the US, where that data may be kept."
  default     = "us-east-1"

  validation {
    condition     = startswith(var.us_region, "us-")
    error_message = "us_region must be a US region (us-...): the us deployment holds us-east's data."
  }
}

variable "name" {
  type        = string
  description = "Prefix of the deployment names: the deployments are <name>-eu and <name>-us, which prefix their resources. They differ because IAM roles are global to the account."
  default     = "tailor"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,28}$", var.name))
    error_message = "name must be 1-29 characters of lower-case letters, digits and hyphens, starting with a letter, so that <name>-eu and <name>-us are valid deployment names."
  }
}

variable "token_key" {
  type        = string
  description = "Tokenization key for every function of both deployments (ingest's tokens, and the keyed tokens erasure tombstones are kept under), at least 16 bytes. Pass it as TF_VAR_token_key rather than in a file."
  sensitive   = true
}

variable "artifacts_dir" {
  type        = string
  description = "Where cargo lambda wrote the function packages, relative to this directory."
  default     = "../../../target/lambda"
}

variable "ort_layer_zip" {
  type        = string
  description = "ONNX Runtime layer zip holding lib/libonnxruntime.so for aarch64, relative to this directory."
  default     = "../../../target/lambda/ort-layer.zip"
}

variable "eu_alarm_actions" {
  type        = list(string)
  description = "SNS topic ARNs, in eu_region, notified by the eu deployment's alarms."
  default     = []
}

variable "us_alarm_actions" {
  type        = list(string)
  description = "SNS topic ARNs, in us_region, notified by the us deployment's alarms."
  default     = []
}

variable "deletion_protection" {
  type        = bool
  description = "Deletion protection for the DynamoDB tables of both deployments; set to false before `terraform destroy`."
  default     = true
}

variable "eu_monthly_budget" {
  type        = number
  description = "Monthly budget of the eu deployment in USD (the module's monthly_budget); null for none."
  default     = null
}

variable "us_monthly_budget" {
  type        = number
  description = "Monthly budget of the us deployment in USD (the module's monthly_budget); null for none."
  default     = null
}

variable "budget_emails" {
  type        = list(string)
  description = "Email addresses both deployments' monthly budgets notify; at least one when either budget is set."
  default     = []
}
