# The deployment: the SpinApp <name> in var.namespace, run by the
# containerd-shim-spin executor, reading its variables and its database
# token from the secrets (secrets.tf).
#
# The operator makes of the SpinApp a Deployment and a ClusterIP Service,
# both named <name>, the Service on port 80. Nothing outside the cluster
# reaches it until an Ingress or a Gateway route points at that Service.

resource "kubernetes_namespace_v1" "this" {
  count = var.create_namespace ? 1 : 0

  metadata {
    name = var.namespace
    # The operator's pods carry no security context (the SpinApp has no
    # field for one), so Pod Security's restricted profile would refuse
    # them; baseline admits them and refuses privileged pods, host
    # namespaces and host paths.
    labels = merge(local.labels, {
      "pod-security.kubernetes.io/enforce" = "baseline"
    })
  }
}

# The pods' account: Tailor calls no Kubernetes API, so it gets no token.
resource "kubernetes_service_account_v1" "this" {
  metadata {
    name      = var.name
    namespace = local.namespace
    labels    = local.labels
  }

  automount_service_account_token = false
}

# The executor the SpinApp names: the operator creates a Deployment whose
# pods run under the RuntimeClass, that is containerd-shim-spin. The
# operator looks it up in the SpinApp's namespace.
resource "kubernetes_manifest" "executor" {
  manifest = {
    apiVersion = "core.spinkube.dev/v1alpha1"
    kind       = "SpinAppExecutor"
    metadata = {
      name      = local.executor_name
      namespace = local.namespace
      labels    = local.labels
    }
    spec = {
      createDeployment = true
      deploymentConfig = {
        runtimeClassName = var.runtime_class_name
        # A CA bundle in the pods, for TLS to the libSQL server.
        installDefaultCACerts = true
      }
    }
  }

  depends_on = [
    helm_release.spin_operator,
    kubernetes_manifest.shim,
    kubernetes_runtime_class_v1.this,
  ]
}

locals {
  # The SpinApp's spec, but for what the inputs add or leave out (below).
  app_spec = {
    image              = var.image
    executor           = local.executor_name
    serviceAccountName = kubernetes_service_account_v1.this.metadata[0].name
    # No `components`: every component of the application runs, one per
    # function the manifest defines.
    variables = local.spin_variables
    runtimeConfig = {
      sqliteDatabases = local.sqlite_databases
    }
    resources = {
      limits = {
        cpu    = var.resources.cpu_limit
        memory = var.resources.memory_limit
      }
      requests = {
        cpu    = var.resources.cpu_request
        memory = var.resources.memory_request
      }
    }
    podLabels = local.labels
    # Pods read their variables when they start: a new secrets version or
    # a new set of API keys changes the pod template, which rolls them.
    podAnnotations = {
      "tailor/secrets-version" = tostring(var.secrets_version)
      "tailor/api-keys-sha256" = sha256(local.api_keys_text)
    }
  }
}

resource "kubernetes_manifest" "app" {
  manifest = {
    apiVersion = "core.spinkube.dev/v1alpha1"
    kind       = "SpinApp"
    metadata = {
      name      = var.name
      namespace = local.namespace
      labels    = local.labels
    }
    # The operator refuses replicas beside enableAutoscaling: with it, the
    # HorizontalPodAutoscaler below owns the Deployment's replicas.
    spec = merge(
      local.app_spec,
      var.autoscaling == null ? { replicas = var.replicas } : {},
      var.autoscaling != null ? { enableAutoscaling = true } : {},
      length(var.image_pull_secrets) > 0 ? { imagePullSecrets = [for s in var.image_pull_secrets : { name = s }] } : {},
    )
  }

  wait {
    condition {
      type   = "Available"
      status = "True"
    }
  }

  timeouts {
    create = "10m"
    update = "10m"
  }

  # The operator's webhook refuses a SpinApp whose executor is missing, and
  # the operator reads the secrets when it renders the runtime config.
  depends_on = [
    kubernetes_manifest.executor,
    kubernetes_secret_v1.secrets,
    kubernetes_secret_v1.api_keys,
  ]
}

resource "kubernetes_horizontal_pod_autoscaler_v2" "this" {
  count = var.autoscaling == null ? 0 : 1

  metadata {
    name      = var.name
    namespace = local.namespace
    labels    = local.labels
  }

  spec {
    min_replicas = var.autoscaling.min_replicas
    max_replicas = var.autoscaling.max_replicas

    scale_target_ref {
      api_version = "apps/v1"
      kind        = "Deployment"
      name        = var.name
    }

    metric {
      type = "Resource"
      resource {
        name = "cpu"
        target {
          type                = "Utilization"
          average_utilization = var.autoscaling.cpu_utilization
        }
      }
    }
  }

  depends_on = [kubernetes_manifest.app]
}
