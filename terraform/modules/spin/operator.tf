# The cluster's SpinKube stack, with var.install_operator (once per
# cluster: a second deployment in the same cluster sets it to false).
#
#   cert-manager           the operator's webhook certificates (unless
#                          var.install_cert_manager is false: the cluster
#                          has one)
#   runtime-class-manager  installs containerd-shim-spin on the nodes that
#                          match var.shim_node_selector, through a Shim, and
#                          creates the RuntimeClass (unless var.install_shim
#                          is false: the nodes carry the shim, and only the
#                          RuntimeClass is created)
#   spin-operator          the SpinApp and SpinAppExecutor CRDs, and the
#                          operator that turns a SpinApp into a Deployment
#                          and a Service
#
# Every chart, the CRDs and the shim are pinned here and move together:
# the CRDs are fetched from the operator's release tag and checked against
# their SHA-256, and the shim's archives against theirs.

locals {
  charts = {
    cert_manager = {
      repository = "https://charts.jetstack.io"
      chart      = "cert-manager"
      version    = "v1.21.1"
      namespace  = "cert-manager"
    }
    runtime_class_manager = {
      repository = "oci://ghcr.io/spinframework/charts"
      chart      = "runtime-class-manager"
      version    = "0.2.0"
      namespace  = "runtime-class-manager"
    }
    spin_operator = {
      repository = "oci://ghcr.io/spinframework/charts"
      chart      = "spin-operator"
      version    = "0.6.1"
      namespace  = "spin-operator"
    }
  }

  # The operator chart installs no CRDs: they are the two files of its
  # release tag, by SHA-256.
  operator_crds = {
    spinapps         = "08051de70925efe25bafca636c9b9410a4fe61e17015bd199be1efa04a5b5762"
    spinappexecutors = "c290585b469a6076eeab764af63be1aac11d584c903b5f72a45a1df807634107"
  }

  # containerd-shim-spin v0.23.0 embeds Spin 3.6.2, which runs components
  # built with spin-sdk 5.2 (WASIp2, fermyon:spin/*@2.0.0). Its release
  # archives by node architecture, by SHA-256.
  shim_version = "v0.23.0"
  shim_archives = {
    x86_64  = "eec8df96fa3a4fe5dbc57ffb706461692c055299dd6d22dff9444863a2a12281"
    aarch64 = "a923f08d91c110d2cda29fbc380273e6d0a97aa0bab455c55f613c8d5a8bfbe4"
  }

  install_cert_manager = var.install_operator && var.install_cert_manager
  install_shim         = var.install_operator && var.install_shim
}

resource "helm_release" "cert_manager" {
  count = local.install_cert_manager ? 1 : 0

  name             = local.charts.cert_manager.chart
  repository       = local.charts.cert_manager.repository
  chart            = local.charts.cert_manager.chart
  version          = local.charts.cert_manager.version
  namespace        = local.charts.cert_manager.namespace
  create_namespace = true
  wait             = true

  # The chart installs cert-manager's CRDs and keeps them when the release
  # is uninstalled, so that certificates outlive a reinstall.
  values = [yamlencode({
    crds = { enabled = true, keep = true }
  })]
}

resource "helm_release" "runtime_class_manager" {
  count = local.install_shim ? 1 : 0

  name             = local.charts.runtime_class_manager.chart
  repository       = local.charts.runtime_class_manager.repository
  chart            = local.charts.runtime_class_manager.chart
  version          = local.charts.runtime_class_manager.version
  namespace        = local.charts.runtime_class_manager.namespace
  create_namespace = true
  wait             = true
}

data "http" "operator_crd" {
  for_each = var.install_operator ? local.operator_crds : {}

  url = "https://raw.githubusercontent.com/spinframework/spin-operator/v${local.charts.spin_operator.version}/config/crd/bases/core.spinkube.dev_${each.key}.yaml"

  retry {
    attempts = 3
  }

  lifecycle {
    postcondition {
      condition     = self.status_code == 200 && sha256(self.response_body) == each.value
      error_message = "The ${each.key} CRD of spin-operator v${local.charts.spin_operator.version} is not the pinned file (SHA-256 ${each.value})."
    }
  }
}

resource "kubernetes_manifest" "operator_crd" {
  for_each = var.install_operator ? local.operator_crds : {}

  manifest = yamldecode(data.http.operator_crd[each.key].response_body)

  # Server-side apply wins field conflicts with other managers. CRDs that
  # already exist in the cluster (applied with kubectl before) are not
  # taken over: import them first (README).
  field_manager {
    force_conflicts = true
  }
}

resource "helm_release" "spin_operator" {
  count = var.install_operator ? 1 : 0

  name             = local.charts.spin_operator.chart
  repository       = local.charts.spin_operator.repository
  chart            = local.charts.spin_operator.chart
  version          = local.charts.spin_operator.version
  namespace        = local.charts.spin_operator.namespace
  create_namespace = true
  wait             = true

  # The operator needs cert-manager for its webhook certificate and its
  # CRDs to start. It also waits for runtime-class-manager, though it does
  # not need it: this release is then the one address that brings up every
  # CRD the rest of the module is planned against (the README's first
  # apply).
  depends_on = [
    helm_release.cert_manager,
    helm_release.runtime_class_manager,
    kubernetes_manifest.operator_crd,
  ]
}

# The shim on the nodes that match var.shim_node_selector, and the
# RuntimeClass var.runtime_class_name, which runtime-class-manager creates
# with the same node selector, so that Spin pods are scheduled only where
# the shim is.
resource "kubernetes_manifest" "shim" {
  count = local.install_shim ? 1 : 0

  manifest = {
    apiVersion = "runtime.spinkube.dev/v1alpha1"
    kind       = "Shim"
    metadata = {
      name   = "containerd-shim-spin"
      labels = local.labels
    }
    spec = {
      nodeSelector = var.shim_node_selector
      fetchStrategy = {
        platforms = [
          for arch, digest in local.shim_archives : {
            os       = "linux"
            arch     = arch
            location = "https://github.com/spinframework/containerd-shim-spin/releases/download/${local.shim_version}/containerd-shim-spin-v2-linux-${arch}.tar.gz"
            sha256   = digest
          }
        ]
      }
      runtimeClass = {
        name    = var.runtime_class_name
        handler = var.runtime_class_handler
      }
      rolloutStrategy = {
        type = "recreate"
      }
      containerdRuntimeOptions = {
        SystemdCgroup = tostring(var.shim_systemd_cgroup)
      }
    }
  }

  depends_on = [helm_release.runtime_class_manager]
}

# Nodes that carry containerd-shim-spin already (var.install_shim false):
# the RuntimeClass alone, without a node selector (var.shim_node_selector
# is not used), so the pods may run on any node.
resource "kubernetes_runtime_class_v1" "this" {
  count = var.install_operator && !var.install_shim ? 1 : 0

  metadata {
    name   = var.runtime_class_name
    labels = local.labels
  }

  handler = var.runtime_class_handler
}
