data "aws_iam_session_context" "caller" {
  arn = data.aws_caller_identity.current.arn
}

data "aws_caller_identity" "current" {}

# Opt-in: this replaces the account's whole list of data-lake administrators. The identity
# running Terraform stays in it, or the grants below could not be made.
resource "aws_lakeformation_data_lake_settings" "this" {
  count = length(var.admins) > 0 ? 1 : 0

  admins = sort(distinct(concat(var.admins, [data.aws_iam_session_context.caller.issuer_arn])))

  # Keep Lake Formation's defaults for new databases and tables (IAM access control).
  create_database_default_permissions {
    permissions = ["ALL"]
    principal   = "IAM_ALLOWED_PRINCIPALS"
  }

  create_table_default_permissions {
    permissions = ["ALL"]
    principal   = "IAM_ALLOWED_PRINCIPALS"
  }
}

resource "aws_lakeformation_permissions" "database" {
  for_each = toset(var.databases)

  principal   = var.principal_arn
  permissions = ["ALTER", "CREATE_TABLE", "DESCRIBE", "DROP"]

  database {
    name = each.value
  }

  depends_on = [aws_lakeformation_data_lake_settings.this]
}

resource "aws_lakeformation_permissions" "tables" {
  for_each = toset(var.databases)

  principal   = var.principal_arn
  permissions = ["ALTER", "DELETE", "DESCRIBE", "INSERT", "SELECT"]

  table {
    database_name = each.value
    wildcard      = true
  }

  depends_on = [aws_lakeformation_data_lake_settings.this]
}
