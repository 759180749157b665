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
# within each scraped run, the CPU of the agent's "hz3-metrics" thread (it serves every scrape,
# read from its schedstat in ns) as a share of the process's: the same run's figure, steadier
# than two runs on a busy machine. The first scrape (the Prometheus client's classes loaded,
# nothing compiled) is reported apart from the warm ones that follow it.
# Knobs: REPS (5), ROUNDS (3000), THREADS (4), INTERVAL (5), HEAP (-Xmx512m), OUT (raw directory,
# default a temporary one removed at exit), AGENT_JAR (agent/target/hz3-agent.jar: another
# build's agent, to compare).
set -euo pipefail

BENCH=scrape-cost.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../agent/common.sh"
REPS="${REPS:-5}"
ROUNDS="${ROUNDS:-3000}"
THREADS="${THREADS:-4}"
INTERVAL="${INTERVAL:-5}"
HEAP="${HEAP:--Xmx512m}"
need_counts REPS ROUNDS THREADS INTERVAL
require_tools curl java python3
copy_agent_build Churn

run_one() {   # run_one CFG REP: prints "cfg process-cpu-s scrapes first-scrape-ms warm-ms-total load1"
  local cfg="$1" p; p="$(free_port)"
  local series="$OUT/$1-$2.scrapes"   # the thread's CPU (ns) after each scrape
  : >"$series"
  env LD_PRELOAD="$OUT/build/libhz3.so" /usr/bin/time -f '%U %S' -o "$OUT/time" \
    java "$HEAP" "-javaagent:$OUT/build/hz3-agent.jar=metrics=$p,log=warn" \
    -cp "$OUT/build/classes" dev.hz3.samples.Churn --threads "$THREADS" --rounds "$ROUNDS" \
    >"$OUT/$cfg.out" 2>"$OUT/$cfg.err" &
  local tpid=$! scrapes=0 jpid="" first=0 last=0 t
  if [[ "$cfg" == s ]]; then
    while kill -0 "$tpid" 2>/dev/null; do
      if curl -sf -o /dev/null "http://127.0.0.1:$p/metrics"; then
        # A scrape counts once its thread's CPU is read after it (not when the JVM was exiting).
        [[ -n "$jpid" ]] || jpid="$(pgrep -P "$tpid" | head -1 || true)"
        t="$( [[ -n "$jpid" ]] && thread_cpu_ns "$jpid" hz3-metrics || echo 0)"; t="${t:-0}"
        if ((t > 0)); then
          scrapes=$((scrapes + 1))
          ((scrapes == 1)) && first=$t
          last=$t
          echo "$t" >>"$series"
        fi
        sleep "$INTERVAL"
      else
        sleep 0.2   # not listening yet (or gone)
      fi
    done
  fi
  wait "$tpid" || die "$cfg: java exited with $? (see $OUT/$cfg.err)"
  awk -v c="$cfg" -v n="$scrapes" -v f="$first" -v l="$last" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
    '{printf "%s %.2f %d %.1f %.1f %s\n", c, $1 + $2, n, f / 1e6, (l - f) / 1e6, load}' "$OUT/time"
}

echo "scrape-cost.sh: $(date -u +%FT%TZ) $(git rev-parse --short HEAD) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "# cfg process_cpu_s scrapes first_scrape_ms warm_scrapes_ms load1" >&2
alternate_runs "$REPS" s n
s="$(awk '$1 == "s" {print $2}' "$OUT/raw" | median)"
n="$(awk '$1 == "n" {print $2}' "$OUT/raw" | median)"
echo "median process CPU s: scraped $s, not scraped $n; ratio $(awk -v a="$s" -v b="$n" 'BEGIN {printf "%.4f", a / b}')"
awk '$1 == "s" {k += $3; f += $4; w += $5; c += $2; r++}
  END {printf "hz3-metrics thread: first scrape %.1f ms CPU (mean of %d runs); warm scrapes %.2f ms CPU each (%d scrapes)\n", f / r, r, w / (k - r), k - r
       printf "share of the scraped runs CPU: all scrapes %.3f%%, warm scrapes only %.3f%%\n", (f + w) / 10 / c, w / 10 / c}' "$OUT/raw"
# Steady state: the scrapes in the second half of each run (compiled by then), one delta each.
for f in "$OUT"/s-*.scrapes; do
  awk '{v[NR] = $1} END {for (i = int(NR / 2) + 1; i <= NR; i++) if (i > 1) print (v[i] - v[i - 1]) / 1e6}' "$f"
done >"$OUT/steady"
echo "steady scrapes (second half of each run): median $(median <"$OUT/steady") ms CPU each, $(wc -l <"$OUT/steady") scrapes"
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
