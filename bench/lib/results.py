"""The result lines bench/all.sh gathers into its table, from a benchmark's Python part:
result(section, target, measured, ok) appends `SECTION TARGET MEASURED met|missed`
(tab-separated) to $BENCH_RESULTS when that is set; bench/lib/results.sh is the shell twin.
"""

import os


def result(section, target, measured, ok):
    path = os.environ.get("BENCH_RESULTS")
    if path:
        status = ok if isinstance(ok, str) else ("met" if ok else "missed")
        with open(path, "a") as f:
            f.write(f"{section}\t{target}\t{measured}\t{status}\n")
