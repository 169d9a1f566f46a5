//! The usage query the billing Lambda runs in Athena. Its rules are those of
//! [`Aggregator`](crate::Aggregator), which applies them offline; keep the two in step.
//!
//! It is written in the SQL that Athena (Trino) and DuckDB share, so that tests can run the
//! very text over the same logs that the offline path reads.

use crate::config::ValidConfig;
use crate::meter::{Aggregation, Source};
use crate::month::Month;
use crate::record::UNASSIGNED;

/// An identifier in double quotes, a `"` inside doubled: how Athena's SELECT statements
/// (Trino) take a name that is a reserved keyword, such as a meter called `order` or `end`.
/// The rule: Amazon Athena User Guide, "Reserved keywords" (`reserved-words.html`): "To escape
/// reserved keywords in SQL SELECT statements [...] enclose them in double quotes"; Trino's
/// "Keywords and identifiers" (`language/reserved.html`): reserved keywords "must be quoted
/// (using double quotes) in order to be used as an identifier", and "Escape a `"` with
/// another preceding double quote". DuckDB, which runs the query in the tests, reads it alike.
/// A quoted name is the same name: the result column of `AS "order"` is `order`.
fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// `SELECT tenant, <meter>… FROM <database>.<table>` for one month, one row per tenant with
/// any request in the month, ordered by tenant:
///
/// 1. read the folders of the previous month's last hour
///    ([`PREVIOUS_MONTH_HOURS`](crate::PREVIOUS_MONTH_HOURS): Firehose files an object under
///    the hour of its oldest record, so a buffer that straddles midnight holds requests of the
///    month in the previous month's folder), of the month and of the first
///    `late_arrival_hours` of the next (partition columns `year`, `month`, `day`, `hour`:
///    Athena reads only those);
/// 2. keep one row per `requestid`, the earliest by `requesttime` (Firehose may deliver a
///    record twice, even into two different hours);
/// 3. keep requests whose own `requesttime` is in the month, whatever folder they are in;
/// 4. name requests without a tenant (NULL, `''` or `-`) [`UNASSIGNED`];
/// 5. per tenant: `count` → requests passing the filter, `sum_response_bytes` → their
///    `responselength` summed (0 when none), `unique_users` → distinct `sub`s among them.
///
/// Rows that the offline path rejects as malformed lines are left out before de-duplication,
/// as there: no `requestid` (NULL, `''` or `-`; API Gateway always writes one), no
/// `requesttime`, a negative `responselength`.
///
/// Every name that comes from the configuration (meters, database, table) is written in
/// double quotes, so that any valid meter name is a valid column alias, SQL keywords
/// included; the one name a meter cannot have, `tenant`, is refused by
/// [`check_name`](crate::check_name).
///
/// The query reads the access-log table only: a configuration with a meter of usage events
/// is refused with that meter's name (those are measured offline, `metering-gen bill
/// --events`, until the events table is deployed).
pub fn usage_query(
    config: &ValidConfig,
    month: Month,
    database: &str,
    table: &str,
) -> Result<String, EventsNotQueried> {
    if let Some((name, _)) = config.meters().find(|(_, m)| m.source == Source::Events) {
        return Err(EventsNotQueried(name.to_string()));
    }
    let window = config.window(month);
    let (first, last) = (window.first_folder(), window.last_folder());
    // The previous month's last hours (on its last day), the month, the next month's first.
    let folders = format!(
        "(year = {} AND month = {} AND day = {} AND hour >= {}) OR (year = {} AND month = {}) \
         OR (year = {} AND month = {} AND day = 1 AND hour <= {})",
        first.year,
        first.month,
        first.day,
        first.hour,
        month.year(),
        month.month(),
        last.year,
        last.month,
        last.hour
    );
    let mut columns = vec!["  tenant".to_string()];
    for (name, meter) in config.meters() {
        let name = quoted(name);
        let filter = meter.filter.sql();
        columns.push(match meter.aggregation {
            Aggregation::Count => format!("  count_if({filter}) AS {name}"),
            Aggregation::SumResponseBytes => {
                format!("  coalesce(sum(CASE WHEN {filter} THEN responselength END), 0) AS {name}")
            }
            Aggregation::UniqueUsers => {
                format!("  count(DISTINCT CASE WHEN {filter} THEN sub END) AS {name}")
            }
            Aggregation::Sum | Aggregation::Max | Aggregation::UniqueCount => {
                unreachable!("events meters were refused above")
            }
        });
    }
    Ok(format!(
        "-- Usage per tenant for {month}: metering-gen's usage query (crates/metering/src/sql.rs).
WITH scanned AS (
  SELECT requesttime, tenant, sub, httpmethod, resourcepath, status, responselength,
    row_number() OVER (PARTITION BY requestid ORDER BY requesttime) AS copy
  FROM {database}.{table}
  WHERE requestid IS NOT NULL AND requestid NOT IN ('', '-')
    AND requesttime IS NOT NULL
    AND (responselength IS NULL OR responselength >= 0)
    AND ({folders})
),
requests AS (
  SELECT
    CASE WHEN tenant IS NULL OR tenant IN ('', '-') THEN '{UNASSIGNED}' ELSE tenant END AS tenant,
    CASE WHEN sub IN ('', '-') THEN NULL ELSE sub END AS sub,
    httpmethod, resourcepath, status, responselength
  FROM scanned
  WHERE copy = 1 AND requesttime >= {start} AND requesttime < {end}
)
SELECT
{columns}
FROM requests
GROUP BY tenant
ORDER BY tenant
",
        database = quoted(database),
        table = quoted(table),
        start = month.start_ms(),
        end = month.end_ms(),
        columns = columns.join(",\n"),
    ))
}

/// A meter of usage events, which the usage query does not read yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("meter `{0}` counts usage events, which the deployed billing does not read yet: bill them with `metering-gen bill --events`")]
pub struct EventsNotQueried(pub String);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(meters: &[&str]) -> ValidConfig {
        let meters: serde_json::Map<String, serde_json::Value> = meters
            .iter()
            .map(|m| (m.to_string(), serde_json::json!({"aggregation": "count"})))
            .collect();
        let config: Config = serde_json::from_value(serde_json::json!({
            "meters": meters,
            "pricing": {"default_plan": "p", "plans": {"p": {"currency": "EUR"}}}
        }))
        .unwrap();
        config.validate().unwrap()
    }

    #[test]
    fn meter_names_are_quoted_aliases() {
        let words = [
            "order", "group", "values", "end", "table", "select", "from", "case",
        ];
        let sql = usage_query(
            &config(&words),
            "2026-10".parse().unwrap(),
            "metering",
            "api_access_parquet",
        )
        .unwrap();
        for word in words {
            assert!(sql.contains(&format!(") AS \"{word}\"")), "{word}:\n{sql}");
            assert!(!sql.contains(&format!(" AS {word}")), "{word}:\n{sql}");
        }
        assert!(sql.contains("FROM \"metering\".\"api_access_parquet\""));
    }

    #[test]
    fn the_partition_filter_reads_the_window() {
        let sql = usage_query(&config(&["calls"]), "2027-01".parse().unwrap(), "d", "t").unwrap();
        assert!(
            sql.contains(
                "AND ((year = 2026 AND month = 12 AND day = 31 AND hour >= 23) \
                 OR (year = 2027 AND month = 1) \
                 OR (year = 2027 AND month = 2 AND day = 1 AND hour <= 2))"
            ),
            "{sql}"
        );
    }

    #[test]
    fn quoting_doubles_double_quotes() {
        assert_eq!(quoted("order"), "\"order\"");
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
    }
}
