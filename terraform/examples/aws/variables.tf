variable "region" {
  type        = string
  description = "AWS region to deploy to."
  default     = "eu-west-1"
}

variable "name" {
  type        = string
  description = "Deployment name; prefixes every resource."
  default     = "tailor"
}

variable "token_key" {
  type        = string
  description = "Tokenization key for every function (ingest's tokens, and the keyed tokens erasure tombstones are kept under), at least 16 bytes. Pass it as TF_VAR_token_key rather than in a file."
  sensitive   = true
}

variable "artifacts_dir" {
  type        = string
  description = "Where cargo lambda wrote the function packages, relative to this directory."
  default     = "../../../target/lambda"
}

variable "ort_layer_zip" {
  type        = string
  description = "ONNX Runtime layer zip holding lib/libonnxruntime.so for aarch64, relative to this directory."
  default     = "../../../target/lambda/ort-layer.zip"
}

variable "alarm_actions" {
  type        = list(string)
  description = "SNS topic ARNs notified by the alarms."
  default     = []
}

variable "deletion_protection" {
  type        = bool
  description = "Deletion protection for the DynamoDB tables; set to false before `terraform destroy`."
  default     = true
}
