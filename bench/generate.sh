#!/usr/bin/env bash
# Times `s3bridge generate` of the example spec (target: < 20 ms) with a release build.
# Uses hyperfine when installed (apt-get install hyperfine), else a Python timing loop.
# Usage: bench/generate.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/results.sh
runs=${1:-100}
cargo build --release --locked --quiet
bin=target/release/s3bridge
spec=fixtures/specs/example.yaml
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" generate "$spec" --out "$out/warm" 2>/dev/null

if command -v hyperfine >/dev/null; then
  # A fresh directory each run: the full write, not the "unchanged" path.
  hyperfine --warmup 5 --runs "$runs" --shell=none --export-json "$out/hyperfine.json" \
    --prepare "rm -rf $out/bundle" \
    "$bin generate $spec --out $out/bundle"
  median_ms=$(python3 -c "import json, sys; print(f\"{json.load(open(sys.argv[1]))['results'][0]['median'] * 1000:.2f}\")" "$out/hyperfine.json")
else
  python3 - "$bin" "$spec" "$out" "$runs" <<'PY'
import shutil, statistics, subprocess, sys, time
binary, spec, out, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
times = []
for _ in range(runs):
    shutil.rmtree(f"{out}/bundle", ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([binary, "generate", spec, "--out", f"{out}/bundle"], check=True, stderr=subprocess.DEVNULL)
    times.append((time.perf_counter() - start) * 1000)
times.sort()
print(f"generate {spec}: {runs} runs, median {statistics.median(times):.2f} ms, "
      f"min {times[0]:.2f} ms, p95 {times[int(len(times) * 0.95) - 1]:.2f} ms (process start included)")
with open(f"{out}/median", "w") as f:
    f.write(f"{statistics.median(times):.2f}")
PY
  median_ms=$(cat "$out/median")
fi
bench_result generate "generate of the example spec < 20 ms (median)" "$median_ms ms" \
  "$(met_if python3 -c "import sys; sys.exit(0 if $median_ms < 20 else 1)")"
