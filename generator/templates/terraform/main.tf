provider "aws" {
  region = var.region

  default_tags {
    tags = merge(local.context_tags, var.tags)
  }
}

locals {
  # Resolved at apply time: bucket names may contain the region and the account id.
  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id

  context_tags = {{ m.deployment.tags|hcl_map(2) }}

  # Customer-managed KMS key for data at rest; null: AWS-owned and AWS-managed keys.
  kms_key_arn = {{ m.deployment.kms_key_arn|hcl }}

  # One JSON object per request, newline-terminated: the fields of the generator's catalogue.
  access_log_format = {{ m.api.access_log_format|heredoc(2) }}
}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

module "access_logs" {
  source = "./modules/access_logs"

  bucket_name                   = {{ m.access_logs.bucket|bucket }}
  force_destroy                 = {{ m.deployment.force_destroy|hcl }}
  delivery_stream_name          = {{ m.access_logs.delivery_stream_name|hcl }}
  buffering_size_in_mbs         = {{ m.access_logs.buffer_size_in_mbs|hcl }}
  buffering_interval_in_seconds = {{ m.access_logs.buffer_interval_in_seconds|hcl }}
  prefix                        = {{ m.access_logs.prefix|hcl }}
  error_output_prefix           = {{ m.access_logs.error_output_prefix|hcl }}
  log_retention_in_days         = {{ m.deployment.log_retention_in_days|hcl }}
  kms_key_arn                   = local.kms_key_arn
  s3_access_log_bucket          = {{ m.deployment.s3_access_log_bucket|hcl }}
  json_retention_in_days        = {{ m.deployment.json_retention_in_days|hcl }}

  noncurrent_version_retention_in_days = {{ m.deployment.noncurrent_version_retention_in_days|hcl }}
}

module "cognito" {
  source = "./modules/cognito"

  user_pool_name   = {{ m.cognito.user_pool_name|hcl }}
  tenant_attribute = {{ m.metering.tenant_attribute|hcl }}
}

module "api" {
  source = "./modules/api"

  api_name                   = {{ m.api.name|hcl }}
  stage_name                 = {{ m.api.stage_name|hcl }}
  user_pool_arn              = module.cognito.user_pool_arn
  access_log_destination_arn = module.access_logs.delivery_stream_arn
  access_log_format          = local.access_log_format
  throttling_rate_limit      = {{ m.api.throttling_rate_limit|hcl }}
  throttling_burst_limit     = {{ m.api.throttling_burst_limit|hcl }}
  dev_stage                  = {{ m.api.dev_stage|hcl }}
  cloudwatch_account_role    = {{ m.api.cloudwatch_account_role|hcl }}
  log_retention_in_days      = {{ m.deployment.log_retention_in_days|hcl }}
  kms_key_arn                = local.kms_key_arn

  backend = {
    function_name = {{ m.lambdas.random_strings.function_name|hcl }}
    description   = {{ m.lambdas.random_strings.description|hcl }}
    handler       = {{ m.lambdas.random_strings.handler|hcl }}
    zip_path      = "${path.root}/{{ m.lambdas.random_strings.zip }}"
    memory_size   = {{ m.lambdas.random_strings.memory_size|hcl }}
    timeout       = {{ m.lambdas.random_strings.timeout|hcl }}
  }
}

module "data_catalog" {
  source = "./modules/data_catalog"

  databases             = {{ m.catalog.databases|hcl_list }}
  bucket_name           = module.access_logs.bucket_name
  projection_first_year = {{ m.catalog.projection_first_year|hcl }}
  projection_last_year  = {{ m.catalog.projection_last_year|hcl }}

  tables = {
{%- for t in [m.catalog.json_table, m.catalog.parquet_table] %}
    {{ t.format }} = {
      database    = {{ t.database|hcl }}
      name        = {{ t.name|hcl }}
      description = {{ t.description|hcl }}
      folder      = {{ t.folder|hcl }}
      columns = [
{%- for c in t.columns %}
        { name = {{ c.name|hcl }}, type = {{ c.type|hcl }}, comment = {{ c.comment|hcl }} },
{%- endfor %}
      ]
    }
{%- endfor %}
  }
}

module "athena" {
  source = "./modules/athena"

  workgroup_name      = {{ m.athena.workgroup|hcl }}
  results_bucket_name = {{ m.athena.results_bucket|bucket }}
  force_destroy       = {{ m.deployment.force_destroy|hcl }}
  kms_key_arn         = local.kms_key_arn

  s3_access_log_bucket                 = {{ m.deployment.s3_access_log_bucket|hcl }}
  query_results_retention_in_days      = {{ m.deployment.query_results_retention_in_days|hcl }}
  noncurrent_version_retention_in_days = {{ m.deployment.noncurrent_version_retention_in_days|hcl }}

  named_queries = {
{%- for q in named_queries %}
    {{ q.key }} = {
      name        = {{ q.name|hcl }}
      description = {{ q.description|hcl }}
      database    = {{ q.database|hcl }}
      query       = {{ q.sql|heredoc(6) }}
    }
{%- endfor %}
  }
}

module "compaction" {
  source = "./modules/compaction"

  schedule_expression   = {{ m.compaction.schedule_expression|hcl }}
  delay_minutes         = {{ m.compaction.delay_minutes|hcl }}
  data_bucket_name      = module.access_logs.bucket_name
  data_bucket_arn       = module.access_logs.bucket_arn
  column_names          = {{ m.compaction.column_names|hcl_list }}
  workgroup_name        = module.athena.functions_workgroup_name
  workgroup_arn         = module.athena.functions_workgroup_arn
  results_bucket_name   = module.athena.results_bucket_name
  results_bucket_arn    = module.athena.results_bucket_arn
  log_retention_in_days = {{ m.deployment.log_retention_in_days|hcl }}
  kms_key_arn           = local.kms_key_arn

  json_table = {
    database = {{ m.catalog.json_table.database|hcl }}
    name     = {{ m.catalog.json_table.name|hcl }}
    folder   = {{ m.catalog.json_table.folder|hcl }}
  }

  parquet_table = {
    database = {{ m.catalog.parquet_table.database|hcl }}
    name     = {{ m.catalog.parquet_table.name|hcl }}
    folder   = {{ m.catalog.parquet_table.folder|hcl }}
  }

  function = {
    function_name = {{ m.lambdas.merge_small_files.function_name|hcl }}
    description   = {{ m.lambdas.merge_small_files.description|hcl }}
    handler       = {{ m.lambdas.merge_small_files.handler|hcl }}
    zip_path      = "${path.root}/{{ m.lambdas.merge_small_files.zip }}"
    memory_size   = {{ m.lambdas.merge_small_files.memory_size|hcl }}
    timeout       = {{ m.lambdas.merge_small_files.timeout|hcl }}
  }
}
{%- if m.lake_formation.grant_permissions %}

module "lake_formation" {
  source = "./modules/lake_formation"

  principal_arn = module.compaction.role_arn
  databases     = module.data_catalog.database_names
}
{%- endif %}
{%- if m.metering.billing %}
{%- set b = m.metering.billing %}

module "billing" {
  source = "./modules/billing"

  schedule_expression   = {{ b.schedule_expression|hcl }}
  bucket_name           = module.access_logs.bucket_name
  bucket_arn            = module.access_logs.bucket_arn
  workgroup_name        = module.athena.functions_workgroup_name
  workgroup_arn         = module.athena.functions_workgroup_arn
  results_bucket_name   = module.athena.results_bucket_name
  results_bucket_arn    = module.athena.results_bucket_arn
  projection_first_year = {{ m.catalog.projection_first_year|hcl }}
  projection_last_year  = {{ m.catalog.projection_last_year|hcl }}
  grant_lake_formation  = {{ m.lake_formation.grant_permissions|hcl }}
  log_retention_in_days = {{ m.deployment.log_retention_in_days|hcl }}
  kms_key_arn           = local.kms_key_arn

  # The `metering` section's meters and plans, as checked by metering-gen.
  config_json = {{ b.config_json|heredoc(2) }}

  # References, not literals: the grant on the Parquet table and the invoices table wait for
  # the catalog they live in, and nothing else in the module does.
  usage_table = {
    database = module.data_catalog.tables["parquet"].database
    name     = module.data_catalog.tables["parquet"].name
    folder   = {{ m.catalog.parquet_table.folder|hcl }}
  }

  json_folder     = {{ m.catalog.json_table.folder|hcl }}
  manifest_folder = module.compaction.manifest_folder

  invoices_table = {
    database = module.data_catalog.tables["parquet"].database
    name     = {{ b.invoices_table|hcl }}
  }

  function = {
    function_name = {{ m.lambdas.billing.function_name|hcl }}
    description   = {{ m.lambdas.billing.description|hcl }}
    handler       = {{ m.lambdas.billing.handler|hcl }}
    zip_path      = "${path.root}/{{ m.lambdas.billing.zip }}"
    memory_size   = {{ m.lambdas.billing.memory_size|hcl }}
    timeout       = {{ m.lambdas.billing.timeout|hcl }}
  }
}
{%- endif %}
