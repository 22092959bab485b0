#!/usr/bin/env bash
# Runs test suites N times in a row while two busy loops compete for the CPU (one per core of
# the 2-core CI machine), to find tests that fail under load (issue #29 item 4). Stops nothing
# early: every run's log is kept, and a summary line per run is printed.
#
#   tests/soak/under_load.sh [RUNS] [--test NAME ...]
#   tests/soak/under_load.sh 20 --test replicas --test web_board     (the default)
#
# Needs what those suites need (.ci/run installs and starts it). Logs go to target/soak/.
set -uo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-20}"
shift || true
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(--test replicas --test web_board)
export CI=true
out=target/soak
mkdir -p "$out"
cargo test --release "${suites[@]}" --no-run >/dev/null 2>&1 || { echo "build failed"; exit 2; }
burn() { while :; do :; done; }
burn & b1=$!
burn & b2=$!
trap 'kill $b1 $b2 2>/dev/null' EXIT
pass=0
fail=0
for i in $(seq 1 "$runs"); do
  t0=$(date +%s)
  if cargo test --release "${suites[@]}" >"$out/run-$i.log" 2>&1; then
    pass=$((pass + 1)); r=pass
  else
    fail=$((fail + 1)); r=FAIL
  fi
  echo "run $i: $r in $(($(date +%s) - t0)) s; $(grep -h '^test result' "$out/run-$i.log" | tr '\n' ' ')"
done
echo "$runs runs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
