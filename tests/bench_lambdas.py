#!/usr/bin/env python3
"""`make bench`: zip sizes against their goals, and cold start + handler time of every bootstrap.

random-strings answers API Gateway events; compaction compacts one hour against moto's
S3 and Athena on 127.0.0.1 (moto runs no SQL: the handler time is the function's own work and
its AWS round trips, each a local HTTP call). Every invocation re-runs the same hour, which is
also the idempotent path: list, count, clear the Parquet folder, drop, CTAS, drop. billing
bills one month of 200 tenants (a usage result queued in moto's Athena) with the context's
plans, writing and replacing 201 invoice files each time.

Usage: bench_lambdas.py TREE MOTO_PYTHON CONTEXT   (run with MOTO_PYTHON, which has boto3;
CONTEXT has a `metering` section)
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import boto3

HERE = Path(__file__).resolve().parent
GOALS = {"random-strings.zip": 1_500_000, "compaction.zip": 4_000_000,
         "billing.zip": 4_000_000}
HOUR = "2026-11-01T05"
INVOCATIONS = {"random-strings": 1000, "compaction": 20, "billing": 20}
BILLED_MONTH = "2026-10"
BILLED_TENANTS = 200


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench(name, bootstrap, event, n, env):
    event_file = bootstrap.with_suffix(".event.json")
    event_file.write_text(json.dumps(event))
    out = subprocess.run(
        [sys.executable, HERE / "bench_lambda.py", name, bootstrap, event_file, str(n)]
        + [f"{k}={v}" for k, v in env.items()],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)


def start_moto(python):
    port = free_port()
    proc = subprocess.Popen(
        [python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto did not start")


def moto_post(url, path, body):
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request).read()


def athena_result(rows):
    cell = lambda v: {"VarCharValue": v}
    return {
        "rows": [{"Data": [cell(v) for v in row]} for row in rows],
        "column_info": [{"Name": n, "Label": n, "Type": "bigint"} for n in rows[0]] if rows else [],
    }


def compaction_setup(url, n):
    aws = dict(region_name="us-east-1", endpoint_url=url,
               aws_access_key_id="bench", aws_secret_access_key="bench")
    s3 = boto3.client("s3", **aws)
    for bucket in ("bench-data", "bench-results"):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    folder = "json-data/year=2026/month=11/day=01/hour=05"
    for i in range(12):
        s3.put_object(Bucket="bench-data", Key=f"{folder}/part-{i}.json", Body=b'{"requestId":"r"}\n')
    boto3.client("athena", **aws).create_work_group(
        Name="bench",
        Configuration={"ResultConfiguration": {"OutputLocation": "s3://bench-results/"}},
    )
    # Each run starts four queries; the first (the count) is read back.
    results = []
    for _ in range(n):
        results.append(athena_result([["rows_in", "rows_out"], ["1200", "1188"]]))
        results.extend(athena_result([]) for _ in range(3))
    moto_post(url, "/moto-api/static/athena/query-results",
              {"account_id": "123456789012", "region": "us-east-1", "results": results})
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "OLD_DATABASE": "bench", "OLD_TABLE_NAME": "json",
        "NEW_DATABASE": "bench", "NEW_TABLE_NAME": "parquet",
        "COLUMN_NAMES": "requestId,ip,user,requestTime,httpMethod,resourcePath,status,protocol,responseLength",
        "ATHENA_WORK_GROUP": "bench",
        "OLD_TABLE_LOCATION_PREFIX": "s3://bench-data/json-data",
        "OUTPUT_PREFIX": "s3://bench-data/parquet-data",
        "STAGING_OUTPUT_PREFIX": "s3://bench-results/compaction",
        "REGION_NAME": "us-east-1",
    }


def billing_setup(url, n, context):
    """The config object of `context`'s metering section, and per run one usage result of
    BILLED_TENANTS tenants: each run prices them and writes their invoices to moto's S3."""
    aws = dict(region_name="us-east-1", endpoint_url=url,
               aws_access_key_id="bench", aws_secret_access_key="bench")
    s3 = boto3.client("s3", **aws)
    for bucket in ("bill-data", "bill-results"):
        s3.create_bucket(Bucket=bucket)
    metering = json.loads(Path(context).read_text())["metering"]
    config = {k: metering[k] for k in ("late_arrival_hours", "meters", "pricing") if k in metering}
    # The access log's meters only: this function is benchmarked without an events table,
    # and refuses a config with an events meter then (Billing.EventsNotDeployed).
    for name in [n for n, m in config["meters"].items() if m.get("source") == "events"]:
        del config["meters"][name]
        for plan in config["pricing"]["plans"].values():
            plan.get("charges", {}).pop(name, None)
    s3.put_object(Bucket="bill-data", Key="config/metering.json", Body=json.dumps(config).encode())
    boto3.client("athena", **aws).create_work_group(
        Name="bill",
        Configuration={"ResultConfiguration": {"OutputLocation": "s3://bill-results/"}},
    )
    meters = sorted(config["meters"])
    rows = [["tenant"] + meters]
    rows += [[f"tenant-{i:04}"] + [str((i * 7919 + j * 104729) % 5_000_000) for j in range(len(meters))]
             for i in range(1, BILLED_TENANTS + 1)]
    moto_post(url, "/moto-api/static/athena/query-results",
              {"account_id": "123456789012", "region": "us-east-1",
               "results": [athena_result(rows) for _ in range(n)]})
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "us-east-1",
        "ATHENA_WORK_GROUP": "bill",
        "USAGE_DATABASE": "bench",
        "USAGE_TABLE": "parquet",
        "METERING_CONFIG_URI": "s3://bill-data/config/metering.json",
        "INVOICES_BUCKET": "bill-data",
        "INVOICES_PREFIX": "invoices/",
    }


def main():
    tree, moto_python, context = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    work = tree / "bench-bootstraps"
    work.mkdir(exist_ok=True)
    print("Lambda zips:")
    bootstraps = {}
    for name, goal in GOALS.items():
        zip_path = tree / "artifacts" / name
        size = zip_path.stat().st_size
        verdict = "within" if size <= goal else "OVER"
        print(f"  {name:<24} {size:>10,} bytes   goal <= {goal:,}: {verdict}")
        bootstrap = work / name.removesuffix(".zip")
        bootstrap.write_bytes(zipfile.ZipFile(zip_path).read("bootstrap"))
        bootstrap.chmod(0o755)
        bootstraps[name.removesuffix(".zip")] = bootstrap

    api_event = {
        "resource": "/random/strings", "path": "/random/strings", "httpMethod": "GET",
        "headers": {}, "multiValueHeaders": {},
        "queryStringParameters": {"chars": "letters", "num": "10", "len": "12"},
        "multiValueQueryStringParameters": {"chars": ["letters"], "num": ["10"], "len": ["12"]},
        "requestContext": {"accountId": "123456789012", "resourceId": "r", "stage": "prod",
                           "requestId": "bench", "identity": {"sourceIp": "127.0.0.1"},
                           "resourcePath": "/random/strings", "httpMethod": "GET", "apiId": "a"},
        "body": None, "isBase64Encoded": False,
    }
    results = [bench("random-strings", bootstraps["random-strings"], api_event,
                     INVOCATIONS["random-strings"], {})]
    moto, url = start_moto(moto_python)
    try:
        n = INVOCATIONS["compaction"]
        env = compaction_setup(url, n)
        results.append(bench("compaction", bootstraps["compaction"],
                             {"hour": HOUR}, n, env))
        n = INVOCATIONS["billing"]
        env = billing_setup(url, n, context)
        results.append(bench("billing", bootstraps["billing"], {"month": BILLED_MONTH}, n, env))
    finally:
        moto.kill()
        moto.wait()
    print("Lambda bootstraps (local Runtime API stand-in on 127.0.0.1):")
    print(f"  {'function':<20} {'cold start to first poll':>26} {'invocations':>12} "
          f"{'first handler':>14} {'handler median':>15} {'handler p90':>12}")
    for r in results:
        print(f"  {r['function']:<20} {r['cold_start_to_first_poll_ms']:>23.2f} ms "
              f"{r['invocations']:>12} {r['first_handler_ms']:>11.3f} ms "
              f"{r['handler_ms_median']:>12.3f} ms {r['handler_ms_p90']:>9.3f} ms")


if __name__ == "__main__":
    main()
