#!/usr/bin/env bash
# Benchmark: `s3bridge verify` against `rclone check` on 5,000 objects (50 prefixes ×
# 100 × 1 KiB) in two buckets of a local garage S3 server, in the same run, REPS rounds
# interleaved; the destination misses 5 objects, has 3 with other bytes of the same
# size and 2 extra, so both tools must find something. Target (issue 5): s3bridge's
# median wall time <= 0.7 × rclone's (rclone's faster mode, with or without --fast-list).
#
#   bench/verify-live.sh [REPS]     (default 5)
#
# Pinned tools: garage 2.5.0 (bench/lib/garage.sh: reuses a built binary or builds it
# with cargo install), rclone from Debian (apt-get install rclone; Debian 12: 1.60.1),
# s3bridge release build of this tree. garage runs on core 0, the clients on core 1.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-5}
WORK=$PWD/bench/work
mkdir -p "$WORK"
. bench/lib/garage.sh
command -v rclone >/dev/null || { apt-get update -qq && apt-get install -y -qq rclone >/dev/null; }
cargo build --release --locked --quiet
S3BRIDGE=$PWD/target/release/s3bridge

garage_start "$WORK/garage-verify"
garage_bucket vsrc
garage_bucket vdst

data=$WORK/verify-live-data
if [ "$(find "$data" -type f 2>/dev/null | wc -l)" != 5000 ]; then
  rm -rf "$data"
  for p in $(seq -w 0 49); do
    mkdir -p "$data/prefix-$p"
    for i in $(seq -w 0 99); do head -c 1024 /dev/urandom >"$data/prefix-$p/object-$i.bin"; done
  done
fi
rclone copy --transfers 32 "$data" garage:vsrc
rclone copy --transfers 32 "$data" garage:vdst
for i in 00 01 02 03 04; do rclone deletefile "garage:vdst/prefix-07/object-$i.bin"; done
for i in 10 11 12; do
  head -c 1024 /dev/urandom >"$WORK/other.bin"
  rclone copyto "$WORK/other.bin" "garage:vdst/prefix-20/object-$i.bin"
done
for i in 1 2; do rclone copyto "$WORK/other.bin" "garage:vdst/prefix-30/extra-$i.bin"; done

export S3BRIDGE WORK REPS
python3 - <<'EOF'
import json, os, statistics, subprocess, time

reps = int(os.environ["REPS"])
endpoint = os.environ["GARAGE_ENDPOINT"]
commands = {
    "s3bridge verify": [
        "taskset", "-c", "1", os.environ["S3BRIDGE"], "verify", "s3://vsrc", "s3://vdst",
        "--endpoint-url", endpoint, "--source-region", "garage", "--destination-region", "garage",
        "--format", "json",
    ],
    "rclone check": ["taskset", "-c", "1", "rclone", "check", "garage:vsrc", "garage:vdst"],
    "rclone check --fast-list": [
        "taskset", "-c", "1", "rclone", "check", "--fast-list", "garage:vsrc", "garage:vdst",
    ],
}
times = {name: [] for name in commands}
outputs = {}
for _ in range(reps):
    for name, command in commands.items():
        start = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True)
        times[name].append(time.monotonic() - start)
        outputs[name] = done
summary = json.loads(outputs["s3bridge verify"].stdout)
expected = {"match": 4992, "missing": 5, "extra": 2, "size_mismatch": 0, "content_mismatch": 3, "unverified": 0}
print(f"rclone: {subprocess.run(['rclone', 'version'], capture_output=True, text=True).stdout.splitlines()[0]}")
print(f"s3bridge classes: {json.dumps(summary['classes'])} (exit {outputs['s3bridge verify'].returncode})")
print(f"s3bridge requests: {json.dumps(summary['requests'])}")
rclone_tail = outputs["rclone check"].stderr.strip().splitlines()[-5:]
print("rclone check says: " + " | ".join(line.split(": ", 1)[-1] for line in rclone_tail))
medians = {name: statistics.median(t) for name, t in times.items()}
for name, t in times.items():
    print(f"{name:26} median {medians[name]:.3f} s  (runs: {', '.join(f'{x:.3f}' for x in t)})")
best_rclone = min(medians["rclone check"], medians["rclone check --fast-list"])
ratio = medians["s3bridge verify"] / best_rclone
print(f"s3bridge / best rclone: {ratio:.2f} (target <= 0.70: {'met' if ratio <= 0.7 else 'MISSED'})")
ok = summary["classes"] == expected and outputs["s3bridge verify"].returncode == 1
print(f"check classes and exit code: {'ok' if ok else 'FAILED'}")
import sys
sys.path.insert(0, "bench/lib")
from results import result
result("verify live", "classes and exit code as planted (5,000 objects on garage)",
       "correct" if ok else f"WRONG: {json.dumps(summary['classes'])}", ok)
result("verify live", "wall <= 0.70x best rclone check (median)",
       f"{ratio:.2f}x ({medians['s3bridge verify']:.3f} s vs {best_rclone:.3f} s)", ratio <= 0.7)
raise SystemExit(0 if ok else 1)
EOF
