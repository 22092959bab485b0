#!/usr/bin/env bash
# Load test of the event log on PostgreSQL (issue #17): write throughput and latency with one
# and two `ems serve` replicas on one database, beside the SQLite log on the same machine, in
# one session. Not a criterion bench: it drives the real binary over HTTP with `hey` (Debian
# package `hey`). Results go to BENCHMARKS.md.
#
#   benches/replica_load.sh [EMS_BINARY]
#
# EMS_BINARY defaults to target/release/ems; PG (default postgres://ems:ems@127.0.0.1:5432)
# is the server whose role may create databases (.ci/run sets it up); DUR (default 10s) sets
# each run. Writes are `POST /v1/units/{id}/position` (AVL reports), 16 clients in all (with
# two replicas, 8 on each, one unit each).
set -euo pipefail
BIN=${1:-target/release/ems}
DUR=${DUR:-10s}
PG=${PG:-postgres://ems:ems@127.0.0.1:5432}
command -v hey >/dev/null || { echo "hey is missing: apt-get install -y hey" >&2; exit 1; }
work=$(mktemp -d)
DBNAME="ems_bench_$$"
trap 'kill $(jobs -p) 2>/dev/null || true; psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

start() { # db name → sets URL_<name> and PID_<name>
  "$BIN" serve --listen 127.0.0.1:0 --db "$2" >"$work/$1.out" 2>"$work/$1.err" &
  eval "PID_$1=$!"
  for _ in $(seq 100); do
    url=$(grep -o 'http://[0-9.:]*' "$work/$1.out" || true)
    if [ -n "$url" ]; then eval "URL_$1=$url"; return 0; fi
    sleep 0.1
  done
  echo "server did not start: $(cat "$work/$1.err")" >&2; exit 1
}

. "$(dirname "$0")/hey_summary.sh"

AUTH="Authorization: Bearer demo-dispatcher"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
pos="{\"lon\":7.42,\"lat\":43.735,\"at\":\"$now\"}"
load() { # url unit clients [rate per client] → summary
  local q=()
  [ -n "${4:-}" ] && q=(-q "$4")
  hey -z "$DUR" -c "$3" "${q[@]}" -m POST -H "$AUTH" -T application/json -d "$pos" \
    "$1/v1/units/$2/position" | summary
}

echo "== $(date -u +%F), $DUR per run, $(nproc) cores"
start s "$work/w.sqlite"
echo "SQLite, 1 server, max rate:            $(load "$URL_s" condamine-1 16)"
echo "SQLite, 1 server, 1,000/s offered:     $(load "$URL_s" condamine-1 16 62.5)"
kill "$PID_s"; wait "$PID_s" 2>/dev/null || true

psql "$PG/postgres" -qc "CREATE DATABASE $DBNAME" >/dev/null
start a "$PG/$DBNAME"
echo "PostgreSQL, 1 replica, max rate:       $(load "$URL_a" condamine-1 16)"
echo "PostgreSQL, 1 replica, 1,000/s offered: $(load "$URL_a" condamine-1 16 62.5)"
start b "$PG/$DBNAME"
for rate in "" 62.5; do
  load "$URL_a" condamine-1 8 $rate >"$work/ra" &
  p1=$!
  load "$URL_b" condamine-2 8 $rate >"$work/rb" &
  p2=$!
  wait "$p1" "$p2"
  label=$([ -z "$rate" ] && echo "max rate:      " || echo "1,000/s offered:")
  echo "PostgreSQL, 2 replicas, $label A: $(cat "$work/ra")"
  echo "                                        B: $(cat "$work/rb")"
done
