//! Text of the Athena queries. Inputs are validated [`Identifier`]s and
//! [`S3Prefix`]es, so nothing here needs escaping.
//!
//! Athena runs DDL through Hive, which quotes identifiers with backticks,
//! and DML/CTAS through Trino, which uses double quotes.

use crate::config::{Config, Identifier};
use crate::hour::Hour;

/// `tmp_<NEW_TABLE_NAME>_<YYYYMMDDHH>`: the catalog entry CTAS creates.
pub fn temp_table_name(config: &Config, hour: &Hour) -> String {
    format!("tmp_{}_{}", config.new_table_name, hour.compact())
}

/// Where the Parquet files of `hour` go: the Parquet table's projected folder.
pub fn parquet_location(config: &Config, hour: &Hour) -> String {
    format!("{}/{}/", config.output_prefix, hour.partition_path())
}

/// The Firehose folder of `hour` in the JSON table.
pub fn json_location(config: &Config, hour: &Hour) -> String {
    format!(
        "{}/{}/",
        config.old_table_location_prefix,
        hour.partition_path()
    )
}

pub fn drop_temp_table(config: &Config, hour: &Hour) -> String {
    format!(
        "DROP TABLE IF EXISTS `{}`.`{}`",
        config.new_database,
        temp_table_name(config, hour)
    )
}

pub fn create_parquet_table(config: &Config, hour: &Hour) -> String {
    let columns = config
        .column_names
        .iter()
        .map(Identifier::as_str)
        .map(|name| format!("\"{name}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "CREATE TABLE \"{new_db}\".\"{temp}\" WITH (external_location = '{location}', \
         format = 'PARQUET', write_compression = 'SNAPPY') \
         AS SELECT {columns} FROM \"{old_db}\".\"{old_table}\" \
         WHERE year = {year} AND month = {month} AND day = {day} AND hour = {hour}",
        new_db = config.new_database,
        temp = temp_table_name(config, hour),
        location = parquet_location(config, hour),
        old_db = config.old_database,
        old_table = config.old_table_name,
        year = hour.year(),
        month = hour.month(),
        day = hour.day(),
        hour = hour.hour(),
    )
}

/// A step of the hourly job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Drop a temporary table left by an earlier failed run of the same hour.
    DropLeftover,
    /// CTAS writing the hour's Parquet files.
    CreateParquet,
    /// Drop the temporary catalog entry; the Parquet files stay.
    DropTemp,
}

impl Step {
    pub const ALL: [Step; 3] = [Step::DropLeftover, Step::CreateParquet, Step::DropTemp];

    pub fn name(self) -> &'static str {
        match self {
            Step::DropLeftover => "drop_leftover",
            Step::CreateParquet => "create_parquet",
            Step::DropTemp => "drop_temp",
        }
    }

    pub fn query(self, config: &Config, hour: &Hour) -> String {
        match self {
            Step::DropLeftover | Step::DropTemp => drop_temp_table(config, hour),
            Step::CreateParquet => create_parquet_table(config, hour),
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

    fn config() -> Config {
        Config::from_lookup(|name| {
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
            drop_temp_table(&config(), &hour),
            "DROP TABLE IF EXISTS `metering_db`.`tmp_api_access_parquet_2026112800`"
        );
    }

    #[test]
    fn ctas_statement_exact_text() {
        let hour = Hour::parse("2026-11-28T00").unwrap();
        assert_eq!(
            create_parquet_table(&config(), &hour),
            "CREATE TABLE \"metering_db\".\"tmp_api_access_parquet_2026112800\" \
             WITH (external_location = 's3://bucket/parquet-data/year=2026/month=11/day=28/hour=00/', \
             format = 'PARQUET', write_compression = 'SNAPPY') \
             AS SELECT \"requestId\", \"ip\", \"user\", \"requestTime\", \"httpMethod\", \
             \"resourcePath\", \"status\", \"protocol\", \"responseLength\" \
             FROM \"metering_db\".\"api_access_json\" \
             WHERE year = 2026 AND month = 11 AND day = 28 AND hour = 0"
        );
    }

    #[test]
    fn ctas_pads_the_path_but_not_the_predicate() {
        let mut config = config();
        config.column_names = vec![Identifier::parse("ip").unwrap()];
        config.old_database = Identifier::parse("raw").unwrap();
        config.new_database = Identifier::parse("curated").unwrap();
        let hour = Hour::parse("2027-01-05T09").unwrap();
        assert_eq!(
            create_parquet_table(&config, &hour),
            "CREATE TABLE \"curated\".\"tmp_api_access_parquet_2027010509\" \
             WITH (external_location = 's3://bucket/parquet-data/year=2027/month=01/day=05/hour=09/', \
             format = 'PARQUET', write_compression = 'SNAPPY') \
             AS SELECT \"ip\" FROM \"raw\".\"api_access_json\" \
             WHERE year = 2027 AND month = 1 AND day = 5 AND hour = 9"
        );
        assert_eq!(
            drop_temp_table(&config, &hour),
            "DROP TABLE IF EXISTS `curated`.`tmp_api_access_parquet_2027010509`"
        );
    }

    #[test]
    fn locations_and_names() {
        let config = config();
        let hour = Hour::parse("2026-12-31T23").unwrap();
        assert_eq!(
            temp_table_name(&config, &hour),
            "tmp_api_access_parquet_2026123123"
        );
        assert_eq!(
            parquet_location(&config, &hour),
            "s3://bucket/parquet-data/year=2026/month=12/day=31/hour=23/"
        );
        assert_eq!(
            json_location(&config, &hour),
            "s3://bucket/json-data/year=2026/month=12/day=31/hour=23/"
        );
    }

    #[test]
    fn steps_run_drop_ctas_drop() {
        let config = config();
        let hour = Hour::parse("2026-11-28T00").unwrap();
        let queries: Vec<String> = Step::ALL.iter().map(|s| s.query(&config, &hour)).collect();
        assert_eq!(queries[0], drop_temp_table(&config, &hour));
        assert_eq!(queries[1], create_parquet_table(&config, &hour));
        assert_eq!(queries[2], drop_temp_table(&config, &hour));
        let names: Vec<&str> = Step::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["drop_leftover", "create_parquet", "drop_temp"]);
    }
}
