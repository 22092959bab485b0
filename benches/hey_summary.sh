# Sourced by the load scripts: `summary` turns `hey`'s report into one line.
summary() { # hey output → "N req/s, p50 X ms, p99 Y ms, ok, errors"
  awk '
    /Requests\/sec/ {rps=$2}
    /50% in/ {p50=$3*1000}
    /99% in/ {p99=$3*1000}
    /\[2[0-9][0-9]\]/ {ok+=$2}
    /\[[4-5][0-9][0-9]\]/ {bad+=$2}
    END {printf "%.0f req/s, p50 %.2f ms, p99 %.2f ms, %d ok, %d errors\n", rps, p50, p99, ok, bad}'
}
