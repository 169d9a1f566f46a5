output "granted_databases" {
  description = "Databases on which the principal was granted permissions."
  value       = sort([for p in aws_lakeformation_permissions.database : p.database[0].name])
}
