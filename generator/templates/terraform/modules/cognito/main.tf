resource "aws_cognito_user_pool" "this" {
  name                     = var.user_pool_name
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  deletion_protection      = "INACTIVE"

  admin_create_user_config {
    allow_admin_create_user_only = false
  }

  password_policy {
    minimum_length                   = 8
    require_lowercase                = false
    require_numbers                  = false
    require_symbols                  = false
    require_uppercase                = false
    temporary_password_validity_days = 7
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  # The caller's tenant: set by an administrator (AdminUpdateUserAttributes), read into the
  # ID token's `custom:<name>` claim, and written to every access-log record.
  dynamic "schema" {
    for_each = var.tenant_attribute == null ? [] : [var.tenant_attribute]
    content {
      name                     = schema.value
      attribute_data_type      = "String"
      mutable                  = true
      developer_only_attribute = false
      required                 = false

      string_attribute_constraints {
        min_length = "1"
        max_length = "128"
      }
    }
  }

  # Cognito puts the code in place of the four-hash placeholder, and rejects a message without one.
  verification_message_template {
    default_email_option = "CONFIRM_WITH_CODE"
    email_subject        = "Verify your new account"
    email_message        = "The verification code to your new account is {####}"
    sms_message          = "The verification code to your new account is {####}"
  }
}

resource "aws_cognito_user_pool_client" "this" {
  name                          = "${var.user_pool_name}-client"
  user_pool_id                  = aws_cognito_user_pool.this.id
  generate_secret               = false
  prevent_user_existence_errors = "ENABLED"
  supported_identity_providers  = ["COGNITO"]
  # Users may read their tenant but not write it: at sign-up or later, a user must not move
  # their own usage to another tenant.
  read_attributes  = local.read_attributes
  write_attributes = ["email"]
  explicit_auth_flows = [
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
  ]
}

locals {
  read_attributes = concat(
    ["email", "email_verified"],
    var.tenant_attribute == null ? [] : ["custom:${var.tenant_attribute}"],
  )
}
