#!/usr/bin/env bash
# bench/metrics/scrape-cost.sh: what scraping the agent's metrics endpoint every 5 s costs a JVM
# on the churn workload (issue 12: target at most 0.5% of the process's CPU).
#
#   bash bench/metrics/scrape-cost.sh                      # 5 reps of each configuration
#   REPS=2 ROUNDS=1000 bash bench/metrics/scrape-cost.sh   # a quick check
#
# Both configurations run samples' Churn (THREADS x ROUNDS) on hz3 with the agent and
# metrics=PORT, in alternating order within each rep (s n, then n s, ...):
#   s  scraped: curl fetches /metrics every INTERVAL seconds while the JVM runs
#   n  not scraped: the endpoint listens, nobody asks
# CPU is the whole process's user+sys (/usr/bin/time); the cost is the ratio of the medians, and,
# within each scraped run, the CPU of the agent's "hz3-metrics" thread (it serves every scrape)
# as a share of the process's: the same run's figure, steadier than two runs on a busy machine.
# Knobs: REPS (5), ROUNDS (3000), THREADS (4), INTERVAL (5), HEAP (-Xmx512m).
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
cd "$root"
REPS="${REPS:-5}"
ROUNDS="${ROUNDS:-3000}"
THREADS="${THREADS:-4}"
INTERVAL="${INTERVAL:-5}"
HEAP="${HEAP:--Xmx512m}"
die() { echo "scrape-cost.sh: $*" >&2; exit 1; }
for f in agent/target/hz3-agent.jar native-hz3/target/lib/libhz3.so samples/target/classes/dev/hz3/samples/Churn.class; do
  [[ -f "$f" ]] || die "$f is missing: build with mvn -B -q -DskipTests package"
done
command -v curl >/dev/null || die "curl not on PATH"

out="$(mktemp -d "${TMPDIR:-/tmp}/scrape-cost.XXXXXX")"
trap 'rm -rf "$out"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

hz="$(getconf CLK_TCK)"
thread_cpu() {   # thread_cpu PID NAME: utime+stime ticks of PID's thread NAME (0 if none)
  local t
  for t in /proc/"$1"/task/*; do
    if [[ "$(cat "$t/comm" 2>/dev/null)" == "$2" ]]; then awk '{print $14 + $15}' "$t/stat"; return; fi
  done
  echo 0
}

run_one() {   # run_one CFG REP: prints "cfg user+sys scrapes metrics-thread-cpu-s"
  local cfg="$1" p; p="$(port)"
  env LD_PRELOAD="$root/native-hz3/target/lib/libhz3.so" /usr/bin/time -f '%U %S' -o "$out/time" \
    java "$HEAP" "-javaagent:$root/agent/target/hz3-agent.jar=metrics=$p,log=warn" \
    -cp samples/target/classes dev.hz3.samples.Churn --threads "$THREADS" --rounds "$ROUNDS" \
    >"$out/$cfg.out" 2>"$out/$cfg.err" &
  local tpid=$! scrapes=0 jpid="" ticks=0 t
  if [[ "$cfg" == s ]]; then
    while kill -0 "$tpid" 2>/dev/null; do
      if curl -sf -o /dev/null "http://127.0.0.1:$p/metrics"; then
        scrapes=$((scrapes + 1))
        [[ -n "$jpid" ]] || jpid="$(pgrep -P "$tpid" | head -1 || true)"
        if [[ -n "$jpid" ]]; then t="$(thread_cpu "$jpid" hz3-metrics)"; ((t > ticks)) && ticks=$t; fi
      fi
      sleep "$INTERVAL"
    done
  fi
  wait "$tpid" || die "$cfg: java exited with $? (see $out/$cfg.err)"
  awk -v c="$cfg" -v n="$scrapes" -v m="$ticks" -v hz="$hz" '{printf "%s %.2f %d %.2f\n", c, $1 + $2, n, m / hz}' "$out/time"
}

echo "scrape-cost.sh: $(date -u +%FT%TZ) $(git rev-parse --short HEAD) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((rep = 1; rep <= REPS; rep++)); do
  if ((rep % 2)); then order=(s n); else order=(n s); fi
  for c in "${order[@]}"; do run_one "$c" "$rep" | tee -a "$out/raw"; done
done
med() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
s="$(awk '$1 == "s" {print $2}' "$out/raw" | med)"
n="$(awk '$1 == "n" {print $2}' "$out/raw" | med)"
k="$(awk '$1 == "s" {t += $3} END {print t}' "$out/raw")"
share="$(awk '$1 == "s" {print $4 / $2}' "$out/raw" | med)"
per="$(awk '$1 == "s" {m += $4; n += $3} END {printf "%.1f", n ? m * 1000 / n : 0}' "$out/raw")"
echo "median CPU s: scraped $s, not scraped $n; ratio $(awk -v a="$s" -v b="$n" 'BEGIN {printf "%.4f", a / b}') ($k scrapes in all)"
echo "hz3-metrics thread: $per ms CPU per scrape; median share of the scraped run's CPU $(awk -v x="$share" 'BEGIN {printf "%.2f%%", x * 100}')"
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
