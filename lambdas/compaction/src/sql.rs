//! Text of the Athena queries. Inputs are validated [`Identifier`]s and
//! [`S3Prefix`](crate::settings::S3Prefix)es, so nothing here needs escaping.
//!
//! Athena runs DDL through Hive, which quotes identifiers with backticks,
//! and DML/CTAS through Trino, which uses double quotes.
//!
//! The count and the CTAS depend on the source ([`Source`]): access logs are de-duplicated by
//! request id ([`count_rows`], [`create_parquet_table`]); usage events by event id, their
//! value made an exact decimal and each kept event flagged when no bill reads its time from
//! its folder. The temporary table and the folders are the same for both.

use std::ops::Range;

use crate::folder::S3Folder;
use crate::hour::Hour;
use crate::settings::{Identifier, Settings, Source, RANK_COLUMN};

/// Glue's name of the request id column, the key for de-duplication. The JSON table always
/// has it, whether or not `COLUMN_NAMES` lists it.
pub const REQUEST_ID: &str = "requestid";
/// Glue's name of the request time column: of several copies of a request, the first is kept.
pub const REQUEST_TIME: &str = "requesttime";

/// The data columns of both usage-events tables, in the order the CTAS writes them: the JSON
/// table has `id string, tenant string, type string, time bigint, value string,
/// properties map<string,string>, problem string`, the Parquet table the same with
/// `value decimal(24,9)`. `time` and `type` are no reserved keywords of Trino (Trino
/// documentation, "Keywords and identifiers": the reserved ones "must be quoted (using double
/// quotes) in order to be used as an identifier"); like every identifier here they are
/// double-quoted anyway.
pub use metering::EVENT_COLUMNS;
/// The event id: the key for de-duplication.
pub const EVENT_ID: &str = "id";
/// The event time, epoch milliseconds: of several copies of an event, the first is kept.
pub const EVENT_TIME: &str = "time";
/// The exact decimal the Parquet table keeps an event's value in: the digits
/// [`metering::normalise`] lets through, [`metering::MAX_VALUE_INTEGER_DIGITS`] before the
/// point and [`metering::VALUE_SCALE`] after it, so the cast from the JSON table's string is
/// exact and never out of range. DECIMAL takes a precision up to 38 (Athena User Guide, "Data
/// types in Amazon Athena": "The maximum value for precision is 38"), and Athena's DML, CTAS
/// included, names types as Trino does ("For DML queries like SELECT, CTAS, and INSERT INTO,
/// Athena uses Trino data type names"), hence `DECIMAL` and `VARCHAR` in the query.
pub const EVENT_VALUE_TYPE: &str = "DECIMAL(24,9)";
const _: () = assert!(
    metering::MAX_VALUE_INTEGER_DIGITS + metering::VALUE_SCALE as usize == 24
        && metering::VALUE_SCALE == 9
);
/// The `problem` the CTAS writes for an event whose time no bill reads from its folder
/// ([`metering::times_billed_from`]); NULL for an event that some bill counts. The usage query
/// reads only rows whose `problem` is NULL.
pub const OUTSIDE_ANY_WINDOW: &str = "outside any window";
/// The rows of the usage-events JSON table that are events, as the usage query selects them
/// (`metering::usage_query_with_events`): the ingestion writes a canonical event without a
/// `problem`, and a line it could not read as `{"problem": …, "record": …}`, without an id;
/// a line sent with a `problem` of its own is passed on as it came, id and all, and is no
/// event either ([`metering::Event::parse`]).
pub const IS_EVENT: &str = "\"problem\" IS NULL AND \"id\" IS NOT NULL AND \"time\" IS NOT NULL";

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

/// The count query of the hour for the settings' source: [`count_requests`] or
/// [`count_events`]. It answers `rows_in`, `rows_out` and `rows_malformed` (and, for usage
/// events, `rows_outside_windows`), read by [`crate::counts::RowCounts`].
pub fn count_rows(settings: &Settings, hour: &Hour) -> String {
    match settings.source {
        Source::AccessLogs => count_requests(settings, hour),
        Source::UsageEvents { late_arrival_hours } => {
            count_events(settings, hour, late_arrival_hours)
        }
    }
}

/// The CTAS of the hour for the settings' source: [`ctas_requests`] or [`ctas_events`].
pub fn create_parquet_table(settings: &Settings, hour: &Hour) -> String {
    match settings.source {
        Source::AccessLogs => ctas_requests(settings, hour),
        Source::UsageEvents { late_arrival_hours } => {
            ctas_events(settings, hour, late_arrival_hours)
        }
    }
}

/// Rows of the hour in the JSON table, how many remain once de-duplicated, and the lines that
/// are not requests: the table reads a line that is not valid JSON as a row of NULLs
/// (`ignore.malformed.json`, "OpenX JSON SerDe" in the Athena User Guide), and API Gateway
/// writes a request id into every record, so a row without one is such a line.
pub fn count_requests(settings: &Settings, hour: &Hour) -> String {
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
pub fn ctas_requests(settings: &Settings, hour: &Hour) -> String {
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

/// The event times that some month's bill reads from the folder of `hour`, in epoch
/// milliseconds: [`metering::times_billed_from`] with the metering configuration's
/// `late_arrival_hours`. metering's months start in 1970; a folder before 1970 is never
/// written (the ingestion files lines by the hour they arrive in), and for one the range is
/// empty rather than a panic.
pub fn billed_times(hour: &Hour, late_arrival_hours: u32) -> Range<i64> {
    if hour.year() < 1970 {
        return 0..0;
    }
    metering::times_billed_from(hour.folder_hour(), late_arrival_hours)
}

/// `"time" >= <start> AND "time" < <end>`: the event's time is one some bill reads from the
/// hour's folder.
fn in_a_window(hour: &Hour, late_arrival_hours: u32) -> String {
    let Range { start, end } = billed_times(hour, late_arrival_hours);
    format!("\"{EVENT_TIME}\" >= {start} AND \"{EVENT_TIME}\" < {end}")
}

/// Usage events of the hour: the rows that are events ([`IS_EVENT`]), their distinct ids (the
/// rows the CTAS writes), the lines that are none (flagged by the ingestion: left out), and
/// the events (copies included) whose time no bill reads from this folder (written, flagged
/// [`OUTSIDE_ANY_WINDOW`]).
///
/// `count_if(x)` "Returns the number of TRUE input values" (Trino documentation, "Aggregate
/// functions"; it is `count(CASE WHEN x THEN 1 END)`, so a NULL condition is not counted).
pub fn count_events(settings: &Settings, hour: &Hour, late_arrival_hours: u32) -> String {
    format!(
        "SELECT count_if({IS_EVENT}) AS \"rows_in\", \
         count(DISTINCT CASE WHEN {IS_EVENT} THEN \"{EVENT_ID}\" END) AS \"rows_out\", \
         count(*) - count_if({IS_EVENT}) AS \"rows_malformed\", \
         count_if({IS_EVENT} AND NOT ({window})) AS \"rows_outside_windows\" \
         FROM {table} WHERE {predicate}",
        window = in_a_window(hour, late_arrival_hours),
        table = json_table(settings),
        predicate = partition_predicate(hour),
    )
}

/// CTAS writing the hour's usage events as Snappy Parquet, one row per event id: a producer
/// may send an event again, and Firehose delivers at least once. Of several copies the
/// earliest by `time` is kept, a copy some bill reads before one none reads: the offline path
/// ([`metering::Aggregator`]) drops an event outside every window before it de-duplicates, and
/// the usage query reads only unflagged rows, so a later copy inside the window is the one
/// they both count.
///
/// The value is cast from the JSON table's string to [`EVENT_VALUE_TYPE`] (`cast(value AS
/// type)` "can be used to cast a varchar to a numeric value type", Trino documentation,
/// "Conversion functions"; NULL stays NULL), never through a float. `problem` is NULL for an
/// event some bill reads and [`OUTSIDE_ANY_WINDOW`] otherwise; `CAST(NULL AS VARCHAR)` gives
/// the column a type either way.
pub fn ctas_events(settings: &Settings, hour: &Hour, late_arrival_hours: u32) -> String {
    let window = in_a_window(hour, late_arrival_hours);
    let columns = ["id", "tenant", "type", "time", "value", "properties"]
        .map(|name| format!("\"{name}\""))
        .join(", ");
    format!(
        "CREATE TABLE \"{new_db}\".\"{temp}\" WITH (external_location = '{location}', \
         format = 'PARQUET', write_compression = 'SNAPPY') \
         AS SELECT \"id\", \"tenant\", \"type\", \"time\", \
         CAST(\"value\" AS {EVENT_VALUE_TYPE}) AS \"value\", \"properties\", \
         CASE WHEN {window} THEN CAST(NULL AS VARCHAR) ELSE '{OUTSIDE_ANY_WINDOW}' END AS \"problem\" \
         FROM (SELECT {columns}, row_number() OVER (PARTITION BY \"{EVENT_ID}\" \
         ORDER BY CASE WHEN {window} THEN 0 ELSE 1 END, \"{EVENT_TIME}\") AS \"{RANK_COLUMN}\" \
         FROM {table} WHERE {predicate} AND {IS_EVENT}) AS ranked \
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
    /// Rows in, distinct request (or event) ids and malformed lines of the hour; for usage
    /// events, also the events outside every window.
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

    fn events_settings(late_arrival_hours: &'static str) -> Settings {
        Settings::from_lookup(|name| {
            Some(
                match name {
                    "SOURCE" => "usage_events",
                    "LATE_ARRIVAL_HOURS" => late_arrival_hours,
                    "OLD_DATABASE" => "metering_db",
                    "OLD_TABLE_NAME" => "usage_events_json",
                    "NEW_DATABASE" => "metering_db",
                    "NEW_TABLE_NAME" => "usage_events_parquet",
                    "ATHENA_WORK_GROUP" => "metering",
                    "OLD_TABLE_LOCATION_PREFIX" => "s3://bucket/usage-events",
                    "OUTPUT_PREFIX" => "s3://bucket/usage-events-parquet",
                    "STAGING_OUTPUT_PREFIX" => "s3://results-bucket/tmp",
                    "REGION_NAME" => "us-east-1",
                    "MANIFEST_PREFIX" => "s3://bucket/usage-events-manifests",
                    _ => return None,
                }
                .to_owned(),
            )
        })
        .unwrap()
    }

    // Epoch milliseconds of the first instant of some months, UTC.
    const SEP_2026: i64 = 1_788_220_800_000;
    const OCT_2026: i64 = 1_790_812_800_000;
    const NOV_2026: i64 = 1_793_491_200_000;
    const DEC_2026: i64 = 1_796_083_200_000;
    const JAN_2027: i64 = 1_798_761_600_000;

    #[test]
    fn the_windows_of_a_folder_by_hand() {
        let times = |hour: &str, late| billed_times(&Hour::parse(hour).unwrap(), late);
        // October's last hour is also the first folder of November's bill (its buffers
        // straddle midnight): October's and November's times.
        assert_eq!(times("2026-10-31T23", 3), OCT_2026..DEC_2026);
        assert_eq!(times("2026-10-31T22", 3), OCT_2026..NOV_2026);
        // November's first 3 hours are read by October's bill (late arrivals) as well.
        assert_eq!(times("2026-11-01T00", 3), OCT_2026..DEC_2026);
        assert_eq!(times("2026-11-01T02", 3), OCT_2026..DEC_2026);
        assert_eq!(times("2026-11-01T03", 3), NOV_2026..DEC_2026);
        assert_eq!(times("2026-11-01T03", 4), OCT_2026..DEC_2026);
        assert_eq!(times("2026-11-28T00", 3), NOV_2026..DEC_2026);
        assert_eq!(times("2026-10-01T00", 1), SEP_2026..NOV_2026);
        assert_eq!(
            times("2026-12-31T23", 22),
            DEC_2026..(JAN_2027 + 2_678_400_000)
        );
        assert_eq!(times("1969-12-31T23", 3), 0..0);
        assert_eq!(times("1970-01-01T00", 3), -2_678_400_000..2_678_400_000);
    }

    #[test]
    fn events_count_exact_text() {
        let hour = Hour::parse("2026-10-31T23").unwrap();
        let event = "\"problem\" IS NULL AND \"id\" IS NOT NULL AND \"time\" IS NOT NULL";
        assert_eq!(
            count_rows(&events_settings("3"), &hour),
            format!(
                "SELECT count_if({event}) AS \"rows_in\", \
                 count(DISTINCT CASE WHEN {event} THEN \"id\" END) AS \"rows_out\", \
                 count(*) - count_if({event}) AS \"rows_malformed\", \
                 count_if({event} AND NOT (\"time\" >= 1790812800000 AND \"time\" < 1796083200000)) \
                 AS \"rows_outside_windows\" \
                 FROM \"metering_db\".\"usage_events_json\" \
                 WHERE year = 2026 AND month = 10 AND day = 31 AND hour = 23"
            )
        );
        // Only November's times from a folder no other bill reads.
        let hour = Hour::parse("2026-11-28T00").unwrap();
        assert!(count_rows(&events_settings("3"), &hour).contains(
            "NOT (\"time\" >= 1793491200000 AND \"time\" < 1796083200000)) \
             AS \"rows_outside_windows\" FROM \"metering_db\".\"usage_events_json\" \
             WHERE year = 2026 AND month = 11 AND day = 28 AND hour = 0"
        ));
    }

    #[test]
    fn events_ctas_exact_text() {
        let hour = Hour::parse("2026-10-31T23").unwrap();
        let window = "\"time\" >= 1790812800000 AND \"time\" < 1796083200000";
        assert_eq!(
            create_parquet_table(&events_settings("3"), &hour),
            format!(
                "CREATE TABLE \"metering_db\".\"tmp_usage_events_parquet_2026103123\" \
                 WITH (external_location = 's3://bucket/usage-events-parquet/year=2026/month=10/day=31/hour=23/', \
                 format = 'PARQUET', write_compression = 'SNAPPY') \
                 AS SELECT \"id\", \"tenant\", \"type\", \"time\", \
                 CAST(\"value\" AS DECIMAL(24,9)) AS \"value\", \"properties\", \
                 CASE WHEN {window} THEN CAST(NULL AS VARCHAR) ELSE 'outside any window' END AS \"problem\" \
                 FROM (SELECT \"id\", \"tenant\", \"type\", \"time\", \"value\", \"properties\", \
                 row_number() OVER (PARTITION BY \"id\" ORDER BY CASE WHEN {window} THEN 0 ELSE 1 END, \"time\") \
                 AS \"dedup_rank\" \
                 FROM \"metering_db\".\"usage_events_json\" \
                 WHERE year = 2026 AND month = 10 AND day = 31 AND hour = 23 \
                 AND \"problem\" IS NULL AND \"id\" IS NOT NULL AND \"time\" IS NOT NULL) AS ranked \
                 WHERE \"dedup_rank\" = 1"
            )
        );
        // The window follows LATE_ARRIVAL_HOURS.
        let hour = Hour::parse("2026-11-01T03").unwrap();
        let with = |late| create_parquet_table(&events_settings(late), &hour);
        assert!(with("3").contains("\"time\" >= 1793491200000 AND \"time\" < 1796083200000"));
        assert!(with("4").contains("\"time\" >= 1790812800000 AND \"time\" < 1796083200000"));
    }

    #[test]
    fn events_share_the_temporary_table_and_the_folders() {
        let settings = events_settings("3");
        let hour = Hour::parse("2026-10-31T23").unwrap();
        assert_eq!(
            drop_temp_table(&settings, &hour),
            "DROP TABLE IF EXISTS `metering_db`.`tmp_usage_events_parquet_2026103123`"
        );
        assert_eq!(
            json_location(&settings, &hour),
            "s3://bucket/usage-events/year=2026/month=10/day=31/hour=23/"
        );
        let queries: Vec<String> = Step::COMPACTION
            .iter()
            .map(|s| s.query(&settings, &hour))
            .collect();
        assert_eq!(
            queries,
            [
                drop_temp_table(&settings, &hour),
                ctas_events(&settings, &hour, 3),
                drop_temp_table(&settings, &hour),
            ]
        );
        assert_eq!(
            Step::Count.query(&settings, &hour),
            count_events(&settings, &hour, 3)
        );
    }

    #[test]
    fn the_event_columns_take_no_reserved_name() {
        for column in EVENT_COLUMNS {
            assert_ne!(column, RANK_COLUMN);
            assert!(!crate::settings::PARTITION_KEYS.contains(&column));
        }
        assert_eq!([EVENT_ID, EVENT_TIME], [EVENT_COLUMNS[0], EVENT_COLUMNS[3]]);
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
