//! The hour's count query and the SELECT of its CTAS, run in DuckDB over one hour's JSON file
//! (read as Athena reads it with `ignore.malformed.json`: a malformed line is a row of NULLs),
//! so that the counts the compaction reports are the rows it writes: `rows_out` is exactly the
//! number of rows of the CTAS, whatever the file holds (duplicates, a record without a
//! request id, a line that is not JSON).
//!
//! Needs DuckDB for the Python in `METERING_PYTHON` (default `python3`); `make test` installs
//! it. DuckDB is not Trino: this checks the queries' logic, not Athena's dialect.

mod common;

use std::process::Command;

use common::{hour, settings};
use compaction::sql;
use serde_json::Value;

const READER: &str = r#"
import json, sys
import duckdb
root, count_sql, select_sql = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect(config={"threads": 1})
con.execute('CREATE SCHEMA "metering"')
columns = ("{'requestId': 'VARCHAR', 'ip': 'VARCHAR', 'user': 'VARCHAR', "
           "'requestTime': 'BIGINT', 'httpMethod': 'VARCHAR', 'resourcePath': 'VARCHAR', "
           "'status': 'INTEGER', 'protocol': 'VARCHAR', 'responseLength': 'BIGINT'}")
con.execute(
    "CREATE VIEW \"metering\".\"api_access_json\" AS SELECT * FROM read_json('%s/*/*/*/*/*', "
    "format='newline_delimited', ignore_errors=true, hive_partitioning=true, "
    "hive_types={'year': INTEGER, 'month': INTEGER, 'day': INTEGER, 'hour': INTEGER}, "
    "columns=%s)" % (root.replace("'", "''"), columns))
counts = con.execute(count_sql).fetchone()
rows = con.execute(select_sql).fetchall()
ids = sorted((r[0] for r in rows), key=lambda i: (i is None, i or ""))
print(json.dumps({"counts": list(counts), "ids": ids}))
"#;

fn python() -> String {
    std::env::var("METERING_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

#[test]
fn rows_out_is_the_number_of_rows_the_ctas_writes() {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join(hour().partition_path());
    std::fs::create_dir_all(&folder).unwrap();
    let lines = [
        r#"{"requestId":"r-1","requestTime":1796428800100,"status":200}"#,
        r#"{"requestId":"r-1","requestTime":1796428800050,"status":200}"#,
        r#"{"requestId":"r-2","requestTime":1796428801000,"status":404}"#,
        // A record without a request id: API Gateway never writes one, so it is no request.
        r#"{"requestTime":1796428802000,"status":200}"#,
        // A line cut short.
        r#"{"requestId":"r-3","requestTime":17964"#,
    ];
    std::fs::write(folder.join("firehose-1.json"), lines.join("\n") + "\n").unwrap();

    let settings = settings();
    let count = sql::count_rows(&settings, &hour());
    let ctas = sql::create_parquet_table(&settings, &hour());
    let select = &ctas[ctas.find(" AS SELECT ").expect("a CTAS") + 4..];
    let output = Command::new(python())
        .args(["-c", READER, root.path().to_str().unwrap(), &count, select])
        .output()
        .expect("running Python with DuckDB");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();

    // rows_in: the three rows with an id; rows_out: two ids; malformed: the other two lines.
    assert_eq!(answer["counts"], serde_json::json!([3, 2, 2]), "{answer}");
    assert_eq!(answer["ids"], serde_json::json!(["r-1", "r-2"]), "{answer}");
}
