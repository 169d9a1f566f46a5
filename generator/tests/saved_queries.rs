//! The saved Athena query that compares the JSON table with the Parquet table hour by hour,
//! run in DuckDB (which reads the SQL it uses as Athena does) over small tables, with
//! `current_date` pinned to a day of October 2026.
//!
//! Needs a Python with the `duckdb` module: `$METERING_PYTHON`, else `python3`. `make tools`
//! installs it into `build/venv` and `make test` points `METERING_PYTHON` there. Without it
//! the test fails; it is never skipped.

mod common;

use serde_json::{json, Value};
use std::process::Command;

/// Runs the job `{"setup": [statements], "sql"}` (argv[1]) in a fresh in-memory database and
/// prints `{"rows"}` (values as text, NULL as null) or `{"error"}`.
const DUCKDB_ONCE: &str = r#"
import json, sys
job = json.loads(sys.argv[1])
try:
    import duckdb
except ImportError as e:
    print(json.dumps({"error": "cannot import duckdb: %s" % e}))
    sys.exit(0)
try:
    con = duckdb.connect(config={"threads": 1})
    for statement in job["setup"]:
        con.execute(statement)
    rows = con.execute(job["sql"]).fetchall()
    print(json.dumps({"rows": [[None if v is None else str(v) for v in r] for r in rows]}))
except Exception as e:
    print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
"#;

fn duckdb(setup: &[String], sql: &str) -> Vec<Vec<Option<String>>> {
    let python = std::env::var("METERING_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let hint = "run `make tools` (it installs duckdb into build/venv) and run the tests with \
                METERING_PYTHON=$PWD/build/venv/bin/python, as `make test` does";
    let job = json!({"setup": setup, "sql": sql}).to_string();
    let out = Command::new(&python)
        .arg("-c")
        .arg(DUCKDB_ONCE)
        .arg(job)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{python}` (METERING_PYTHON): {e}; {hint}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let answer: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "`{python}` answered {stdout:?} ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    if let Some(error) = answer.get("error") {
        panic!("DuckDB: {}\n{sql}\n({hint})", error.as_str().unwrap_or("?"));
    }
    serde_json::from_value(answer["rows"].clone()).unwrap()
}

/// `CREATE SCHEMA` and `CREATE TABLE` for `"database"."table"` with the partition columns as
/// integers (as in the Glue tables) and `requestid`, filled with `rows`.
fn table(database: &str, name: &str, rows: &[(Option<&str>, u32, u32, u32)]) -> Vec<String> {
    let values: Vec<String> = rows
        .iter()
        .map(|(id, month, day, hour)| {
            let year = if *month == 0 { 2025 } else { 2026 };
            let month = if *month == 0 { 10 } else { *month };
            let id = id.map_or("NULL".to_string(), |i| format!("'{i}'"));
            format!("({id}, {year}, {month}, {day}, {hour})")
        })
        .collect();
    vec![
        format!("CREATE SCHEMA IF NOT EXISTS \"{database}\""),
        format!(
            "CREATE TABLE \"{database}\".\"{name}\" (requestid VARCHAR, year INTEGER, \
             month INTEGER, day INTEGER, hour INTEGER)"
        ),
        format!(
            "INSERT INTO \"{database}\".\"{name}\" VALUES {}",
            values.join(", ")
        ),
    ]
}

#[test]
fn json_and_parquet_per_hour_shows_the_hours_whose_parquet_is_missing_or_short() {
    // Two databases: the query names each table with its own.
    let context = common::workspace().join("examples/separate-databases.json");
    let (model, _) = metering_gen::load(&context, &common::workspace()).unwrap();
    let (json_table, parquet_table) = (&model.catalog.json_table, &model.catalog.parquet_table);
    assert_ne!(json_table.database, parquet_table.database);
    let queries = metering_gen::render::named_queries(&model);
    let query = queries
        .iter()
        .find(|q| q.key == "json_and_parquet_per_hour")
        .expect("the saved query");
    assert!(
        queries.iter().any(|q| q.key == "rows_per_hour"),
        "rows_per_hour is kept"
    );
    // "Today" is 15 October 2026, in the month's filter of both tables.
    assert_eq!(
        query.sql.matches("current_date").count(),
        4,
        "{}",
        query.sql
    );
    let sql = query.sql.replace("current_date", "DATE '2026-10-15'");

    // (requestid, month (0: October of the year before), day, hour)
    let json_rows = [
        // Complete in Parquet: a duplicate and a malformed line (a row of NULLs).
        (Some("r-1"), 10, 1, 0),
        (Some("r-1"), 10, 1, 0),
        (Some("r-2"), 10, 1, 0),
        (None, 10, 1, 0),
        // Short in Parquet by one request.
        (Some("r-3"), 10, 1, 1),
        (Some("r-4"), 10, 1, 1),
        (Some("r-5"), 10, 1, 1),
        // Not compacted at all.
        (Some("r-6"), 10, 2, 7),
        (Some("r-7"), 10, 2, 7),
        // Other months: left out.
        (Some("r-0"), 9, 30, 23),
        (Some("r-x"), 0, 2, 7),
    ];
    let parquet_rows = [
        (Some("r-1"), 10, 1, 0),
        (Some("r-2"), 10, 1, 0),
        (Some("r-3"), 10, 1, 1),
        (Some("r-4"), 10, 1, 1),
        // Only in Parquet (its JSON files gone).
        (Some("r-9"), 10, 3, 5),
        (Some("r-0"), 9, 30, 23),
    ];
    let mut setup = table(&json_table.database, &json_table.name, &json_rows);
    setup.extend(table(
        &parquet_table.database,
        &parquet_table.name,
        &parquet_rows,
    ));
    let rows = duckdb(&setup, &sql);
    let expected: Vec<Vec<Option<String>>> = [
        [2026, 10, 1, 0, 2, 2, 0],
        [2026, 10, 1, 1, 3, 2, 1],
        [2026, 10, 2, 7, 2, 0, 2],
        [2026, 10, 3, 5, 0, 1, -1],
    ]
    .iter()
    .map(|r| r.iter().map(|v| Some(v.to_string())).collect())
    .collect();
    assert_eq!(rows, expected, "{sql}");
}

#[test]
fn usage_events_per_tenant_counts_each_id_once_and_sums_exactly() {
    let context = common::workspace().join("examples/metering.json");
    let (model, _) = metering_gen::load(&context, &common::workspace()).unwrap();
    let events = &model
        .usage_events
        .as_ref()
        .expect("usage events")
        .parquet_table;
    let queries = metering_gen::render::named_queries(&model);
    let query = queries
        .iter()
        .find(|q| q.key == "usage_events_per_tenant")
        .expect("the saved query");
    let sql = query.sql.replace("current_date", "DATE '2026-10-15'");
    // (id, tenant, type, time, value, problem, month)
    let rows = [
        ("e-1", "acme", "tokens.generated", 1, "1.5", None, 10),
        ("e-1", "acme", "tokens.generated", 2, "1.5", None, 10),
        (
            "e-2",
            "acme",
            "tokens.generated",
            3,
            "0.000000001",
            None,
            10,
        ),
        (
            "e-3",
            "acme",
            "tokens.generated",
            4,
            "7",
            Some("outside any window"),
            10,
        ),
        ("e-4", "acme", "job.completed", 5, "NULL", None, 10),
        ("e-5", "globex", "tokens.generated", 6, "2", None, 10),
        // September's folder: left out.
        ("e-6", "globex", "tokens.generated", 7, "100", None, 9),
    ];
    let values: Vec<String> = rows
        .iter()
        .map(|(id, tenant, kind, time, value, problem, month)| {
            let problem = problem.map_or("NULL".to_string(), |p| format!("'{p}'"));
            format!(
                "('{id}', '{tenant}', '{kind}', {time}, {value}, {problem}, 2026, {month}, 1, 0)"
            )
        })
        .collect();
    let setup = vec![
        format!("CREATE SCHEMA IF NOT EXISTS \"{}\"", events.database),
        format!(
            "CREATE TABLE \"{}\".\"{}\" (id VARCHAR, tenant VARCHAR, type VARCHAR, time BIGINT, \
             value DECIMAL(24,9), problem VARCHAR, year INTEGER, month INTEGER, day INTEGER, hour INTEGER)",
            events.database, events.name
        ),
        format!(
            "INSERT INTO \"{}\".\"{}\" VALUES {}",
            events.database,
            events.name,
            values.join(", ")
        ),
    ];
    let rows = duckdb(&setup, &sql);
    let some = |v: &str| Some(v.to_string());
    assert_eq!(
        rows,
        vec![
            vec![
                some("acme"),
                some("job.completed"),
                some("1"),
                some("0E-9"),
                some("0")
            ],
            vec![
                some("acme"),
                some("tokens.generated"),
                some("2"),
                some("1.500000001"),
                some("1")
            ],
            vec![
                some("globex"),
                some("tokens.generated"),
                some("1"),
                some("2.000000000"),
                some("0")
            ],
        ],
        "{sql}"
    );
}
