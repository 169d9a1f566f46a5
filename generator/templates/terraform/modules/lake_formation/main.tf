data "aws_caller_identity" "current" {}

data "aws_iam_session_context" "caller" {
  arn = data.aws_caller_identity.current.arn
}

# Read only: the stack never writes the account's data-lake settings. The provider's
# aws_lakeformation_data_lake_settings replaces every setting of the account (administrators,
# read-only administrators, trusted owners, default permissions) and, on destroy, writes them
# all empty.
data "aws_lakeformation_data_lake_settings" "current" {}

# Granting needs a data-lake administrator (or these permissions with grant option): say so at
# plan time rather than with an AccessDenied half-way through an apply.
check "caller_can_grant" {
  assert {
    condition     = contains(data.aws_lakeformation_data_lake_settings.current.admins, data.aws_iam_session_context.caller.issuer_arn)
    error_message = "The identity running Terraform (${data.aws_iam_session_context.caller.issuer_arn}) is not one of this account's Lake Formation administrators, so the grants may fail with AccessDenied. Make it an administrator first, or set lake_formation.grant_permissions to false in the context."
  }
}

locals {
  # One grant per principal and database, keyed by names known at plan time (the role ARNs
  # are not).
  grants = {
    for pair in setproduct(keys(var.principal_arns), var.databases) : "${pair[0]}/${pair[1]}" => {
      principal = var.principal_arns[pair[0]]
      database  = pair[1]
    }
  }
}

# What a compaction job does in each database: CTAS creates (and the job drops) its own
# temporary tables, which Lake Formation lets their creator drop without a grant; it reads the
# JSON table. Nothing alters or drops the database or the stack's tables.
resource "aws_lakeformation_permissions" "database" {
  for_each = local.grants

  principal   = each.value.principal
  permissions = ["CREATE_TABLE", "DESCRIBE"]

  database {
    name = each.value.database
  }
}

resource "aws_lakeformation_permissions" "tables" {
  for_each = local.grants

  principal   = each.value.principal
  permissions = ["DESCRIBE", "SELECT"]

  table {
    database_name = each.value.database
    wildcard      = true
  }
}
