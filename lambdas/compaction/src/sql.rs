//! Text of the Athena queries. Inputs are validated [`Identifier`]s and
//! [`S3Prefix`](crate::settings::S3Prefix)es, so nothing here needs escaping.
//!
//! Athena runs DDL through Hive, which quotes identifiers with backticks,
//! and DML/CTAS through Trino, which uses double quotes.

use crate::folder::S3Folder;
use crate::hour::Hour;
use crate::settings::{Identifier, Settings, RANK_COLUMN};

/// Glue's name of the request id column, the key for de-duplication. The JSON table always
/// has it, whether or not `COLUMN_NAMES` lists it.
pub const REQUEST_ID: &str = "requestid";
/// Glue's name of the request time column: of several copies of a request, the first is kept.
pub const REQUEST_TIME: &str = "requesttime";

/// `tmp_<NEW_TABLE_NAME>_<YYYYMMDDHH>`: the catalog entry CTAS creates.
pub fn temp_table_name(settings: &Settings, hour: &Hour) -> String {
    format!("tmp_{}_{}", settings.new_table_name, hour.compact())
}

/// The Parquet table's projected folder for `hour`: where CTAS writes.
pub fn parquet_folder(settings: &Settings, hour: &Hour) -> S3Folder {
    S3Folder::new(&settings.output_prefix, &hour.partition_path())
}

/// The Firehose folder of `hour` in the JSON table.
pub fn json_folder(settings: &Settings, hour: &Hour) -> S3Folder {
    S3Folder::new(&settings.old_table_location_prefix, &hour.partition_path())
}

/// Where the Parquet files of `hour` go, as an `s3://` URL ending in `/`.
pub fn parquet_location(settings: &Settings, hour: &Hour) -> String {
    parquet_folder(settings, hour).to_string()
}

/// The Firehose folder of `hour`, as an `s3://` URL ending in `/`.
pub fn json_location(settings: &Settings, hour: &Hour) -> String {
    json_folder(settings, hour).to_string()
}

/// Selects `hour` in either table. The partition keys are `int` columns (projected with two
/// digits), so the values are numbers, not zero-padded strings.
fn partition_predicate(hour: &Hour) -> String {
    format!(
        "year = {} AND month = {} AND day = {} AND hour = {}",
        hour.year(),
        hour.month(),
        hour.day(),
        hour.hour()
    )
}

fn json_table(settings: &Settings) -> String {
    format!(
        "\"{}\".\"{}\"",
        settings.old_database, settings.old_table_name
    )
}

pub fn drop_temp_table(settings: &Settings, hour: &Hour) -> String {
    format!(
        "DROP TABLE IF EXISTS `{}`.`{}`",
        settings.new_database,
        temp_table_name(settings, hour)
    )
}

/// Rows of the hour in the JSON table, how many remain once de-duplicated, and the lines that
/// are not requests: the table reads a line that is not valid JSON as a row of NULLs
/// (`ignore.malformed.json`, "OpenX JSON SerDe" in the Athena User Guide), and API Gateway
/// writes a request id into every record, so a row without one is such a line.
pub fn count_rows(settings: &Settings, hour: &Hour) -> String {
    format!(
        "SELECT count(\"{REQUEST_ID}\") AS \"rows_in\", count(DISTINCT \"{REQUEST_ID}\") AS \"rows_out\", \
         count(*) - count(\"{REQUEST_ID}\") AS \"rows_malformed\" \
         FROM {table} WHERE {predicate}",
        table = json_table(settings),
        predicate = partition_predicate(hour),
    )
}

/// CTAS writing the hour as Snappy Parquet, one row per request id: Firehose delivers at
/// least once, so the same request can be in the JSON files more than once.
pub fn create_parquet_table(settings: &Settings, hour: &Hour) -> String {
    let columns = settings
        .column_names
        .iter()
        .map(Identifier::as_str)
        .map(|name| format!("\"{name}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "CREATE TABLE \"{new_db}\".\"{temp}\" WITH (external_location = '{location}', \
         format = 'PARQUET', write_compression = 'SNAPPY') \
         AS SELECT {columns} FROM (SELECT {columns}, row_number() OVER \
         (PARTITION BY \"{REQUEST_ID}\" ORDER BY \"{REQUEST_TIME}\") AS \"{RANK_COLUMN}\" \
         FROM {table} WHERE {predicate} AND \"{REQUEST_ID}\" IS NOT NULL) AS ranked \
         WHERE \"{RANK_COLUMN}\" = 1",
        new_db = settings.new_database,
        temp = temp_table_name(settings, hour),
        location = parquet_location(settings, hour),
        table = json_table(settings),
        predicate = partition_predicate(hour),
    )
}

/// An Athena query of the hourly job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Rows in, distinct request ids and malformed lines of the hour.
    Count,
    /// Drop a temporary table left by an earlier failed run of the same hour.
    DropLeftover,
    /// CTAS writing the hour's Parquet files.
    Ctas,
    /// Drop the temporary catalog entry; the Parquet files stay.
    DropTemp,
}

impl Step {
    /// The queries that rewrite the hour, in order, once its Parquet folder is empty.
    pub const COMPACTION: [Step; 3] = [Step::DropLeftover, Step::Ctas, Step::DropTemp];

    pub fn name(self) -> &'static str {
        match self {
            Step::Count => "count",
            Step::DropLeftover => "drop_leftover",
            Step::Ctas => "ctas",
            Step::DropTemp => "drop_temp",
        }
    }

    pub fn query(self, settings: &Settings, hour: &Hour) -> String {
        match self {
            Step::Count => count_rows(settings, hour),
            Step::DropLeftover | Step::DropTemp => drop_temp_table(settings, hour),
            Step::Ctas => create_parquet_table(settings, hour),
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_lookup(|name| {
            Some(
                match name {
                    "OLD_DATABASE" => "metering_db",
                    "OLD_TABLE_NAME" => "api_access_json",
                    "NEW_DATABASE" => "metering_db",
                    "NEW_TABLE_NAME" => "api_access_parquet",
                    "COLUMN_NAMES" => "requestId,ip,user,requestTime,httpMethod,resourcePath,status,protocol,responseLength",
                    "ATHENA_WORK_GROUP" => "metering",
                    "OLD_TABLE_LOCATION_PREFIX" => "s3://bucket/json-data",
                    "OUTPUT_PREFIX" => "s3://bucket/parquet-data/",
                    "STAGING_OUTPUT_PREFIX" => "s3://results-bucket/tmp",
                    "REGION_NAME" => "us-east-1",
                    "MANIFEST_PREFIX" => "s3://bucket/compaction-manifests",
                    _ => return None,
                }
                .to_owned(),
            )
        })
        .unwrap()
    }

    #[test]
    fn drop_statement_uses_backticks() {
        let hour = Hour::parse("2026-11-28T00").unwrap();
        assert_eq!(
            drop_temp_table(&settings(), &hour),
            "DROP TABLE IF EXISTS `metering_db`.`tmp_api_access_parquet_2026112800`"
        );
    }

    #[test]
    fn count_statement_exact_text() {
        let hour = Hour::parse("2026-11-28T00").unwrap();
        assert_eq!(
            count_rows(&settings(), &hour),
            "SELECT count(\"requestid\") AS \"rows_in\", count(DISTINCT \"requestid\") AS \"rows_out\", \
             count(*) - count(\"requestid\") AS \"rows_malformed\" \
             FROM \"metering_db\".\"api_access_json\" \
             WHERE year = 2026 AND month = 11 AND day = 28 AND hour = 0"
        );
    }

    #[test]
    fn ctas_statement_exact_text() {
        let hour = Hour::parse("2026-11-28T00").unwrap();
        let columns = "\"requestId\", \"ip\", \"user\", \"requestTime\", \"httpMethod\", \
                       \"resourcePath\", \"status\", \"protocol\", \"responseLength\"";
        assert_eq!(
            create_parquet_table(&settings(), &hour),
            format!(
                "CREATE TABLE \"metering_db\".\"tmp_api_access_parquet_2026112800\" \
                 WITH (external_location = 's3://bucket/parquet-data/year=2026/month=11/day=28/hour=00/', \
                 format = 'PARQUET', write_compression = 'SNAPPY') \
                 AS SELECT {columns} FROM (SELECT {columns}, row_number() OVER \
                 (PARTITION BY \"requestid\" ORDER BY \"requesttime\") AS \"dedup_rank\" \
                 FROM \"metering_db\".\"api_access_json\" \
                 WHERE year = 2026 AND month = 11 AND day = 28 AND hour = 0 \
                 AND \"requestid\" IS NOT NULL) AS ranked WHERE \"dedup_rank\" = 1"
            )
        );
    }

    #[test]
    fn ctas_without_request_id_column_still_deduplicates_by_it() {
        let mut settings = settings();
        settings.column_names = vec![
            Identifier::parse("ip").unwrap(),
            Identifier::parse("status").unwrap(),
        ];
        settings.old_database = Identifier::parse("raw").unwrap();
        settings.new_database = Identifier::parse("curated").unwrap();
        let hour = Hour::parse("2027-01-05T09").unwrap();
        assert_eq!(
            create_parquet_table(&settings, &hour),
            "CREATE TABLE \"curated\".\"tmp_api_access_parquet_2027010509\" \
             WITH (external_location = 's3://bucket/parquet-data/year=2027/month=01/day=05/hour=09/', \
             format = 'PARQUET', write_compression = 'SNAPPY') \
             AS SELECT \"ip\", \"status\" FROM (SELECT \"ip\", \"status\", row_number() OVER \
             (PARTITION BY \"requestid\" ORDER BY \"requesttime\") AS \"dedup_rank\" \
             FROM \"raw\".\"api_access_json\" \
             WHERE year = 2027 AND month = 1 AND day = 5 AND hour = 9 \
             AND \"requestid\" IS NOT NULL) AS ranked WHERE \"dedup_rank\" = 1"
        );
        assert_eq!(
            count_rows(&settings, &hour),
            "SELECT count(\"requestid\") AS \"rows_in\", count(DISTINCT \"requestid\") AS \"rows_out\", \
             count(*) - count(\"requestid\") AS \"rows_malformed\" \
             FROM \"raw\".\"api_access_json\" WHERE year = 2027 AND month = 1 AND day = 5 AND hour = 9"
        );
        assert_eq!(
            drop_temp_table(&settings, &hour),
            "DROP TABLE IF EXISTS `curated`.`tmp_api_access_parquet_2027010509`"
        );
    }

    #[test]
    fn locations_and_names() {
        let settings = settings();
        let hour = Hour::parse("2026-12-31T23").unwrap();
        assert_eq!(
            temp_table_name(&settings, &hour),
            "tmp_api_access_parquet_2026123123"
        );
        assert_eq!(
            parquet_location(&settings, &hour),
            "s3://bucket/parquet-data/year=2026/month=12/day=31/hour=23/"
        );
        assert_eq!(
            json_location(&settings, &hour),
            "s3://bucket/json-data/year=2026/month=12/day=31/hour=23/"
        );
        let json = json_folder(&settings, &hour);
        assert_eq!(
            (json.bucket.as_str(), json.prefix.as_str()),
            ("bucket", "json-data/year=2026/month=12/day=31/hour=23/")
        );
        let parquet = parquet_folder(&settings, &hour);
        assert_eq!(
            (parquet.bucket.as_str(), parquet.prefix.as_str()),
            ("bucket", "parquet-data/year=2026/month=12/day=31/hour=23/")
        );
    }

    #[test]
    fn steps_and_their_queries() {
        let settings = settings();
        let hour = Hour::parse("2026-11-28T00").unwrap();
        assert_eq!(
            Step::Count.query(&settings, &hour),
            count_rows(&settings, &hour)
        );
        let queries: Vec<String> = Step::COMPACTION
            .iter()
            .map(|s| s.query(&settings, &hour))
            .collect();
        assert_eq!(queries[0], drop_temp_table(&settings, &hour));
        assert_eq!(queries[1], create_parquet_table(&settings, &hour));
        assert_eq!(queries[2], drop_temp_table(&settings, &hour));
        let names: Vec<&str> = Step::COMPACTION.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["drop_leftover", "ctas", "drop_temp"]);
        assert_eq!(Step::Count.to_string(), "count");
    }
}
