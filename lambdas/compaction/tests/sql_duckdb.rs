//! The hour's count query and the SELECT of its CTAS, run in DuckDB over one hour's JSON file
//! (read as Athena reads it with `ignore.malformed.json`: a malformed line is a row of NULLs),
//! so that the counts the compaction reports are the rows it writes: `rows_out` is exactly the
//! number of rows of the CTAS, whatever the file holds (duplicates, a record without a
//! request id, a line that is not JSON).
//!
//! The same for usage events ([`events_rows_out_is_what_the_ctas_writes`]): the count and the
//! CTAS's SELECT over one hour of the lines the ingestion writes, run as they are (DuckDB knows
//! `count_if`, `CAST(… AS DECIMAL(24,9))` and the rest).
//!
//! Needs DuckDB for the Python in `METERING_PYTHON` (default `python3`); `make test` installs
//! it. DuckDB is not Trino: this checks the queries' logic, not Athena's dialect.

mod common;

use std::process::Command;

use common::{events_settings, hour, settings};
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

/// The usage-events JSON table as the Hive JSON SerDe reads it: the ingestion's lines, a key
/// the table has not (`record`) ignored, a missing one NULL.
const EVENTS_READER: &str = r#"
import json, sys
import duckdb
root, count_sql, select_sql = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect(config={"threads": 1})
con.execute('CREATE SCHEMA "metering"')
columns = ("{'id': 'VARCHAR', 'tenant': 'VARCHAR', 'type': 'VARCHAR', 'time': 'BIGINT', "
           "'value': 'VARCHAR', 'properties': 'MAP(VARCHAR, VARCHAR)', 'problem': 'VARCHAR'}")
con.execute(
    "CREATE VIEW \"metering\".\"usage_events_json\" AS SELECT * FROM read_json('%s/*/*/*/*/*', "
    "format='newline_delimited', hive_partitioning=true, "
    "hive_types={'year': INTEGER, 'month': INTEGER, 'day': INTEGER, 'hour': INTEGER}, "
    "columns=%s)" % (root.replace("'", "''"), columns))
counts = con.execute(count_sql).fetchone()
cursor = con.execute(select_sql)
names = [d[0] for d in cursor.description]
rows = sorted(cursor.fetchall(), key=lambda r: r[0])
def cell(v):
    return None if v is None else v if isinstance(v, (str, int, dict)) else str(v)
print(json.dumps({"counts": list(counts), "columns": names,
                  "rows": [[cell(v) for v in r] for r in rows]}))
"#;

#[test]
fn events_rows_out_is_what_the_ctas_writes() {
    // 2026-11-28T00 with LATE_ARRIVAL_HOURS=3: only November's bill reads the folder, so the
    // events of 2026-11-01T00:00Z up to 2026-12-01T00:00Z are in a window.
    let (november, december) = (1_793_491_200_000_i64, 1_796_083_200_000_i64);
    let in_november = november + 10 * 86_400_000; // 2026-11-11T00:00Z
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join(hour().partition_path());
    std::fs::create_dir_all(&folder).unwrap();
    let lines = [
        // Two copies of e-1: the earlier is kept.
        format!(
            r#"{{"id":"e-1","tenant":"acme","type":"tokens.generated","time":{},"value":"2","properties":{{"model":"large"}}}}"#,
            in_november + 500
        ),
        format!(
            r#"{{"id":"e-1","tenant":"acme","type":"tokens.generated","time":{},"value":"1.5","properties":{{"model":"large"}}}}"#,
            in_november
        ),
        // A line the ingestion flagged: no id.
        r#"{"problem":"no `tenant`","record":"{\"id\":\"e-x\",\"type\":\"t\"}"}"#.to_owned(),
        // A line sent with a problem of its own, passed on as it came: no event, id and all.
        format!(
            r#"{{"id":"e-9","tenant":"acme","type":"tokens.generated","time":{in_november},"value":"7","problem":"upstream"}}"#
        ),
        // An event of October: no bill reads it from a folder of 28 November.
        format!(
            r#"{{"id":"e-2","tenant":"acme","type":"job.completed","time":{}}}"#,
            november - 1
        ),
        // An event without a value or properties.
        format!(
            r#"{{"id":"e-3","tenant":"beta","type":"job.completed","time":{}}}"#,
            december - 1
        ),
        // Copies of e-4 on both sides of the window: the one inside is kept, though later.
        format!(
            r#"{{"id":"e-4","tenant":"beta","type":"storage.gb","time":{december},"value":"9"}}"#
        ),
        format!(
            r#"{{"id":"e-4","tenant":"beta","type":"storage.gb","time":{november},"value":"8"}}"#
        ),
        format!(
            r#"{{"id":"e-4","tenant":"beta","type":"storage.gb","time":{},"value":"7"}}"#,
            november - 1
        ),
        // The largest value: 15 digits before the point and 9 after, exact.
        format!(
            r#"{{"id":"e-5","tenant":"beta","type":"storage.gb","time":{in_november},"value":"999999999999999.000000001","properties":{{}}}}"#
        ),
    ];
    std::fs::write(folder.join("events-1"), lines.join("\n") + "\n").unwrap();

    let settings = events_settings();
    let count = sql::count_rows(&settings, &hour());
    let ctas = sql::create_parquet_table(&settings, &hour());
    let select = &ctas[ctas.find(" AS SELECT ").expect("a CTAS") + 4..];
    let output = Command::new(python())
        .args([
            "-c",
            EVENTS_READER,
            root.path().to_str().unwrap(),
            &count,
            select,
        ])
        .output()
        .expect("running Python with DuckDB");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();

    // rows_in: the 8 lines that are events; rows_out: e-1 to e-5; malformed: the 2 flagged
    // lines; outside the windows: e-2 and two copies of e-4.
    assert_eq!(
        answer["counts"],
        serde_json::json!([8, 5, 2, 3]),
        "{answer}"
    );
    assert_eq!(
        answer["columns"],
        serde_json::json!(sql::EVENT_COLUMNS),
        "{answer}"
    );
    let outside = sql::OUTSIDE_ANY_WINDOW;
    assert_eq!(
        answer["rows"],
        serde_json::json!([
            ["e-1", "acme", "tokens.generated", in_november, "1.500000000", {"model": "large"}, null],
            ["e-2", "acme", "job.completed", november - 1, null, null, outside],
            ["e-3", "beta", "job.completed", december - 1, null, null, null],
            ["e-4", "beta", "storage.gb", november, "8.000000000", null, null],
            ["e-5", "beta", "storage.gb", in_november, "999999999999999.000000001", {}, null],
        ]),
        "{answer}"
    );
}
