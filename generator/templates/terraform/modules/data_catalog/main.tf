locals {
  formats = {
    json = {
      classification        = "json"
      input_format          = "org.apache.hadoop.mapred.TextInputFormat"
      output_format         = "org.apache.hadoop.hive.ql.io.IgnoreKeyTextOutputFormat"
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
      # Glue stores lower-case column names; the record's keys are camelCase. A line that is
      # not valid JSON (API Gateway writes claim values unescaped) would fail every query of its
      # hour; with ignore.malformed.json it reads as a row of NULLs, which the compaction counts
      # and leaves out (Athena User Guide, "OpenX JSON SerDe").
      serde_parameters = {
        "case.insensitive"      = "TRUE"
        "ignore.malformed.json" = "TRUE"
      }
    }
    parquet = local.parquet
    # The usage events' lines are written by the ingestion function: one JSON object per line,
    # canonical (a bad event as a flagged object), properties without duplicate keys. So the
    # Hive JSON SerDe reads every line, and none needs OpenX's ignore.malformed.json or its
    # case folding ("Hive JSON SerDe", Athena User Guide).
    events_json = {
      classification        = "json"
      input_format          = "org.apache.hadoop.mapred.TextInputFormat"
      output_format         = "org.apache.hadoop.hive.ql.io.IgnoreKeyTextOutputFormat"
      serialization_library = "org.apache.hive.hcatalog.data.JsonSerDe"
      serde_parameters      = {}
    }
    events_parquet = local.parquet
  }

  parquet = {
    classification        = "parquet"
    input_format          = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format         = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
    serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    serde_parameters      = {}
  }

  partition_keys = ["year", "month", "day", "hour"]
}

resource "aws_glue_catalog_database" "this" {
  for_each = toset(var.databases)

  name        = each.value
  description = "API access logs and usage events for usage metering."
}

resource "aws_glue_catalog_table" "this" {
  for_each = var.tables

  name          = each.value.name
  database_name = aws_glue_catalog_database.this[each.value.database].name
  description   = each.value.description
  table_type    = "EXTERNAL_TABLE"

  # Partition projection: Athena computes each hour's location from the partition values, so
  # no partition is ever added or repaired by hand.
  parameters = {
    "EXTERNAL"                  = "TRUE"
    "classification"            = local.formats[each.key].classification
    "projection.enabled"        = "true"
    "projection.year.type"      = "integer"
    "projection.year.range"     = "${var.projection_first_year},${var.projection_last_year}"
    "projection.month.type"     = "integer"
    "projection.month.range"    = "1,12"
    "projection.month.digits"   = "2"
    "projection.day.type"       = "integer"
    "projection.day.range"      = "1,31"
    "projection.day.digits"     = "2"
    "projection.hour.type"      = "integer"
    "projection.hour.range"     = "0,23"
    "projection.hour.digits"    = "2"
    "storage.location.template" = "s3://${var.bucket_name}/${each.value.folder}/year=$${year}/month=$${month}/day=$${day}/hour=$${hour}/"
  }

  dynamic "partition_keys" {
    for_each = local.partition_keys

    content {
      name = partition_keys.value
      type = "int"
    }
  }

  storage_descriptor {
    location      = "s3://${var.bucket_name}/${each.value.folder}/"
    input_format  = local.formats[each.key].input_format
    output_format = local.formats[each.key].output_format

    ser_de_info {
      serialization_library = local.formats[each.key].serialization_library
      parameters            = local.formats[each.key].serde_parameters
    }

    dynamic "columns" {
      for_each = each.value.columns

      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }
}
