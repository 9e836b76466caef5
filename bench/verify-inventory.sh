#!/usr/bin/env bash
# Benchmark: s3bridge verify over two generated S3 Inventory reports (CSV, gzip) with
# known differences, against merely decompressing the same files (`zcat ... | wc -l`)
# in the same run. Checks the counts, reports keys/s, wall time and peak RSS.
#
# Targets (issue 5): correct counts; >= 2M keys/s; <= 64 MB peak RSS; faster than zcat.
#
#   bench/verify-inventory.sh            # 10M rows per side, 8 data files per side
#   ROWS=1000000 bench/verify-inventory.sh
#
# S3BRIDGE=/path/to/s3bridge measures that binary instead of this tree's release build;
# RUN_WITH="python3 bench/lib/thp.py off" runs it under a command prefix.
# Data is generated once into bench/work/inventory-ROWS-FILES/ (git-ignored; about
# 0.6 GB for 10M rows) and reused. Needs python3, gzip (zcat), GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-10000000}
FILES=${FILES:-8}
data=bench/work/inventory-$ROWS-$FILES
if [ ! -f "$data/expected.json" ]; then
  echo "generating $ROWS rows per side into $data (once)" >&2
  rm -rf "$data"
  mkdir -p "$data"
  python3 bench/gen-inventory.py "$data" "$ROWS" "$FILES"
fi
# S3BRIDGE=path measures another build (say, a saved one from before a change).
if [ -z "${S3BRIDGE:-}" ]; then cargo build --release --locked --quiet; fi
bin=${S3BRIDGE:-target/release/s3bridge}
source_manifest=$data/bench-source/bench/2024-03-15T10-00Z/manifest.json
destination_manifest=$data/bench-destination/bench/2024-03-15T10-00Z/manifest.json
files=$(ls "$data"/bench-*/bench/data/*.csv.gz)
compressed=$(du -cb $files | tail -1 | cut -f1)

# Warm the page cache so both commands read from memory.
cat $files >/dev/null

start=$(date +%s.%N)
zcat_rows=$(zcat $files | wc -l)
zcat_seconds=$(echo "$(date +%s.%N) - $start" | bc)

out=$(mktemp -d)
fake_pid=
trap 'rm -rf "$out"; [ -z "$fake_pid" ] || kill "$fake_pid" 2>/dev/null' EXIT
# No S3 request is made when every pair is settled from the inventories; the endpoint
# only keeps the clients away from AWS and answers verify's reachability probe (a TCP
# connect). It is the listing-only fake server: were verify to list the buckets after
# all, it would find them empty and the classes check below would fail.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 bench/fake_list_server.py "$port" &
fake_pid=$!
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break
  sleep 0.1
done
# shellcheck disable=SC2086 # RUN_WITH is a command prefix, split into words on purpose.
/usr/bin/time -f '%e %M' -o "$out/time" ${RUN_WITH:-} "$bin" verify s3://bench-source s3://bench-destination \
  --source-inventory "$source_manifest" --destination-inventory "$destination_manifest" \
  --endpoint-url "http://127.0.0.1:$port" --source-region us-east-1 --destination-region us-east-1 \
  --format json --report "$out/report.csv" >"$out/summary.json" 2>"$out/stderr" || status=$?
status=${status:-0}
read -r wall rss_kb < <(tail -1 "$out/time")

python3 - "$data/expected.json" "$out/summary.json" "$out/report.csv" "$status" "$wall" "$rss_kb" \
  "$zcat_rows" "$zcat_seconds" "$compressed" "$(nproc)" <<'EOF'
import csv, json, sys
expected = json.load(open(sys.argv[1]))
summary = json.load(open(sys.argv[2]))
status, wall, rss_kb = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
zcat_rows, zcat_seconds, compressed, cores = int(sys.argv[7]), float(sys.argv[8]), int(sys.argv[9]), sys.argv[10]
rows = expected["source_rows"] + expected["destination_rows"]
report_lines = sum(1 for _ in open(sys.argv[3])) - 1
non_matching = sum(v for k, v in expected["classes"].items() if k != "match")
checks = {
    "classes": summary["classes"] == expected["classes"],
    "objects": summary["source"]["objects"] == expected["source_rows"]
    and summary["destination"]["objects"] == expected["destination_rows"],
    "report": report_lines == non_matching,
    "exit code 1": status == 1,
    "zcat rows": zcat_rows == rows,
}
keys_per_s = rows / wall
zcat_per_s = zcat_rows / zcat_seconds
print(f"rows: {rows:,} ({expected['source_rows']:,} + {expected['destination_rows']:,}), {compressed/1e6:.0f} MB gzip, {cores} cores")
print(f"classes: {json.dumps(summary['classes'])}")
print(f"s3bridge verify: {wall:.2f} s, {keys_per_s/1e6:.2f} M keys/s, peak RSS {rss_kb/1024:.1f} MiB")
print(f"zcat | wc -l:    {zcat_seconds:.2f} s, {zcat_per_s/1e6:.2f} M rows/s")
print(f"speed vs zcat: {zcat_seconds / wall:.2f}x")
for name, ok in checks.items():
    print(f"check {name}: {'ok' if ok else 'FAILED'}")
targets = {
    ">= 2M keys/s": keys_per_s >= 2e6,
    "<= 64 MB RSS": rss_kb * 1024 <= 64e6,
    "faster than zcat": wall < zcat_seconds,
}
for name, ok in targets.items():
    print(f"target {name}: {'met' if ok else 'MISSED'}")
sys.path.insert(0, "bench/lib")
from results import result
section = f"verify inventory, {expected['source_rows']:,} rows"
result(section, "counts, classes, report and exit code as generated",
       "correct" if all(checks.values()) else "WRONG: " + ", ".join(n for n, ok in checks.items() if not ok),
       all(checks.values()))
result(section, ">= 2M keys/s", f"{keys_per_s / 1e6:.2f} M keys/s ({wall:.2f} s)", targets[">= 2M keys/s"])
result(section, "<= 64 MB peak RSS", f"{rss_kb * 1024 / 1e6:.1f} MB ({rss_kb / 1024:.1f} MiB)", targets["<= 64 MB RSS"])
result(section, "faster than zcat | wc -l", f"{zcat_seconds / wall:.2f}x zcat's speed", targets["faster than zcat"])
sys.exit(0 if all(checks.values()) else 1)
EOF
echo "stderr of s3bridge:" && sed 's/^/  /' "$out/stderr"
