"""Median wall time of one `metering-gen` command line, run as a whole process."""
import statistics
import subprocess
import sys
import time

RUNS = 21
command = sys.argv[1:]
times = []
for _ in range(RUNS):
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    times.append(time.perf_counter() - start)
print(f"{' '.join(command)}: median {statistics.median(times) * 1000:.1f} ms over {RUNS} runs")
