# Shared by bench/run and bench/scale: one wrk measurement as one line.
#   measure NAME URL [wrk args...]      (CONNS, SECS from the environment)
measure() {
  local name=$1 url=$2; shift 2
  local out rps p50 p99 errors
  out=$(wrk --latency -t2 -c"${CONNS:-32}" -d"${SECS}s" "$@" "$url")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '%-34s %10s req/s   p50 %-9s p99 %-9s %s\n' "$name" "$rps" "$p50" "$p99" "${errors:+non-2xx: $errors}"
}
