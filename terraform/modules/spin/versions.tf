terraform {
  # 1.11 brings write-only arguments: the token key and the database token
  # reach their Kubernetes secret through `data_wo` and are kept in neither
  # the plan nor the state.
  required_version = ">= 1.11"

  required_providers {
    kubernetes = {
      source = "hashicorp/kubernetes"
      # 2.38 has `data_wo` on kubernetes_secret_v1.
      version = ">= 2.38, < 3.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = ">= 3.0, < 4.0"
    }
    http = {
      source = "hashicorp/http"
      # The operator's CRDs are fetched with `retry`.
      version = ">= 3.4, < 4.0"
    }
  }
}
