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
            description: "Access-log rows per arrival hour today in the raw JSON table and in the compacted Parquet table; a compacted hour has the same count in both".into(),
            database: json.database.clone(),
            sql: format!(
                "SELECT 'json' AS source, year, month, day, hour, count(*) AS row_count\n\
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
            key: "row_count".into(),
            name: "Row count this month".into(),
            description: "Number of access-log rows delivered this month (raw JSON table)".into(),
            database: json.database.clone(),
            sql: format!(
                "SELECT count(*) AS row_count\nFROM {}\nWHERE {THIS_MONTH};\n",
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
    queries.sort_by(|a, b| a.key.cmp(&b.key));
    queries
}
