variable "user_pool_name" {
  description = "Name of the user pool whose users may call the API."
  type        = string
  nullable    = false

  validation {
    condition     = length(var.user_pool_name) >= 1 && length(var.user_pool_name) <= 128
    error_message = "A user pool name has 1 to 128 characters."
  }
}
