"""`metering-gen bill` against DuckDB over the same simulated month of access logs.

    python tests/bench_bill.py METERING_GEN SIMULATE CONTEXT SCRATCH [REQUESTS ...]

SIMULATE is the binary of tools/simulate. For each REQUESTS (default 1000000 10000000;
`1_000_000` is fine too):
1. `SIMULATE --tenants 200 --requests REQUESTS --month 2026-10` writes the logs to
   SCRATCH/sim-REQUESTS (kept and reused while its simulation.json exists);
2. `METERING_GEN bill` bills the month into SCRATCH/inv-REQUESTS: wall time and peak RSS;
3. DuckDB computes per tenant the same de-duplicated requests (earliest copy of each
   requestId, over the folders bill reads, requests of the month only) and their sums, once
   with `SET threads=1` and once with its default thread count: wall time and peak RSS of the
   whole child process (Python, import and query);
4. DuckDB's per-tenant figures must equal the invoices' raw usage (`api_requests`: 2xx on
   `/random/*`; `data_transfer`: bytes of 2xx; `active_users`: distinct users) and the
   simulation's ground truth (requests, bytes, 2xx, users); exit 1 when any differs.

Prints a Markdown table on stdout, progress on stderr. Lines are the lines of the files bill
read (its `read X files, Y lines` report); lines/s divides them by each process's wall time.
Needs the `duckdb` module in the Python that runs this script (build/venv after `make tools`).
Peak RSS is each child process's own `ru_maxrss`, from os.wait4.
"""

import datetime
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

MONTH = "2026-10"
TENANTS = 200
DEFAULT_SIZES = (1_000_000, 10_000_000)
UNASSIGNED = "unassigned"

# The meters of the context that DuckDB's figures are compared with, and what they must be.
EXPECTED_METERS = {
    "api_requests": {"aggregation": "count",
                     "filter": {"resource_paths": ["/random/*"], "status_classes": ["2xx"]}},
    "data_transfer": {"aggregation": "sum_response_bytes", "filter": {"status_classes": ["2xx"]}},
    "active_users": {"aggregation": "unique_users"},
}

# Runs one query in DuckDB and writes {"threads", "seconds", "tenants": {tenant: [...]}}.
DUCKDB_CHILD = r"""
import json, sys, time
job = json.loads(sys.argv[1])
import duckdb
config = {"temp_directory": job["temp_directory"], "preserve_insertion_order": False}
if job["threads"]:
    config["threads"] = job["threads"]
con = duckdb.connect(config=config)
threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
start = time.perf_counter()
rows = con.execute(job["sql"]).fetchall()
seconds = time.perf_counter() - start
with open(job["out"], "w") as f:
    json.dump({"threads": threads, "seconds": seconds, "version": duckdb.__version__,
               "tenants": {r[0]: [int(v) for v in r[1:]] for r in rows}}, f)
"""

COLUMNS = ("requests", "status_2xx", "api_requests", "bytes", "bytes_2xx", "users")


def progress(message):
    print(f"[bench_bill {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_measured(command, stdout_path, stderr_path):
    """Runs `command` to the end: (wall seconds, peak RSS in bytes, exit status)."""
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return wall, usage.ru_maxrss * 1024, child.returncode


def month_bounds(month):
    """(start, end) in epoch milliseconds, end excluded; the next month as (year, month)."""
    year, number = (int(p) for p in month.split("-"))
    following = (year + 1, 1) if number == 12 else (year, number + 1)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

    def ms(y, m):
        t = datetime.datetime(y, m, 1, tzinfo=datetime.timezone.utc)
        return (t - epoch) // datetime.timedelta(milliseconds=1)

    return ms(year, number), ms(*following), (year, number), following


def load_context(path):
    with open(path) as f:
        metering = json.load(f).get("metering")
    if not metering:
        sys.exit(f"{path}: no `metering` section")
    for name, expected in EXPECTED_METERS.items():
        meter = metering.get("meters", {}).get(name)
        got = meter and {k: v for k, v in meter.items() if k != "description"}
        if got != expected:
            sys.exit(f"{path}: meter `{name}` is {got}, this benchmark compares it as {expected}")
    return metering.get("late_arrival_hours", 3)


def duckdb_sql(logs, month, late_arrival_hours):
    """The usage query's rules (crates/metering/src/sql.rs) for the figures compared."""
    start, end, (y, m), (ny, nm) = month_bounds(month)
    # The previous month's last hour folder (metering::PREVIOUS_MONTH_HOURS): Firehose files a
    # buffer that straddles midnight under the hour of its oldest record.
    last = datetime.datetime.fromtimestamp(start / 1000, datetime.timezone.utc) \
        - datetime.timedelta(hours=1)
    files = os.path.join(logs, "*", "*", "*", "*", "*").replace("'", "''")
    columns = ("{'requestId': 'VARCHAR', 'ip': 'VARCHAR', 'user': 'VARCHAR', "
               "'requestTime': 'BIGINT', 'httpMethod': 'VARCHAR', 'resourcePath': 'VARCHAR', "
               "'status': 'INTEGER', 'protocol': 'VARCHAR', 'responseLength': 'BIGINT', "
               "'tenant': 'VARCHAR', 'sub': 'VARCHAR'}")
    ok = "status BETWEEN 200 AND 299"
    return f"""
WITH scanned AS (
  SELECT requesttime, tenant, sub, resourcepath, status, responselength,
    row_number() OVER (PARTITION BY requestid ORDER BY requesttime) AS copy
  FROM read_json('{files}', format='newline_delimited', ignore_errors=true,
    hive_partitioning=true,
    hive_types={{'year': INTEGER, 'month': INTEGER, 'day': INTEGER, 'hour': INTEGER}},
    columns={columns})
  WHERE requestid IS NOT NULL AND requestid NOT IN ('', '-')
    AND requesttime IS NOT NULL
    AND (responselength IS NULL OR responselength >= 0)
    AND ((year = {last.year} AND month = {last.month} AND day = {last.day} AND hour = {last.hour})
      OR (year = {y} AND month = {m})
      OR (year = {ny} AND month = {nm} AND day = 1 AND hour <= {late_arrival_hours - 1}))
),
requests AS (
  SELECT
    CASE WHEN tenant IS NULL OR tenant IN ('', '-') THEN '{UNASSIGNED}' ELSE tenant END AS tenant,
    CASE WHEN sub IN ('', '-') THEN NULL ELSE sub END AS sub,
    resourcepath, status, responselength
  FROM scanned
  WHERE copy = 1 AND requesttime >= {start} AND requesttime < {end}
)
SELECT tenant,
  count(*),
  count_if({ok}),
  count_if({ok} AND (resourcepath = '/random' OR resourcepath LIKE '/random/%')),
  coalesce(sum(responselength), 0),
  coalesce(sum(CASE WHEN {ok} THEN responselength END), 0),
  count(DISTINCT sub)
FROM requests
GROUP BY tenant
ORDER BY tenant
"""


def simulate(simulator, size, sim):
    if os.path.exists(os.path.join(sim, "simulation.json")):
        progress(f"{sim}: reusing the simulated logs")
        return
    if os.path.exists(sim):
        shutil.rmtree(sim)  # an interrupted simulation
    progress(f"simulate --requests {size} --out {sim}")
    start = time.perf_counter()
    subprocess.run([simulator, "--tenants", str(TENANTS), "--requests", str(size),
                    "--month", MONTH, "--out", sim], check=True, stdout=sys.stderr)
    progress(f"simulated in {time.perf_counter() - start:.1f} s")


def invoices_raw(out):
    """Tenant → meter → raw, from the month's invoice files."""
    year, month = MONTH.split("-")
    files = glob.glob(os.path.join(out, f"year={year}", f"month={month}", "tenants", "*.json"))
    if not files:
        sys.exit(f"{out}: no invoice files")
    raw = {}
    for path in files:
        with open(path) as f:
            invoice = json.load(f)
        raw[invoice["tenant"]] = {u["meter"]: u["raw"] for u in invoice["usage"]}
    return raw


def compare(label, figures, invoices, truth):
    """Differences between DuckDB's figures and the invoices and the simulation's truth."""
    problems = []
    for tenant in sorted(set(figures) | set(invoices)):
        f = dict(zip(COLUMNS, figures.get(tenant, [0] * len(COLUMNS))))
        raw = invoices.get(tenant)
        if raw is None:
            problems.append(f"{label}: {tenant}: no invoice, DuckDB has {f}")
            continue
        for meter, column in (("api_requests", "api_requests"), ("data_transfer", "bytes_2xx"),
                              ("active_users", "users")):
            if raw.get(meter) != f[column]:
                problems.append(f"{label}: {tenant}: invoice {meter} raw {raw.get(meter)}, "
                                f"DuckDB {column} {f[column]}")
    for tenant in sorted(set(figures) | set(truth)):
        f = dict(zip(COLUMNS, figures.get(tenant, [0] * len(COLUMNS))))
        t = truth.get(tenant, {})
        for key, column in (("requests", "requests"), ("bytes", "bytes"),
                            ("status_2xx", "status_2xx"), ("subs", "users")):
            if t.get(key, 0) != f[column]:
                problems.append(f"{label}: {tenant}: simulation {key} {t.get(key, 0)}, "
                                f"DuckDB {column} {f[column]}")
    return problems


def bench(binary, simulator, context, scratch, size, late_arrival_hours):
    sim = os.path.join(scratch, f"sim-{size}")
    logs = os.path.join(sim, "json-data")
    out = os.path.join(scratch, f"inv-{size}")
    simulate(simulator, size, sim)
    with open(os.path.join(sim, "simulation.json")) as f:
        truth = json.load(f)["tenants"]

    progress(f"bill --logs {logs}")
    stdout = os.path.join(scratch, f"bill-{size}.out")
    stderr = os.path.join(scratch, f"bill-{size}.err")
    wall, rss, code = run_measured(
        [binary, "bill", "--logs", logs, "--month", MONTH, "--context", context, "--out", out],
        stdout, stderr)
    with open(stderr) as f:
        report = f.read()
    if code != 0:
        sys.exit(f"bill exited with {code}:\n{report}")
    found = re.search(r"read (\d+) files, (\d+) lines", report)
    if not found:
        sys.exit(f"bill did not report what it read:\n{report}")
    files, lines = int(found[1]), int(found[2])
    progress(f"bill: {files} files, {lines} lines in {wall:.2f} s, peak RSS {rss / 1e6:.0f} MB")
    row = {"size": size, "lines": lines, "bill": (wall, rss)}

    invoices = invoices_raw(out)
    sql = duckdb_sql(logs, MONTH, late_arrival_hours)
    problems = []
    temp = tempfile.mkdtemp(prefix="duckdb-", dir=scratch)
    try:
        for label, threads in (("duckdb_1", 1), ("duckdb_all", None)):
            result = os.path.join(scratch, f"{label}-{size}.json")
            job = {"sql": sql, "threads": threads, "out": result, "temp_directory": temp}
            progress(f"DuckDB, threads={threads or 'default'}")
            wall, rss, code = run_measured(
                [sys.executable, "-c", DUCKDB_CHILD, json.dumps(job)],
                os.path.join(scratch, f"{label}-{size}.out"),
                os.path.join(scratch, f"{label}-{size}.err"))
            if code != 0:
                with open(os.path.join(scratch, f"{label}-{size}.err")) as f:
                    sys.exit(f"DuckDB exited with {code}:\n{f.read()}")
            with open(result) as f:
                answer = json.load(f)
            progress(f"DuckDB {answer['version']}, {answer['threads']} threads: {wall:.2f} s "
                     f"(query {answer['seconds']:.2f} s), peak RSS {rss / 1e6:.0f} MB")
            row[label] = (wall, rss, answer["threads"])
            problems += compare(f"{size} {label}", answer["tenants"], invoices, truth)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return row, problems


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    binary, simulator = os.path.abspath(argv[0]), os.path.abspath(argv[1])
    context, scratch = argv[2], os.path.abspath(argv[3])
    sizes = [int(a) for a in argv[4:]] or list(DEFAULT_SIZES)
    try:
        import duckdb  # noqa: F401  (the children import it; fail early here)
    except ImportError:
        sys.exit(f"{sys.executable} has no duckdb module: "
                 "run `make tools` and use build/venv/bin/python")
    late_arrival_hours = load_context(context)
    os.makedirs(scratch, exist_ok=True)
    rows, problems = [], []
    for size in sizes:
        row, found = bench(binary, simulator, context, scratch, size, late_arrival_hours)
        rows.append(row)
        problems += found

    def rate(lines, wall):
        return f"{lines / wall:,.0f}"

    def mb(rss):
        return f"{rss / 1e6:,.0f}"

    threads = rows[0]["duckdb_all"][2]
    print(f"`metering-gen bill` and DuckDB over `simulate --tenants {TENANTS} --month {MONTH}` "
          f"({os.cpu_count()} CPUs; DuckDB all threads = {threads})\n")
    print("| requests | lines | bill lines/s | bill peak RSS MB "
          "| DuckDB 1 thread lines/s | DuckDB 1 thread peak RSS MB "
          "| DuckDB all threads lines/s | DuckDB all threads peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cells = [f"{r['size']:,}", f"{r['lines']:,}"]
        for key in ("bill", "duckdb_1", "duckdb_all"):
            cells += [rate(r["lines"], r[key][0]), mb(r[key][1])]
        print("| " + " | ".join(cells) + " |")
    if problems:
        print(f"\n{len(problems)} differences:", file=sys.stderr)
        for p in problems[:50]:
            print(f"  {p}", file=sys.stderr)
        return 1
    progress("DuckDB's per-tenant figures equal the invoices' and the simulation's")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
