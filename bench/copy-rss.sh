#!/usr/bin/env bash
# Peak RSS of `s3bridge copy --dry-run` listing and planning 10k vs 1M keys, against
# bench/fake_list_server.py (a listing-only endpoint that computes pages of N virtual keys
# on the fly, so a million keys need no million objects anywhere). No garage needed.
#
# Target (issue 4): peak RSS at 1M keys <= 1.25x that at 10k keys (memory must not grow
# with the bucket). Also printed: wall and client CPU seconds of each run.
#
#   bench/copy-rss.sh            (needs python3 and a release build, built here if stale)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/results.sh
# S3BRIDGE=path measures another build (say, a saved one from before a change).
if [ -z "${S3BRIDGE:-}" ]; then cargo build --release --locked --quiet; fi
export S3BRIDGE=${S3BRIDGE:-$PWD/target/release/s3bridge}
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 bench/fake_list_server.py "$port" &
fake_pid=$!
trap 'kill "$fake_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break
  sleep 0.1
done
export FAKE_PORT=$port
python3 - <<'PY'
import json, os, subprocess, sys, tempfile, time
sys.path.insert(0, "bench/lib")
from results import result

out = {}
for n in [10_000, 1_000_000]:
    argv = [os.environ["S3BRIDGE"], "copy", f"s3://keys-{n}", "s3://empty", "--endpoint-url",
            f"http://127.0.0.1:{os.environ['FAKE_PORT']}", "--source-region", "us-east-1",
            "--destination-region", "us-east-1", "--dry-run", "--quiet", "--format", "json"]
    env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
               AWS_EC2_METADATA_DISABLED="true")
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        started = time.monotonic()
        child = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - started
        stdout.seek(0)
        stderr.seek(0)
        summary, err = stdout.read().decode(), stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"copy --dry-run over keys-{n} failed: {err[-2000:]}")
    planned = json.loads(summary)["to_copy"]
    if planned != n:
        sys.exit(f"dry run over keys-{n} planned {planned}")
    out[n] = {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_kib": usage.ru_maxrss}
    print(f"copy --dry-run, {n:,} keys: peak RSS {usage.ru_maxrss / 1024:.1f} MiB, wall {wall:.2f} s, "
          f"client CPU {usage.ru_utime + usage.ru_stime:.2f} s")
small, big = out[10_000]["rss_kib"], out[1_000_000]["rss_kib"]
ratio = big / small
print(f"peak RSS 1M keys / 10k keys: {ratio:.2f} (target <= 1.25)")
result("copy", "peak RSS 1M keys <= 1.25x 10k keys (--dry-run)",
       f"{ratio:.2f}x ({small / 1024:.1f} -> {big / 1024:.1f} MiB)", ratio <= 1.25)
PY
