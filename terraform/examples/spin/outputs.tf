output "namespace" {
  description = "Namespace of the deployment."
  value       = module.tailor.namespace
}

output "app_name" {
  description = "Name of the SpinApp and of its Deployment."
  value       = module.tailor.app_name
}

output "service_name" {
  description = "Service in front of the SpinApp."
  value       = module.tailor.service_name
}

output "service_port" {
  description = "Port of the Service."
  value       = module.tailor.service_port
}

output "service_url" {
  description = "URL of the HTTP API inside the cluster."
  value       = module.tailor.service_url
}
