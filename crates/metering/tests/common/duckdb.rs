//! DuckDB in a Python process, for the tests that run the usage query's text over files.

use metering::{usage_query, Month, Usage, ValidConfig};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

pub const DATABASE: &str = "metering_db";
pub const TABLE: &str = "access_log_parquet";
pub const EVENTS_TABLE: &str = "usage_events_parquet";

// ---------------------------------------------------------------------------------------------
// The SQL path: DuckDB in a Python process that serves one query per line.

/// Reads jobs `{"root", "database", "table", "sql"}`, one JSON object per line on stdin; for
/// each, a fresh in-memory database with `"<database>"."<table>"` as a view over
/// `<root>/json-data/year=…/month=…/day=…/hour=…/<file>` (partition columns as integers, as
/// in the Glue table), runs the query and prints `{"columns", "rows"}` (values as text, NULL as
/// null) or `{"error"}` on one line. The first line says whether duckdb could be imported.
///
/// Malformed lines are read as Athena reads them. The Glue JSON table uses the OpenX SerDe with
/// `ignore.malformed.json = TRUE` (Athena User Guide, "OpenX JSON SerDe"): a line that is not
/// a JSON object (cut short, or valid JSON such as `42`, `"text"` or `null`) is a row whose
/// columns are all NULL, and the query goes on. DuckDB's `read_json` fails the whole query on
/// such a line unless `ignore_errors=true`, with which it gives the same row of NULLs
/// (`malformed_lines_are_rows_of_nulls` checks it). One difference is left out of the
/// fixtures: OpenX reads a line that is a JSON *array* column by column, by position, where
/// DuckDB gives NULLs; API Gateway never writes one.
const DUCKDB_SERVER: &str = r#"
import decimal, json, sys
try:
    import duckdb
except ImportError as e:
    print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}), flush=True)
    sys.exit(0)
print(json.dumps({"ready": duckdb.__version__}), flush=True)
COLUMNS = ("{'requestId': 'VARCHAR', 'ip': 'VARCHAR', 'user': 'VARCHAR', "
           "'requestTime': 'BIGINT', 'httpMethod': 'VARCHAR', 'resourcePath': 'VARCHAR', "
           "'status': 'INTEGER', 'protocol': 'VARCHAR', 'responseLength': 'BIGINT', "
           "'tenant': 'VARCHAR', 'sub': 'VARCHAR'}")
EVENT_COLUMNS = ("{'id': 'VARCHAR', 'tenant': 'VARCHAR', 'type': 'VARCHAR', 'time': 'BIGINT', "
                 "'value': 'VARCHAR', 'properties': 'MAP(VARCHAR, VARCHAR)', 'problem': 'VARCHAR'}")
HIVE_TYPES = "{'year': INTEGER, 'month': INTEGER, 'day': INTEGER, 'hour': INTEGER}"
for line in sys.stdin:
    job = json.loads(line)
    try:
        con = duckdb.connect(config={"threads": 1})
        con.execute('CREATE SCHEMA "%s"' % job["database"])
        files = (job["root"] + "/json-data/*/*/*/*/*").replace("'", "''")
        con.execute(
            # ignore_errors: a malformed line becomes a row of NULLs, as with Athena's
            # ignore.malformed.json (see the Rust comment above).
            'CREATE VIEW "%s"."%s" AS SELECT * FROM read_json(\'%s\', '
            "format='newline_delimited', ignore_errors=true, hive_partitioning=true, "
            "hive_types=%s, columns=%s)"
            % (job["database"], job["table"], files, HIVE_TYPES, COLUMNS))
        if job.get("events_table"):
            # The usage-events table as the compaction of events writes it, from JSON lines
            # under <root>/events-table/year=…/: `value` a decimal, `properties` a map.
            events = (job["root"] + "/events-table/*/*/*/*/*").replace("'", "''")
            con.execute(
                'CREATE VIEW "%s"."%s" AS SELECT id, tenant, "type", "time", '
                'CAST(value AS DECIMAL(24,9)) AS value, properties, problem, year, month, day, hour '
                "FROM read_json('%s', format='newline_delimited', hive_partitioning=true, "
                "hive_types=%s, columns=%s)"
                % (job["database"], job["events_table"], events, HIVE_TYPES, EVENT_COLUMNS))
        cursor = con.execute(job["sql"])
        columns = [d[0] for d in cursor.description]
        # Decimals as Athena returns them: plain digits, never an exponent.
        text = lambda v: format(v, "f") if isinstance(v, decimal.Decimal) else str(v)
        rows = [[None if v is None else text(v) for v in r] for r in cursor.fetchall()]
        con.close()
        print(json.dumps({"columns": columns, "rows": rows}), flush=True)
    except Exception as e:
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}), flush=True)
"#;

pub struct DuckDb {
    python: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

pub type Rows = (Vec<String>, Vec<Vec<Option<String>>>);

impl DuckDb {
    /// Starts the Python process; panics (the test fails) when Python or duckdb is missing.
    pub fn start() -> DuckDb {
        let python = std::env::var("METERING_PYTHON").unwrap_or_else(|_| "python3".to_string());
        let hint = "run `make tools` (it installs duckdb into build/venv) and run the tests with \
                    METERING_PYTHON=$PWD/build/venv/bin/python, as `make test` does";
        let mut child = Command::new(&python)
            .arg("-c")
            .arg(DUCKDB_SERVER)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{python}` (METERING_PYTHON): {e}; {hint}"));
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut db = DuckDb {
            python,
            child,
            stdin,
            stdout,
        };
        match db.read_answer() {
            Ok(answer) if answer.get("ready").is_some() => db,
            Ok(answer) => panic!(
                "`{}` cannot import the duckdb module ({}): {hint}",
                db.python,
                answer["error"].as_str().unwrap_or("?")
            ),
            Err(e) => panic!("`{}` did not start: {e}; {hint}", db.python),
        }
    }

    fn read_answer(&mut self) -> Result<Value, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err(format!("`{}` exited (see its stderr above)", self.python)),
            Ok(_) => serde_json::from_str(&line).map_err(|e| format!("bad answer {line:?}: {e}")),
            Err(e) => Err(format!("reading from `{}`: {e}", self.python)),
        }
    }

    /// Runs `sql` over the logs under `root`: the column names and the rows, values as text.
    pub fn query(&mut self, root: &Path, sql: &str) -> Result<Rows, String> {
        let job = json!({
            "root": root.to_str().expect("a UTF-8 temporary path"),
            "database": DATABASE,
            "table": TABLE,
            "events_table": root.join("events-table").is_dir().then_some(EVENTS_TABLE),
            "sql": sql,
        });
        let stdin = self.stdin.as_mut().expect("open until drop");
        writeln!(stdin, "{job}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("writing to `{}`: {e}", self.python))?;
        let answer = self.read_answer()?;
        if let Some(error) = answer.get("error") {
            return Err(format!("DuckDB: {}\n{sql}", error.as_str().unwrap_or("?")));
        }
        let columns =
            serde_json::from_value(answer["columns"].clone()).map_err(|e| e.to_string())?;
        let rows = serde_json::from_value(answer["rows"].clone()).map_err(|e| e.to_string())?;
        Ok((columns, rows))
    }

    /// The usage of `month` according to the query, run over the logs under `root`.
    #[allow(
        dead_code,
        reason = "each test binary compiles the module; events_sql.rs builds its own query"
    )]
    pub fn usage(
        &mut self,
        config: &ValidConfig,
        month: Month,
        root: &Path,
    ) -> Result<Usage, String> {
        let sql = usage_query(config, month, DATABASE, TABLE).expect("access-log meters");
        let (columns, rows) = self.query(root, &sql)?;
        Usage::from_rows(config, month, &columns, rows)
    }
}

impl Drop for DuckDb {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
