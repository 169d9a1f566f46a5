variable "region" {
  description = "AWS region to deploy to; null takes the region from the environment (AWS_REGION or the profile)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource, on top of the context's deployment.tags."
  type        = map(string)
  default     = {}
  nullable    = false
}
