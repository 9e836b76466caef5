#!/usr/bin/env bash
# Every benchmark of BENCHMARKS.md, run on the current tree, then one table: section,
# target, measured, met/missed, headed by the commit it measured (a `-dirty` suffix when
# the tree has uncommitted changes). Each benchmark's own report goes to
# bench/work/all/SECTION.log; the table is also written to bench/work/all/table.md.
#
#   bench/all.sh
#   VERIFY_ROWS="100000 1000000 2000000 10000000" bench/all.sh   # inventory sizes (default 10M)
#   ONLY="generate verify-inventory" bench/all.sh                 # a subset of the sections
#
# Sections: generate, audit, verify-inventory, verify-live, copy, copy-rss. verify-live
# and copy need garage, a real local S3 server (bench/lib/garage.sh): built once with
# cargo (20-40 min on two cores) when BUILD_GARAGE=1, else used only if already built;
# without it those sections print "skipped: garage not built (bench/lib/garage.sh)".
# audit needs ./scripts/setup's moto and Terraform.
#
# Exit status: 0 every target met, 1 a target missed, 2 a benchmark could not run.
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib/garage.sh
. bench/lib/results.sh

commit=$(git rev-parse --short HEAD)
[ -z "$(git status --porcelain --untracked-files=no)" ] || commit="$commit-dirty"
sections=${ONLY:-generate audit verify-inventory verify-live copy copy-rss}
logs=bench/work/all
mkdir -p "$logs"
export BENCH_RESULTS=$logs/results.tsv
: >"$BENCH_RESULTS"

echo "bench/all.sh on $commit: $(nproc) cores, $(uptime | sed 's/.*load/load/')"
echo "building the release binary once"
cargo build --release --locked --quiet || exit 2

garage=$(garage_found)
# run SECTION COMMAND...: one benchmark, its report in the section's log; a benchmark
# that fails without recording a result still shows up in the table.
run() {
  local section=$1
  shift
  local before
  before=$(wc -l <"$BENCH_RESULTS")
  echo "== $section: $* (log: $logs/$section.log)"
  "$@" >"$logs/$section.log" 2>&1
  local status=$?
  if [ "$status" -ne 0 ] && [ "$(wc -l <"$BENCH_RESULTS")" = "$before" ]; then
    bench_result "$section" "(the benchmark itself)" "exit $status: see $logs/$section.log" failed
  elif [ "$status" -ne 0 ]; then
    echo "   exit $status: see $logs/$section.log"
  fi
}
skip_garage() {
  echo "== $1: skipped: garage not built (bench/lib/garage.sh; BUILD_GARAGE=1 builds it once)"
  bench_result "$1" "(needs garage)" "skipped: garage not built (bench/lib/garage.sh)" skipped
}

for section in $sections; do
  case $section in
  generate) run generate bench/generate.sh 100 ;;
  audit) run audit bench/audit.sh 10 ;;
  verify-inventory)
    for rows in ${VERIFY_ROWS:-10000000}; do
      ROWS=$rows run "verify-inventory-$rows" bench/verify-inventory.sh
    done
    ;;
  verify-live | copy)
    if [ -n "$garage" ] || [ "${BUILD_GARAGE:-}" = 1 ]; then
      if [ "$section" = copy ]; then run copy bench/copy.sh 5; else run verify-live bench/verify-live.sh 5; fi
      garage=$(garage_found)
    else
      skip_garage "$section"
    fi
    ;;
  copy-rss) run copy-rss bench/copy-rss.sh ;;
  *) echo "unknown section $section (generate audit verify-inventory verify-live copy copy-rss)" >&2; exit 2 ;;
  esac
done

python3 - "$BENCH_RESULTS" "$commit" "$logs/table.md" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
lines = [f"Measured on {sys.argv[2]}:", "", "| section | target | measured | |", "|---|---|---|---|"]
for section, target, measured, status in rows:
    mark = {"met": "met", "missed": "**missed**", "failed": "**failed**"}.get(status, status)
    cells = [c.replace("|", "\\|") for c in (section, target, measured)]
    lines.append(f"| {cells[0]} | {cells[1]} | {cells[2]} | {mark} |")
counts = {s: sum(1 for r in rows if r[3] == s) for s in ["met", "missed", "failed", "skipped"]}
lines += ["", ", ".join(f"{n} {s}" for s, n in counts.items())]
text = "\n".join(lines)
print("\n" + text)
open(sys.argv[3], "w").write(text + "\n")
sys.exit(2 if counts["failed"] else 1 if counts["missed"] else 0)
PY
