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

# median X...: the middle value (the mean of the two middle ones for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# cpu_ticks PID...: the user + system clock ticks these processes have used so far.
cpu_ticks() {
  local total=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# measure_cpu SERVER_PID NAME URL [wrk args...]: `measure`, then where the CPU went: the
# server's and PostgreSQL's (every postgres process) microseconds per answered request.
measure_cpu() {
  local server=$1; shift
  local pg s0 p0 s1 p1 hz
  hz=$(getconf CLK_TCK)
  pg=$(pgrep -x postgres | tr '\n' ' ')
  s0=$(cpu_ticks "$server"); p0=$(cpu_ticks $pg)
  measure "$@"
  s1=$(cpu_ticks "$server")
  # Backends that started during the run count too (each once).
  p1=$(cpu_ticks $(printf '%s\n' $pg $(pgrep -x postgres) | sort -u))
  awk -v s="$((s1 - s0))" -v p="$((p1 - p0))" -v hz="$hz" -v rps="$RPS" -v secs="$SECS" 'BEGIN {
    n = rps * secs
    printf "   CPU per request: server %.1f us, PostgreSQL %.1f us\n", s / hz / n * 1e6, p / hz / n * 1e6 }'
}
