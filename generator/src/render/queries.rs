//! Saved Athena queries for the usual questions, written against the generated tables.

use crate::model::{Model, Table};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct NamedQuery {
    /// Terraform map key.
    pub key: String,
    pub name: String,
    pub description: String,
    pub database: String,
    pub sql: String,
}

fn qualified(table: &Table) -> String {
    format!("\"{}\".\"{}\"", table.database, table.name)
}

fn has(table: &Table, column: &str) -> bool {
    table.columns.iter().any(|c| c.name == column)
}

const THIS_MONTH: &str = "year = year(current_date) AND month = month(current_date)";

pub fn named_queries(model: &Model) -> Vec<NamedQuery> {
    let json = &model.catalog.json_table;
    let parquet = &model.catalog.parquet_table;
    let mut queries = vec![
        NamedQuery {
            key: "rows_per_hour".into(),
            name: "Rows per hour, JSON and Parquet".into(),
            description: "Access-log rows per arrival hour today in the raw JSON table (malformed lines, read as NULL rows, left out) and in the compacted Parquet table".into(),
            database: json.database.clone(),
            sql: format!(
                "SELECT 'json' AS source, year, month, day, hour, count(requestid) AS row_count\n\
                 FROM {json}\n\
                 WHERE year = year(current_date) AND month = month(current_date) AND day = day(current_date)\n\
                 GROUP BY 1, 2, 3, 4, 5\n\
                 UNION ALL\n\
                 SELECT 'parquet' AS source, year, month, day, hour, count(*) AS row_count\n\
                 FROM {parquet}\n\
                 WHERE year = year(current_date) AND month = month(current_date) AND day = day(current_date)\n\
                 GROUP BY 1, 2, 3, 4, 5\n\
                 ORDER BY year, month, day, hour, source;\n",
                json = qualified(json),
                parquet = qualified(parquet),
            ),
        },
        NamedQuery {
            key: "json_and_parquet_per_hour".into(),
            name: "Requests per hour, JSON against Parquet".into(),
            description: "Per arrival hour this month: distinct request ids in the raw JSON table, rows in the compacted Parquet table and the difference; an hour whose Parquet is missing or short shows a gap".into(),
            database: json.database.clone(),
            sql: json_and_parquet_per_hour(json, parquet),
        },
        NamedQuery {
            key: "row_count".into(),
            name: "Row count this month".into(),
            description: "Access-log rows delivered this month (raw JSON table), and the lines that were not valid JSON".into(),
            database: json.database.clone(),
            sql: format!(
                "SELECT count(requestid) AS row_count, count(*) - count(requestid) AS malformed_lines\nFROM {}\nWHERE {THIS_MONTH};\n",
                qualified(json)
            ),
        },
    ];
    // Prefer the compacted table; fall back to the JSON table when COLUMN_NAMES left out a
    // column the question needs.
    let source = if has(parquet, "user") && has(parquet, "requesttime") {
        parquet
    } else {
        json
    };
    queries.push(NamedQuery {
        key: "requests_per_user_per_day".into(),
        name: "Requests per user per day".into(),
        description: format!(
            "API requests per Cognito user and UTC day of the request this month, from table {}",
            source.name
        ),
        database: source.database.clone(),
        sql: format!(
            "SELECT \"user\", date(from_unixtime(requesttime / 1000)) AS request_day, count(*) AS requests\n\
             FROM {}\n\
             WHERE {THIS_MONTH}\n\
             GROUP BY 1, 2\n\
             ORDER BY request_day, \"user\";\n",
            qualified(source)
        ),
    });
    queries.extend(usage_per_tenant(parquet, json));
    if let Some(events) = &model.usage_events {
        queries.push(usage_events_per_tenant(&events.parquet_table));
    }
    queries.sort_by(|a, b| a.key.cmp(&b.key));
    queries
}

/// Hour by hour this month, the JSON table's requests (each request id once, as compaction
/// keeps them; malformed lines, read as rows without a request id, left out) next to the
/// Parquet table's rows, joined on the four partition columns with a FULL OUTER JOIN so that
/// an hour present in one table only shows too; `missing_in_parquet` is their difference.
fn json_and_parquet_per_hour(json: &Table, parquet: &Table) -> String {
    format!(
        "WITH json_hours AS (\n\
         \x20 SELECT year, month, day, hour, count(DISTINCT requestid) AS json_requests\n\
         \x20 FROM {json}\n\
         \x20 WHERE {THIS_MONTH} AND requestid IS NOT NULL\n\
         \x20 GROUP BY 1, 2, 3, 4\n\
         ),\n\
         parquet_hours AS (\n\
         \x20 SELECT year, month, day, hour, count(*) AS parquet_rows\n\
         \x20 FROM {parquet}\n\
         \x20 WHERE {THIS_MONTH}\n\
         \x20 GROUP BY 1, 2, 3, 4\n\
         )\n\
         SELECT\n\
         \x20 coalesce(j.year, p.year) AS year,\n\
         \x20 coalesce(j.month, p.month) AS month,\n\
         \x20 coalesce(j.day, p.day) AS day,\n\
         \x20 coalesce(j.hour, p.hour) AS hour,\n\
         \x20 coalesce(j.json_requests, 0) AS json_requests,\n\
         \x20 coalesce(p.parquet_rows, 0) AS parquet_rows,\n\
         \x20 coalesce(j.json_requests, 0) - coalesce(p.parquet_rows, 0) AS missing_in_parquet\n\
         FROM json_hours j\n\
         FULL OUTER JOIN parquet_hours p\n\
         \x20 ON j.year = p.year AND j.month = p.month AND j.day = p.day AND j.hour = p.hour\n\
         ORDER BY 1, 2, 3, 4;\n",
        json = qualified(json),
        parquet = qualified(parquet),
    )
}

/// The usage events compacted this month (by arrival folder), per tenant and type: each event
/// id once (the copy without a problem first, then the earliest, as the compaction keeps
/// them), the billable events and their values summed (`value` is a decimal: exact), and the
/// events not billed (a `problem`, e.g. outside any window). The bill itself takes the month of
/// each event's own time.
fn usage_events_per_tenant(events: &Table) -> NamedQuery {
    NamedQuery {
        key: "usage_events_per_tenant".into(),
        name: "Usage events per tenant and type".into(),
        description: format!(
            "Usage events that arrived this month per tenant and type, each id once: billable events, the sum of their values, and events not billed; from table {}",
            events.name
        ),
        database: events.database.clone(),
        sql: format!(
            "WITH scanned AS (\n\
             \x20 SELECT \"tenant\", \"type\", \"value\", \"problem\",\n\
             \x20   row_number() OVER (PARTITION BY \"id\" ORDER BY CASE WHEN \"problem\" IS NULL THEN 0 ELSE 1 END, \"time\") AS copy\n\
             \x20 FROM {table}\n\
             \x20 WHERE {THIS_MONTH}\n\
             )\n\
             SELECT\n\
             \x20 \"tenant\",\n\
             \x20 \"type\",\n\
             \x20 count_if(\"problem\" IS NULL) AS events,\n\
             \x20 coalesce(sum(CASE WHEN \"problem\" IS NULL THEN \"value\" END), 0) AS total_value,\n\
             \x20 count_if(\"problem\" IS NOT NULL) AS not_billed\n\
             FROM scanned\n\
             WHERE copy = 1\n\
             GROUP BY 1, 2\n\
             ORDER BY 1, 2;\n",
            table = qualified(events),
        ),
    }
}

/// De-duplicated requests by tenant, bucketed by the request's own time: the billing rules
/// (see `metering::usage_query`), without meters.
fn usage_per_tenant(parquet: &Table, json: &Table) -> [NamedQuery; 2] {
    let needed = [
        "requestid",
        "requesttime",
        "tenant",
        "sub",
        "responselength",
    ];
    let source = if needed.iter().all(|c| has(parquet, c)) {
        parquet
    } else {
        json
    };
    let query = |folders: &str, bucket: &str, since: &str| {
        format!(
            "WITH scanned AS (\n\
             \x20 SELECT requesttime, tenant, sub, responselength,\n\
             \x20   row_number() OVER (PARTITION BY requestid ORDER BY requesttime) AS copy\n\
             \x20 FROM {table}\n\
             \x20 WHERE requestid IS NOT NULL AND ({folders})\n\
             )\n\
             SELECT\n\
             \x20 CASE WHEN tenant IS NULL OR tenant IN ('', '-') THEN '{unassigned}' ELSE tenant END AS tenant,\n\
             \x20 {bucket} AS period,\n\
             \x20 count(*) AS requests,\n\
             \x20 coalesce(sum(responselength), 0) AS response_bytes,\n\
             \x20 count(DISTINCT CASE WHEN sub IN ('', '-') THEN NULL ELSE sub END) AS users\n\
             FROM scanned\n\
             WHERE copy = 1 AND requesttime >= {since}\n\
             GROUP BY 1, 2\n\
             ORDER BY period, tenant;\n",
            table = qualified(source),
            unassigned = metering::UNASSIGNED,
        )
    };
    [
        NamedQuery {
            key: "usage_per_tenant_per_day".into(),
            name: "Usage per tenant per day".into(),
            description: format!(
                "Requests, response bytes and users per tenant and UTC day this month, each request once, from table {}",
                source.name
            ),
            database: source.database.clone(),
            sql: query(
                THIS_MONTH,
                "date(from_unixtime(requesttime / 1000))",
                "to_unixtime(date_trunc('month', current_timestamp)) * 1000",
            ),
        },
        NamedQuery {
            key: "usage_per_tenant_per_month".into(),
            name: "Usage per tenant per month".into(),
            description: format!(
                "Requests, response bytes and users per tenant and month, this year and last, each request once, from table {}",
                source.name
            ),
            database: source.database.clone(),
            sql: query(
                "year = year(current_date) OR year = year(current_date) - 1",
                "date_format(from_unixtime(requesttime / 1000), '%Y-%m')",
                "to_unixtime(date_trunc('year', current_timestamp) - INTERVAL '1' YEAR) * 1000",
            ),
        },
    ]
}
