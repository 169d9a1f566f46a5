module "results_bucket" {
  source = "../bucket"

  name          = var.results_bucket_name
  force_destroy = var.force_destroy
}

resource "aws_athena_workgroup" "this" {
  name          = var.workgroup_name
  description   = "Queries of the usage-metering stack."
  state         = "ENABLED"
  force_destroy = true

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${module.results_bucket.name}/"

      encryption_configuration {
        encryption_option = "SSE_S3"
      }
    }
  }
}

resource "aws_athena_named_query" "this" {
  for_each = var.named_queries

  name        = each.value.name
  description = each.value.description
  workgroup   = aws_athena_workgroup.this.id
  database    = each.value.database
  query       = each.value.query
}
