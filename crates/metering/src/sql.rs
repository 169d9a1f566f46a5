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
/// is refused with that meter's name ([`usage_query_with_events`] reads both).
pub fn usage_query(
    config: &ValidConfig,
    month: Month,
    database: &str,
    table: &str,
) -> Result<String, EventsNotQueried> {
    usage_query_with_events(config, month, Table { database, table }, None)
}

/// A Glue table, by database and name.
#[derive(Debug, Clone, Copy)]
pub struct Table<'a> {
    pub database: &'a str,
    pub table: &'a str,
}

impl Table<'_> {
    fn sql(&self) -> String {
        format!("{}.{}", quoted(self.database), quoted(self.table))
    }
}

/// [`usage_query`] over the access-log table and the usage-events table: one row per tenant
/// with a request or a usage event in the month, each meter from its own source (0 where the
/// tenant has none). Without events meters the query is [`usage_query`]'s, word for word;
/// without access-log meters it reads the events table only.
///
/// The events table has the columns that the compaction of usage events writes: `id`,
/// `tenant`, `type`, `time` (epoch milliseconds), `value` (DECIMAL(24,9), NULL when the event
/// has none), `properties` (MAP(VARCHAR, VARCHAR)), `problem` (NULL for a usable event; the
/// reason otherwise, e.g. a time outside any window, see
/// [`times_billed_from`](crate::times_billed_from)) and the hourly partition columns. Its rules
/// are [`Aggregator`](crate::Aggregator)'s for events: the window's folders, usable events
/// only, one row per `id` (the earliest by `time`), the month of the event's own `time`; per
/// meter, the events of its type that pass its property filter: `count`, `sum` and `max` of
/// `value` (NULLs skipped, 0 when none), `unique_count` of the property's distinct values.
///
/// A property is read with `element_at(properties, '<name>')`, which gives NULL for a key the
/// map lacks (Trino documentation, "Map functions and operators": `element_at(map(K, V), key)
/// → V` "Returns value for given key, or NULL if the key is not contained in the map"); the
/// subscript `properties['<name>']` would fail the query on such a key instead.
pub fn usage_query_with_events(
    config: &ValidConfig,
    month: Month,
    requests: Table<'_>,
    events: Option<Table<'_>>,
) -> Result<String, EventsNotQueried> {
    let reads_events = config.reads(Source::Events);
    let events = match (reads_events, events) {
        (true, None) => {
            let (name, _) = config
                .meters()
                .find(|(_, m)| m.source == Source::Events)
                .expect("a config that reads events has an events meter");
            return Err(EventsNotQueried(name.to_string()));
        }
        (true, Some(table)) => Some(table),
        (false, _) => None,
    };
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
    let header = format!(
        "-- Usage per tenant for {month}: metering-gen's usage query (crates/metering/src/sql.rs).\n"
    );
    let requests_ctes = format!(
        "WITH scanned AS (
  SELECT requesttime, tenant, sub, httpmethod, resourcepath, status, responselength,
    row_number() OVER (PARTITION BY requestid ORDER BY requesttime) AS copy
  FROM {table}
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
)",
        table = requests.sql(),
        start = month.start_ms(),
        end = month.end_ms(),
    );
    let request_columns: Vec<(&str, String)> = config
        .meters()
        .filter(|(_, m)| m.source == Source::AccessLog)
        .map(|(name, meter)| {
            let filter = meter.filter.sql();
            let expression = match meter.aggregation {
                Aggregation::Count => format!("count_if({filter})"),
                Aggregation::SumResponseBytes => {
                    format!("coalesce(sum(CASE WHEN {filter} THEN responselength END), 0)")
                }
                Aggregation::UniqueUsers => {
                    format!("count(DISTINCT CASE WHEN {filter} THEN sub END)")
                }
                Aggregation::Sum | Aggregation::Max | Aggregation::UniqueCount => {
                    unreachable!("validated: events aggregations are on events meters")
                }
            };
            (name, expression)
        })
        .collect();
    let Some(events) = events else {
        let mut columns = vec!["  tenant".to_string()];
        columns.extend(
            request_columns
                .iter()
                .map(|(name, e)| format!("  {e} AS {}", quoted(name))),
        );
        return Ok(format!(
            "{header}{requests_ctes}
SELECT
{columns}
FROM requests
GROUP BY tenant
ORDER BY tenant
",
            columns = columns.join(",\n"),
        ));
    };
    let events_ctes = format!(
        "events_scanned AS (
  SELECT \"tenant\", \"type\", \"time\", \"value\", \"properties\",
    row_number() OVER (PARTITION BY \"id\" ORDER BY \"time\") AS copy
  FROM {table}
  WHERE \"problem\" IS NULL AND \"id\" IS NOT NULL AND \"time\" IS NOT NULL
    AND ({folders})
),
events AS (
  SELECT \"tenant\", \"type\", \"value\", \"properties\"
  FROM events_scanned
  WHERE copy = 1 AND \"time\" >= {start} AND \"time\" < {end}
)",
        table = events.sql(),
        start = month.start_ms(),
        end = month.end_ms(),
    );
    let event_columns: Vec<(&str, String)> = config
        .meters()
        .filter(|(_, m)| m.source == Source::Events)
        .map(|(name, meter)| {
            let event_type = meter
                .event_type
                .as_deref()
                .expect("validated: events meters have a type");
            let mut condition = format!("\"type\" = '{event_type}'");
            for (property, values) in &meter.filter.properties {
                let quoted_values: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
                condition.push_str(&format!(
                    " AND {} IN ({})",
                    property_sql(property),
                    quoted_values.join(", ")
                ));
            }
            let expression = match meter.aggregation {
                Aggregation::Count => format!("count_if({condition})"),
                Aggregation::Sum => {
                    format!("coalesce(sum(CASE WHEN {condition} THEN \"value\" END), 0)")
                }
                Aggregation::Max => {
                    format!("coalesce(max(CASE WHEN {condition} THEN \"value\" END), 0)")
                }
                Aggregation::UniqueCount => format!(
                    "count(DISTINCT CASE WHEN {condition} THEN {} END)",
                    property_sql(
                        meter
                            .property
                            .as_deref()
                            .expect("validated: unique_count has a property")
                    )
                ),
                Aggregation::SumResponseBytes | Aggregation::UniqueUsers => {
                    unreachable!("validated: access-log aggregations are on access-log meters")
                }
            };
            (name, expression)
        })
        .collect();
    let grouped = |columns: &[(&str, String)]| -> String {
        columns
            .iter()
            .map(|(name, e)| format!(",\n    {e} AS {}", quoted(name)))
            .collect()
    };
    let mut out = header;
    let (sources, tenant) = if request_columns.is_empty() {
        out.push_str("WITH ");
        ("FROM event_usage e", "e.tenant")
    } else {
        out.push_str(&requests_ctes);
        out.push_str(&format!(
            ",\nrequest_usage AS (\n  SELECT\n    tenant{}\n  FROM requests\n  GROUP BY tenant\n),\n",
            grouped(&request_columns)
        ));
        (
            "FROM request_usage r FULL OUTER JOIN event_usage e ON r.tenant = e.tenant",
            "coalesce(r.tenant, e.tenant)",
        )
    };
    out.push_str(&events_ctes);
    out.push_str(&format!(
        ",\nevent_usage AS (\n  SELECT\n    \"tenant\" AS tenant{}\n  FROM events\n  GROUP BY \"tenant\"\n)\n",
        grouped(&event_columns)
    ));
    let mut columns = vec![format!("  {tenant} AS tenant")];
    for (name, meter) in config.meters() {
        let side = if meter.source == Source::Events {
            "e"
        } else {
            "r"
        };
        let name = quoted(name);
        columns.push(format!("  coalesce({side}.{name}, 0) AS {name}"));
    }
    out.push_str(&format!(
        "SELECT\n{}\n{sources}\nORDER BY 1\n",
        columns.join(",\n")
    ));
    Ok(out)
}

/// A property of an event: NULL when the event does not have it.
fn property_sql(name: &str) -> String {
    format!("element_at(\"properties\", '{name}')")
}

/// A meter of usage events, and no events table to read them from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("meter `{0}` counts usage events, and the query was given no usage-events table to read them from")]
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
