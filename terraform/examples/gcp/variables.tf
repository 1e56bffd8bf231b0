variable "project_id" {
  type        = string
  description = "Google Cloud project to deploy into."
}

variable "region" {
  type        = string
  description = "Region of the deployment, which holds the eu-central destination (the policy's regions eu and uk). It must be in Europe, where that data may be kept."
  default     = "europe-west3"

  validation {
    condition     = startswith(var.region, "europe-")
    error_message = "region must be a European region (europe-...): the deployment holds eu-central's data."
  }
}

variable "name" {
  type        = string
  description = "Deployment name, prefixing every resource (4-16 characters)."
  default     = "tailor-eu"
}

variable "image" {
  type        = string
  description = "The tailor-gcp image pushed to the deployment's repository (output repository_url), such as europe-west3-docker.pkg.dev/my-project/tailor-eu/tailor-gcp:1a2b3c4."
}

variable "token_key" {
  type        = string
  description = "Tokenization key for every function, at least 16 bytes. Pass it as TF_VAR_token_key on every plan and apply; it is kept in neither the plan nor the state."
  sensitive   = true
  ephemeral   = true
}

variable "score_invokers" {
  type        = list(string)
  description = "IAM members allowed to call the score service, such as \"user:you@example.com\" or \"serviceAccount:shop@my-project.iam.gserviceaccount.com\"."
  default     = []
}

variable "event_publishers" {
  type        = list(string)
  description = "IAM members allowed to publish to the events topic, such as \"user:you@example.com\" or \"serviceAccount:collector@my-project.iam.gserviceaccount.com\"."
  default     = []
}

variable "notification_channels" {
  type        = list(string)
  description = "Cloud Monitoring notification channel IDs notified by the deployment's alerts."
  default     = []
}

variable "deletion_protection" {
  type        = bool
  description = "Deletion protection for the Firestore database, the Cloud Run services and the token key secret; set to false, and apply, before `terraform destroy`."
  default     = true
}

variable "monthly_budget" {
  type        = number
  description = "Monthly budget of the project in whole USD (the module's monthly_budget); null for none."
  default     = null
}

variable "billing_account" {
  type        = string
  description = "ID of the Cloud Billing account that pays for the project, such as 012345-6789AB-CDEF01; required with monthly_budget."
  default     = null
}
