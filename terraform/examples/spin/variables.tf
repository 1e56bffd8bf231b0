variable "kubeconfig" {
  type        = string
  description = "kubeconfig file of the cluster to deploy to."
  default     = "~/.kube/config"
}

variable "kube_context" {
  type        = string
  description = "Context of the kubeconfig file to use. Null: its current context."
  default     = null
}

variable "name" {
  type        = string
  description = "Name of the SpinApp (and of its Service and Deployment), and of its namespace."
  default     = "tailor-eu"
}

variable "image" {
  type        = string
  description = "OCI reference of the application, as `spin registry push` published it, such as ghcr.io/my-org/tailor:1a2b3c4."
}

variable "image_pull_secrets" {
  type        = list(string)
  description = "Names of docker-registry secrets in the namespace that pull a private image. Empty: the nodes pull the image without credentials, so it must be public."
  default     = []
}

variable "token_key" {
  type        = string
  description = "Tokenization key, at least 16 bytes. Pass it as TF_VAR_token_key on every plan and apply; it is kept in neither the plan nor the state."
  sensitive   = true
  ephemeral   = true
}

variable "api_keys_file" {
  type        = string
  description = "The keys file `tailor keys new --file` appends to: one `name sha256-hex scope,...` line per key of the HTTP API."
}

variable "sqlite_url" {
  type        = string
  description = "HTTP(S) URL of the libSQL server holding the deployment's state, in Europe (the deployment holds eu-central's data), such as https://tailor-eu-my-org.turso.io."
}

variable "sqlite_token" {
  type        = string
  description = "Auth token of the libSQL server. Pass it as TF_VAR_sqlite_token on every plan and apply; it is kept in neither the plan nor the state."
  sensitive   = true
  ephemeral   = true
}

variable "install_cert_manager" {
  type        = bool
  description = "Install cert-manager with the SpinKube stack; false where the cluster runs it already."
  default     = true
}

variable "install_shim" {
  type        = bool
  description = "Install containerd-shim-spin on the nodes labelled spin=true with runtime-class-manager; false where the nodes carry it already (SpinKube's k3d image)."
  default     = true
}

variable "runtime_class_handler" {
  type        = string
  description = "containerd runtime handler of the RuntimeClass: spin-v2 with runtime-class-manager; spin on SpinKube's k3d image."
  default     = "spin-v2"
}
