module "results_bucket" {
  source = "../bucket"

  name                                 = var.results_bucket_name
  force_destroy                        = var.force_destroy
  kms_key_arn                          = var.kms_key_arn
  access_log_bucket                    = var.s3_access_log_bucket
  noncurrent_version_retention_in_days = var.noncurrent_version_retention_in_days

  # Query results (and the compaction job's staging files) can always be recomputed.
  expirations = {
    query-results = { prefix = "", days = var.query_results_retention_in_days }
  }
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
        encryption_option = var.kms_key_arn == null ? "SSE_S3" : "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }
}

# The functions' queries. Their compaction CTAS names an `external_location`, which Athena
# refuses in a workgroup that enforces its result location ("Considerations and limitations for
# CTAS queries", "Troubleshoot workgroup errors" in the Athena User Guide), so this workgroup
# does not enforce. Minimum encryption (which works only without enforcement) still encrypts
# every result at least as the workgroup says, whatever location a query names.
resource "aws_athena_workgroup" "functions" {
  #checkov:skip=CKV_AWS_82:The functions' CTAS names its external_location, which Athena refuses in an enforcing workgroup; minimum encryption keeps every result encrypted, and only the functions' roles may use this workgroup.
  name          = "${var.workgroup_name}-functions"
  description   = "Queries of the usage-metering stack's functions (compaction CTAS, billing)."
  state         = "ENABLED"
  force_destroy = true

  configuration {
    enforce_workgroup_configuration         = false
    enable_minimum_encryption_configuration = true
    publish_cloudwatch_metrics_enabled      = true

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${module.results_bucket.name}/functions/"

      encryption_configuration {
        encryption_option = var.kms_key_arn == null ? "SSE_S3" : "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
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
