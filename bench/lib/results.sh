# The result lines bench/all.sh gathers into its table. Source it; each benchmark calls
#
#   bench_result SECTION TARGET MEASURED STATUS     # STATUS: met | missed | skipped | failed
#
# which appends a tab-separated line to $BENCH_RESULTS when that is set (all.sh sets it;
# run alone, a benchmark only prints its own report). Python parts of the benchmarks
# write the same four fields to the same file (see bench/lib/results.py).

bench_result() {
  if [ -n "${BENCH_RESULTS:-}" ]; then
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$BENCH_RESULTS"
  fi
}

# met_if CONDITION-EXIT-CODE: "met" when the previous test succeeded, else "missed".
met_if() { if "$@"; then echo met; else echo missed; fi; }
