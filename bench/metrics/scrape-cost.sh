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
# CPU is the whole process's user+sys (/usr/bin/time); the cost is the ratio of the medians.
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

run_one() {   # run_one CFG REP: prints "cfg user+sys scrapes"
  local cfg="$1" p; p="$(port)"
  env LD_PRELOAD="$root/native-hz3/target/lib/libhz3.so" /usr/bin/time -f '%U %S' -o "$out/time" \
    java "$HEAP" "-javaagent:$root/agent/target/hz3-agent.jar=metrics=$p,log=warn" \
    -cp samples/target/classes dev.hz3.samples.Churn --threads "$THREADS" --rounds "$ROUNDS" \
    >"$out/$cfg.out" 2>"$out/$cfg.err" &
  local tpid=$! scrapes=0
  if [[ "$cfg" == s ]]; then
    while kill -0 "$tpid" 2>/dev/null; do
      curl -sf -o /dev/null "http://127.0.0.1:$p/metrics" && scrapes=$((scrapes + 1)) || true
      sleep "$INTERVAL"
    done
  fi
  wait "$tpid" || die "$cfg: java exited with $? (see $out/$cfg.err)"
  awk -v c="$cfg" -v n="$scrapes" '{printf "%s %.2f %d\n", c, $1 + $2, n}' "$out/time"
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
echo "median CPU s: scraped $s, not scraped $n; ratio $(awk -v a="$s" -v b="$n" 'BEGIN {printf "%.4f", a / b}') ($k scrapes in all); load $(cut -d' ' -f1-3 /proc/loadavg)"
