terraform {
  # 1.11 brings write-only arguments: the token key reaches Secret Manager
  # through `secret_data_wo` and is kept in neither the plan nor the state.
  required_version = ">= 1.11"

  required_providers {
    google = {
      source = "hashicorp/google"
      # 6.23 brings `secret_data_wo` on google_secret_manager_secret_version.
      version = ">= 6.23, < 7.0"
    }
  }
}
