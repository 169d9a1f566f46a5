"""`make demo`: the invoiced request count against the simulation's ground truth.

    python3 tests/demo_check.py SIMULATION_JSON BILL_OUTPUT

SIMULATION_JSON is what `simulate` (tools/simulate) wrote: `requests` counts the month's
distinct requests, those in the file that straddles the month's start (filed under the
previous month's last hour) and in the late files included; `previous_month_lines` counts the
previous month's records in the straddling file. BILL_OUTPUT is what `metering-gen bill` printed: its
`… N outside the month, M requests billed` line gives the requests the invoices were computed
from. Prints one line comparing them; exits 1 when they differ.
"""

import json
import re
import sys


def main(simulation_path, bill_path):
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
    return 0 if equal else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
