"""`make demo`: the invoiced requests and tokens against the simulation's ground truth.

    python3 tests/demo_check.py SIMULATION_JSON BILL_OUTPUT [INVOICES_FOLDER]

SIMULATION_JSON is what `simulate` (tools/simulate) wrote: `requests` counts the month's
distinct requests, those in the file that straddles the month's start (filed under the
previous month's last hour) and in the late files included; `previous_month_lines` counts the
previous month's records in the straddling file. BILL_OUTPUT is what `metering-gen bill` printed: its
`… N outside the month, M requests billed` line gives the requests the invoices were computed
from. Prints one line comparing them; exits 1 when they differ.

With INVOICES_FOLDER (the month's folder of invoices, holding `tenants/<tenant>.json`) and a
simulation that wrote usage events, it also compares the `… events billed` count of bill's
usage-events line with the simulation's events of the month, and each tenant's `tokens` meter
with the tokens the simulation generated for it, as exact decimals.
"""

import json
import os
import re
import sys
from decimal import Decimal


def check_tokens(truth, report, invoices_path):
    found = re.search(r"usage events: .*?, (\d+) events billed", report)
    if not found:
        print("usage events: no `… events billed` line from bill")
        return False
    billed = int(found.group(1))
    tenants_equal = []
    for tenant, facts in sorted(truth["tenants"].items()):
        with open(os.path.join(invoices_path, "tenants", f"{tenant}.json")) as f:
            invoice = json.load(f, parse_float=Decimal)
        tokens = [u for u in invoice["usage"] if u["meter"] == "tokens"]
        invoiced = Decimal(tokens[0]["quantity"]) if tokens else None
        tenants_equal.append(invoiced == Decimal(facts["tokens"]))
        if invoiced != Decimal(facts["tokens"]):
            print(f"{tenant}: {facts['tokens']} tokens generated, {invoiced} invoiced")
    equal = billed == truth["events"] and all(tenants_equal)
    print(
        f"ground truth: {truth['events']} usage events of the month, tokens of "
        f"{len(tenants_equal)} tenants; invoiced: {billed} events billed, "
        f"{sum(tenants_equal)} tenants' tokens equal: {'equal' if equal else 'DIFFERENT'}"
    )
    return equal


def main(simulation_path, bill_path, invoices_path=None):
    with open(simulation_path) as f:
        truth = json.load(f)
    with open(bill_path) as f:
        report = f.read()
    found = re.search(r"(\d+) outside the month, (\d+) requests billed", report)
    if not found:
        sys.exit(f"{bill_path}: no `… outside the month, … requests billed` line from bill")
    outside, billed = int(found.group(1)), int(found.group(2))
    equal = billed == truth["requests"] and outside == truth["previous_month_lines"]
    print(
        f"ground truth: {truth['requests']} requests, {truth['previous_month_lines']} records "
        f"of the previous month ({simulation_path}; {len(truth['straddling_files'])} file "
        f"straddling the month's start, {len(truth['late_files'])} late files); invoiced: "
        f"{billed} requests billed, {outside} records outside the month: "
        f"{'equal' if equal else 'DIFFERENT'}"
    )
    if invoices_path is not None and "events" in truth:
        equal = check_tokens(truth, report, invoices_path) and equal
    return 0 if equal else 1


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
