output "granted_databases" {
  description = "Databases on which the principals were granted permissions."
  value       = sort(distinct([for p in aws_lakeformation_permissions.database : p.database[0].name]))
}
