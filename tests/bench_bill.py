"""`metering-gen bill` against DuckDB over the same simulated month of access logs.

    python tests/bench_bill.py METERING_GEN SIMULATE CONTEXT SCRATCH [REQUESTS ...] [--runs N]
        [--daily]

SIMULATE is the binary of tools/simulate. For each REQUESTS (default 1000000 10000000;
`1_000_000` is fine too):
1. `SIMULATE --tenants 200 --requests REQUESTS --month 2026-10` writes the logs to
   SCRATCH/sim-REQUESTS (kept and reused while its simulation.json exists): one file per
   5-minute Firehose buffer. With `--daily`, the same lines are also laid out as one file
   per day of the month (the folders at the window's edges kept as they are) in
   SCRATCH/daily-REQUESTS, and both layouts are measured;
2. `METERING_GEN bill` bills the month into SCRATCH/inv-REQUESTS on all its threads: wall
   time and peak RSS;
3. DuckDB runs two queries, each once with `SET threads=1` and once with its default thread
   count; wall time and peak RSS of the whole child process (Python, import and query):
   - the usage rules: per tenant the same de-duplicated requests as bill (earliest copy of
     each requestId, over the folders bill reads, requests of the month only) and their
     sums, users and filtered counts;
   - the plain query a user would write first: `read_json` of every file, `DISTINCT ON
     (requestId)` keeping the earliest copy, the month's request times, per tenant the count
     and the byte sum;
4. the usage rules' per-tenant figures must equal the invoices' raw usage (`api_requests`:
   2xx on `/random/*`; `data_transfer`: bytes of 2xx; `active_users`: distinct users) and
   the simulation's ground truth (requests, bytes, 2xx, users); the plain query's must equal
   the simulation's requests and bytes (its missing tenants read as `unassigned`; the
   simulation writes no file outside the window's folders); exit 1 when any differs.

With `--runs N` (default 1) every measurement is repeated N times, interleaved (bill, then
each DuckDB query and thread count, then again), and the table shows medians.

Prints a Markdown table on stdout, progress on stderr. Lines are the lines of the files bill
read (its `read X files, Y lines` report); lines/s divides them by each process's wall time;
the last column is bill's lines/s divided by that row's, so the DuckDB rows with 2 threads
give bill's throughput relative to DuckDB on both cores.
Needs the `duckdb` module in the Python that runs this script (build/venv after `make tools`).
Peak RSS is each child process's own `ru_maxrss`, from os.wait4.
"""

import datetime
import glob
import json
import os
import re
import shutil
import statistics
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


def load_context(path, scratch):
    """The late-arrival hours, and the context with its access-log meters only, written to
    SCRATCH: this benchmark measures the access-log path only (usage events are not
    benchmarked yet), and `bill` refuses an events meter without `--events`."""
    with open(path) as f:
        context = json.load(f)
    metering = context.get("metering")
    if not metering:
        sys.exit(f"{path}: no `metering` section")
    for name, expected in EXPECTED_METERS.items():
        meter = metering.get("meters", {}).get(name)
        got = meter and {k: v for k, v in meter.items() if k != "description"}
        if got != expected:
            sys.exit(f"{path}: meter `{name}` is {got}, this benchmark compares it as {expected}")
    events = [n for n, m in metering["meters"].items() if m.get("source") == "events"]
    for name in events:
        del metering["meters"][name]
        for plan in metering.get("pricing", {}).get("plans", {}).values():
            plan.get("charges", {}).pop(name, None)
    access_logs_only = os.path.join(scratch, "context-access-logs.json")
    with open(access_logs_only, "w") as f:
        json.dump(context, f, indent=2)
    return metering.get("late_arrival_hours", 3), access_logs_only


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


def plain_sql(logs, month):
    """The count/sum query a user would write first over the same files."""
    start, end, _, _ = month_bounds(month)
    files = os.path.join(logs, "*", "*", "*", "*", "*").replace("'", "''")
    return f"""
SELECT tenant, count(*), coalesce(sum(responseLength), 0)
FROM (
  SELECT DISTINCT ON (requestId) requestId, requestTime, tenant, responseLength
  FROM read_json('{files}', format='newline_delimited', ignore_errors=true)
  ORDER BY requestId, requestTime
)
WHERE requestTime >= {start} AND requestTime < {end}
GROUP BY tenant
ORDER BY tenant
"""


def lay_out_daily(logs, daily):
    """The files of `logs` as one file per day of the month (path order kept), in `daily`;
    the previous month's and the next month's folders as they are."""
    if os.path.exists(os.path.join(daily, "done")):
        progress(f"{daily}: reusing the daily layout")
        return
    shutil.rmtree(daily, ignore_errors=True)
    groups = {}
    for path in sorted(glob.glob(os.path.join(logs, "*", "*", "*", "*", "*"))):
        year, month, day, hour, _ = os.path.relpath(path, logs).split(os.sep)
        inside = (year, month) == (f"year={MONTH[:4]}", f"month={MONTH[5:]}")
        key = (year, month, day, "hour=00" if inside else hour)
        groups.setdefault(key, []).append(path)
    for key, paths in groups.items():
        folder = os.path.join(daily, "json-data", *key)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "part-0"), "wb") as out:
            for path in paths:
                with open(path, "rb") as f:
                    shutil.copyfileobj(f, out)
    open(os.path.join(daily, "done"), "w").close()
    progress(f"{daily}: {len(groups)} files")


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


def compare_plain(label, figures, truth):
    """Differences between the plain query's counts and sums and the simulation's truth."""
    got = {}
    for tenant, (requests, total) in figures.items():
        # The child writes a NULL tenant's key as "null".
        name = UNASSIGNED if tenant in ("null", "", "-") else tenant
        count, summed = got.get(name, (0, 0))
        got[name] = (count + requests, summed + total)
    problems = []
    for tenant in sorted(set(got) | set(truth)):
        t = truth.get(tenant, {})
        want = (t.get("requests", 0), t.get("bytes", 0))
        if got.get(tenant, (0, 0)) != want:
            problems.append(f"{label}: {tenant}: simulation (requests, bytes) {want}, "
                            f"DuckDB {got.get(tenant)}")
    return problems


# What each DuckDB measurement runs: (key, label, query, threads; None: DuckDB's default).
DUCKDB_RUNS = (
    ("plain_1", "plain query", "plain", 1),
    ("plain_all", "plain query", "plain", None),
    ("rules_1", "usage rules", "rules", 1),
    ("rules_all", "usage rules", "rules", None),
)


def run_bill(binary, context, logs, out, scratch, name):
    stdout = os.path.join(scratch, f"bill-{name}.out")
    stderr = os.path.join(scratch, f"bill-{name}.err")
    wall, rss, code = run_measured(
        [binary, "bill", "--logs", logs, "--month", MONTH, "--context", context, "--out", out],
        stdout, stderr)
    with open(stderr) as f:
        report = f.read()
    if code != 0:
        sys.exit(f"bill exited with {code}:\n{report}")
    found = re.search(r"read (\d+) files, (\d+) lines \((\d+) bytes\)", report)
    if not found:
        sys.exit(f"bill did not report what it read:\n{report}")
    files, lines, size = (int(g) for g in found.groups())
    progress(f"bill: {files} files, {lines} lines in {wall:.2f} s, peak RSS {rss / 1e6:.0f} MB")
    return wall, rss, files, lines, size


def run_duckdb(sql, threads, scratch, name, temp):
    result = os.path.join(scratch, f"duckdb-{name}.json")
    job = {"sql": sql, "threads": threads, "out": result, "temp_directory": temp}
    wall, rss, code = run_measured(
        [sys.executable, "-c", DUCKDB_CHILD, json.dumps(job)],
        os.path.join(scratch, f"duckdb-{name}.out"),
        os.path.join(scratch, f"duckdb-{name}.err"))
    if code != 0:
        with open(os.path.join(scratch, f"duckdb-{name}.err")) as f:
            sys.exit(f"DuckDB exited with {code}:\n{f.read()}")
    with open(result) as f:
        answer = json.load(f)
    progress(f"DuckDB {answer['version']}, {answer['threads']} threads: {wall:.2f} s "
             f"(query {answer['seconds']:.2f} s), peak RSS {rss / 1e6:.0f} MB")
    return wall, rss, answer


def bench(binary, context, scratch, size, layout, logs, truth, late_arrival_hours, runs):
    """Medians of `runs` interleaved runs of bill and of each DuckDB measurement."""
    name = f"{layout}-{size}"
    out = os.path.join(scratch, f"inv-{name}")
    queries = {"rules": duckdb_sql(logs, MONTH, late_arrival_hours),
               "plain": plain_sql(logs, MONTH)}
    samples = {key: [] for key in ["bill"] + [r[0] for r in DUCKDB_RUNS]}
    row = {"size": size, "layout": layout, "threads": {}}
    problems = []
    temp = tempfile.mkdtemp(prefix="duckdb-", dir=scratch)
    try:
        for run in range(runs):
            progress(f"{layout} layout, run {run + 1} of {runs}: bill --logs {logs}")
            wall, rss, row["files"], row["lines"], row["bytes"] = run_bill(
                binary, context, logs, out, scratch, name)
            samples["bill"].append((wall, rss))
            invoices = invoices_raw(out)
            for key, label, query, threads in DUCKDB_RUNS:
                progress(f"DuckDB {label}, threads={threads or 'default'}")
                wall, rss, answer = run_duckdb(queries[query], threads, scratch,
                                               f"{name}-{key}", temp)
                samples[key].append((wall, rss))
                row["threads"][key] = answer["threads"]
                if query == "rules":
                    problems += compare(f"{name} {key}", answer["tenants"], invoices, truth)
                else:
                    problems += compare_plain(f"{name} {key}", answer["tenants"], truth)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    for key, values in samples.items():
        row[key] = (statistics.median(v[0] for v in values),
                    statistics.median(v[1] for v in values))
    return row, problems


def parse_args(argv):
    positional, runs, daily = [], 1, False
    args = iter(argv)
    for arg in args:
        if arg == "--runs":
            runs = int(next(args, "0"))
        elif arg == "--daily":
            daily = True
        else:
            positional.append(arg)
    if len(positional) < 4 or runs < 1:
        sys.exit(__doc__)
    return positional, runs, daily


def main(argv):
    positional, runs, daily = parse_args(argv)
    binary, simulator = os.path.abspath(positional[0]), os.path.abspath(positional[1])
    context, scratch = positional[2], os.path.abspath(positional[3])
    sizes = [int(a) for a in positional[4:]] or list(DEFAULT_SIZES)
    try:
        import duckdb  # noqa: F401  (the children import it; fail early here)
    except ImportError:
        sys.exit(f"{sys.executable} has no duckdb module: "
                 "run `make tools` and use build/venv/bin/python")
    os.makedirs(scratch, exist_ok=True)
    late_arrival_hours, context = load_context(context, scratch)
    rows, problems = [], []
    for size in sizes:
        sim = os.path.join(scratch, f"sim-{size}")
        simulate(simulator, size, sim)
        with open(os.path.join(sim, "simulation.json")) as f:
            truth = json.load(f)["tenants"]
        layouts = [("simulated", os.path.join(sim, "json-data"))]
        if daily:
            lay_out_daily(os.path.join(sim, "json-data"), os.path.join(scratch, f"daily-{size}"))
            layouts.append(("daily", os.path.join(scratch, f"daily-{size}", "json-data")))
        for layout, logs in layouts:
            row, found = bench(binary, context, scratch, size, layout, logs, truth,
                               late_arrival_hours, runs)
            rows.append(row)
            problems += found

    def rate(lines, wall):
        return f"{lines / wall:,.0f}"

    def mb(rss):
        return f"{rss / 1e6:,.0f}"

    threads = rows[0]["threads"]["plain_all"]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"`metering-gen bill` and DuckDB over `simulate --tenants {TENANTS} --month {MONTH}` "
          f"({cpus} CPUs available; DuckDB default threads = {threads}; median of {runs} "
          "runs)\n")
    print("| logs | lines | what | lines/s | peak RSS MB | bill's lines/s ÷ this |")
    print("|---|---:|---|---:|---:|---:|")
    for r in rows:
        files = (f"{r['size']:,} requests, {r['files']:,} files ({r['layout']}), "
                 f"{r['bytes'] / 1e6:,.0f} MB")
        bill_rate = r["lines"] / r["bill"][0]
        entries = [("`metering-gen bill`", "bill")] + [
            (f"DuckDB {label}, {r['threads'][key]} thread{'s' if r['threads'][key] != 1 else ''}",
             key) for key, label, _, _ in DUCKDB_RUNS]
        for i, (what, key) in enumerate(entries):
            wall, rss = r[key]
            ratio = bill_rate / (r["lines"] / wall)
            first = [files, f"{r['lines']:,}"] if i == 0 else ["", ""]
            print("| " + " | ".join(first + [what, rate(r["lines"], wall), mb(rss),
                                             f"{ratio:.2f}"]) + " |")
    if problems:
        print(f"\n{len(problems)} differences:", file=sys.stderr)
        for p in problems[:50]:
            print(f"  {p}", file=sys.stderr)
        return 1
    progress("DuckDB's per-tenant figures equal the invoices' and the simulation's")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
