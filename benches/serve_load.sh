#!/usr/bin/env bash
# Load test of `ems serve` (issue #14) with `hey` (Debian package `hey`): write throughput and
# latency, and `GET /v1/kpis` latency with 0 and 100,000 calls today. Not a criterion bench:
# it drives the real binary over HTTP. Results go to BENCHMARKS.md.
#
#   benches/serve_load.sh [EMS_BINARY] [LABEL]
#
# EMS_BINARY defaults to target/release/ems. Run it for two binaries (before and after a
# change) in one session so that both see the same machine. DUR (default 15s) sets each run.
set -euo pipefail
BIN=${1:-target/release/ems}
LABEL=${2:-$BIN}
DUR=${DUR:-15s}
command -v hey >/dev/null || { echo "hey is missing: apt-get install -y hey" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

start() { # db → sets URL and PID
  "$BIN" serve --listen 127.0.0.1:0 --db "$1" >"$work/out" 2>"$work/err" &
  PID=$!
  for _ in $(seq 100); do
    URL=$(grep -o 'http://[0-9.:]*' "$work/out" || true)
    [ -n "$URL" ] && return 0
    sleep 0.1
  done
  echo "server did not start: $(cat "$work/err")" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; }

. "$(dirname "$0")/hey_summary.sh"

AUTH="Authorization: Bearer demo-dispatcher"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
pos="{\"lon\":7.42,\"lat\":43.735,\"at\":\"$now\"}"
inc='{"lon":7.42,"lat":43.735,"priority":2}'

echo "== $LABEL ($(date -u +%F), $DUR per run)"
start "$work/w.sqlite"
echo -n "position reports, 16 clients, as fast as possible: "
hey -z "$DUR" -c 16 -m POST -H "$AUTH" -T application/json -d "$pos" \
  "$URL/v1/units/condamine-1/position" | summary
echo -n "position reports, 16 clients, 1,000/s offered:     "
hey -z "$DUR" -c 16 -q 62.5 -m POST -H "$AUTH" -T application/json -d "$pos" \
  "$URL/v1/units/condamine-2/position" | summary
echo -n "new incidents (with recommendation), 16 clients, max: "
hey -z "$DUR" -c 16 -m POST -H "$AUTH" -T application/json -d "$inc" \
  "$URL/v1/incidents" | summary
stop

# KPIs with 0 and 100,000 calls today: the calls are written straight into the log (stamped
# now) while no server runs, in the schema the binary created.
for calls in 0 100000; do
  db="$work/k$calls.sqlite"
  start "$db"; stop
  python3 - "$db" "$calls" <<'EOF'
import json, sqlite3, sys, datetime
db, n = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(db)
now = datetime.datetime.now(datetime.timezone.utc).isoformat()
rows = [(i, now, json.dumps({"type": "incident_created", "id": i, "at": now, "lon": 7.42,
         "lat": 43.735, "priority": 2, "condition": None, "note": None})) for i in range(1, n + 1)]
con.executemany("INSERT INTO events (seq, recorded, body) VALUES (?, ?, ?)", rows)
con.commit()
EOF
  start "$db"
  echo -n "GET /v1/kpis, $calls calls today, 4 clients:       "
  hey -z "$DUR" -c 4 -H "Authorization: Bearer demo-viewer" "$URL/v1/kpis" | summary
  stop
done
