# The five functions: Cloud Run services `<name>-<function>`, from one image
# whose binary, tailor-gcp, runs the function its first argument names, or
# each from its own image built for that function alone (var.images). Each
# listens on $PORT, which Cloud Run sets (8080).
#
# The stream functions take internal traffic only (Pub/Sub push from this
# project is internal) and authenticated requests only: their push
# subscription's invoker is the one member with roles/run.invoker. score
# takes var.score_ingress traffic and is invoked through IAM, or, with
# score_public, by anyone, who must then present one of score's own API keys.

resource "google_artifact_registry_repository" "this" {
  project       = var.project_id
  location      = var.region
  repository_id = var.name
  description   = "Tailor ${var.name}: the tailor-gcp image"
  format        = "DOCKER"
  kms_key_name  = google_kms_crypto_key.this.id
  labels        = var.labels

  docker_config {
    immutable_tags = true
  }

  depends_on = [google_project_service.this, google_kms_crypto_key_iam_member.agents]
}

resource "google_cloud_run_v2_service" "this" {
  for_each = toset(local.function_names)

  project             = var.project_id
  location            = var.region
  name                = local.service_names[each.key]
  description         = "Tailor ${var.name}: ${each.key}"
  labels              = var.labels
  deletion_protection = var.deletion_protection

  ingress              = each.key == "score" ? var.score_ingress : "INGRESS_TRAFFIC_INTERNAL_ONLY"
  invoker_iam_disabled = each.key == "score" ? var.score_public : false
  custom_audiences     = each.key == "score" ? [] : [local.push_audience[each.key]]

  template {
    service_account                  = google_service_account.this[each.key].email
    timeout                          = "${var.timeout[each.key]}s"
    max_instance_request_concurrency = var.concurrency[each.key]
    labels                           = var.labels

    scaling {
      # A pulling service must be running to pull: at least one instance.
      min_instance_count = lookup(local.pulls, each.key, false) ? max(1, var.min_instances[each.key]) : var.min_instances[each.key]
      max_instance_count = var.max_instances[each.key]
    }

    containers {
      image = lookup(var.images, each.key, var.image)
      args  = [each.key]

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.cpu[each.key]
          memory = var.memory[each.key]
        }
        # A pulling service works between requests: its CPU stays allocated.
        cpu_idle          = !lookup(local.pulls, each.key, false)
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = local.environment[each.key]
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = local.secret_environment[each.key]
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value.secret
              version = env.value.version
            }
          }
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = each.key != "score" || !var.score_public || local.api_keys
      error_message = "score_public needs score_api_keys: a public score service must check its own API keys."
    }
  }

  # The accounts' grants must exist before the first revision starts: it
  # reads the token key at start-up.
  depends_on = [
    google_project_service.this,
    google_secret_manager_secret_iam_member.accessor,
    google_project_iam_member.firestore,
  ]
}
