variable "user_pool_name" {
  description = "Name of the user pool whose users may call the API."
  type        = string
  nullable    = false

  validation {
    condition     = length(var.user_pool_name) >= 1 && length(var.user_pool_name) <= 128
    error_message = "A user pool name has 1 to 128 characters."
  }
}

variable "tenant_attribute" {
  description = "Name of the custom attribute holding the user's tenant id (the claim `custom:<name>`), or null when the tenant claim comes from elsewhere."
  type        = string
  default     = null

  validation {
    condition     = var.tenant_attribute == null || can(regex("^[A-Za-z0-9_.-]{1,20}$", var.tenant_attribute))
    error_message = "A custom attribute name has 1 to 20 letters, digits or `_ . -`."
  }
}
