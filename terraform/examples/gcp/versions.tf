terraform {
  # The module writes the token key through a write-only argument (1.11).
  required_version = ">= 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.23, < 7.0"
    }
  }
}
