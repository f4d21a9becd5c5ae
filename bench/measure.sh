# Shared by bench/run and bench/scale: one wrk measurement as one line.
#   measure NAME URL [wrk args...]      (CONNS, SECS from the environment)
# Leaves the figures in RPS and P99_MS, for ratios.
measure() {
  local name=$1 url=$2; shift 2
  local out p50 p99 errors
  out=$(wrk --latency -t2 -c"${CONNS:-32}" -d"${SECS}s" "$@" "$url")
  RPS=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  P99_MS=$(to_ms "$p99")
  errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '%-34s %10s req/s   p50 %-9s p99 %-9s %s\n' "$name" "$RPS" "$p50" "$p99" "${errors:+non-2xx: $errors}"
}

# wrk's latency ("595.00us", "2.56ms", "1.02s") in milliseconds.
to_ms() {
  awk -v t="$1" 'BEGIN {
    v = t + 0
    if (t ~ /us$/) v /= 1000; else if (t ~ /ms$/) v *= 1; else if (t ~ /s$/) v *= 1000
    print v }'
}

# ratio A B: A/B to two places.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
