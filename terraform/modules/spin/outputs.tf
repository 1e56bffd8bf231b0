output "namespace" {
  description = "Namespace of the SpinApp, its executor, its secrets and its service account."
  value       = local.namespace
}

output "app_name" {
  description = "Name of the SpinApp, and of the Deployment the operator makes of it."
  value       = kubernetes_manifest.app.manifest.metadata.name
}

output "service_name" {
  description = "Name of the ClusterIP Service the operator makes of the SpinApp: what an Ingress or a Gateway route points at."
  value       = var.name
}

output "service_port" {
  description = "Port of the Service: the HTTP API (`POST /v1/events`, `POST /v1/consent`, `GET /v1/profiles/{id}`, `POST /v1/decide`, `GET /v1/decisions/{id}`, `GET /healthz`)."
  value       = local.service_port
}

output "service_url" {
  description = "URL of the HTTP API inside the cluster."
  value       = "http://${var.name}.${local.namespace}.svc:${local.service_port}"
}

output "sqlite_database" {
  description = "Label of the SQLite database the components open, bound to the libSQL server by the runtime config."
  value       = local.database
}

output "secret_name" {
  description = "Secret holding the token key (token_key) and the libSQL token (sqlite_token)."
  value       = kubernetes_secret_v1.secrets.metadata[0].name
}

output "api_keys_secret_name" {
  description = "Secret holding the API keys' digests (api_keys)."
  value       = kubernetes_secret_v1.api_keys.metadata[0].name
}

output "runtime_class_name" {
  description = "RuntimeClass the pods run under."
  value       = var.runtime_class_name
}
