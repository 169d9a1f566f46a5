output "granted_databases" {
  description = "Databases on which the principal was granted permissions."
  value       = sort([for p in aws_lakeformation_permissions.database : p.database[0].name])
}

output "manages_admins" {
  description = "Whether this stack manages the account's data-lake administrators."
  value       = length(aws_lakeformation_data_lake_settings.this) > 0
}
