#!/usr/bin/env bash
# bench/metrics/scrape-cost-idle.sh: everything that scraping the metrics endpoint every 5 s costs
# a JVM, all threads counted (the serving thread, the JIT compiling the scrape path, the GC of
# what a scrape leaves), with against without, on a JVM that does nothing else.
#
#   bash bench/metrics/scrape-cost-idle.sh                  # 3 reps of each configuration
#   REPS=1 SECONDS_PER_RUN=120 bash bench/metrics/scrape-cost-idle.sh
#
# scrape-cost.sh measures on the churn workload, where two runs of one configuration differ by
# several per cent of CPU: far more than the scrapes cost. Here the JVM holds a small native heap
# (samples' Steady, one round, then idle) so that its own CPU is a few milliseconds a second and
# the difference between the two configurations is the scrapes' alone. Each run: the JVM starts
# with metrics=PORT; once the endpoint accepts connections and the JVM's start-up is over, the
# process's CPU (all threads, /proc/PID/stat) is read, then for SECONDS_PER_RUN curl fetches
# /metrics every INTERVAL seconds (s) or nobody does (n); the CPU is read again FIRST seconds in
# and at the end. The first part holds what a JVM pays once (the first scrape loads the
# Prometheus client's classes, the JIT compiles the scrape path), the second what every scrape
# costs from then on.
# Knobs: REPS (3), SECONDS_PER_RUN (300), FIRST (60), INTERVAL (5), SETTLE (40: seconds between
# the endpoint's first answer and the first CPU reading; the JIT still compiles for half a minute
# after start-up), OUT (raw directory, default a temporary one removed at exit), AGENT_JAR.
set -euo pipefail

BENCH=scrape-cost-idle.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../agent/common.sh"
REPS="${REPS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-300}"
FIRST="${FIRST:-60}"
INTERVAL="${INTERVAL:-5}"
SETTLE="${SETTLE:-40}"
need_counts REPS SECONDS_PER_RUN INTERVAL SETTLE FIRST
((FIRST < SECONDS_PER_RUN)) || die "FIRST=$FIRST: must be less than SECONDS_PER_RUN=$SECONDS_PER_RUN"
require_tools curl java python3
copy_agent_build Steady

# accepting PORT: true once something accepts a TCP connection on 127.0.0.1:PORT (no request
# sent, so the endpoint serves nothing before the window).
accepting() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

run_one() {   # run_one CFG REP: prints "cfg first-cpu-ms later-cpu-ms first-scrapes later-scrapes load1"
  local cfg="$1" p; p="$(free_port)"
  # Idle long enough for the settle time, the window and a margin; killed after the window.
  env LD_PRELOAD="$OUT/build/libhz3.so" java -Xmx256m \
    "-javaagent:$OUT/build/hz3-agent.jar=metrics=$p,log=warn" -cp "$OUT/build/classes" \
    dev.hz3.samples.Steady --threads 1 --size 8 --rounds 1 \
    --idle-after $((SETTLE + SECONDS_PER_RUN + 120)) >"$OUT/$cfg-$2.out" 2>"$OUT/$cfg-$2.err" &
  local jpid=$! deadline=$((SECONDS + 60))
  until accepting "$p"; do
    kill -0 "$jpid" 2>/dev/null || die "$cfg: the JVM exited before its endpoint listened (see $OUT/$cfg-$2.err)"
    ((SECONDS < deadline)) || die "$cfg: the endpoint did not listen within 60 s"
    sleep 0.2
  done
  sleep "$SETTLE"
  # CPU read at the window's start, FIRST seconds in, and at its end.
  local t0="$SECONDS" cpu=("$(proc_cpu "$jpid")") scrapes=(0 0) part=0
  while ((SECONDS < t0 + SECONDS_PER_RUN)); do
    if ((part == 0 && SECONDS >= t0 + FIRST)); then cpu+=("$(proc_cpu "$jpid")"); part=1; fi
    if [[ "$cfg" == s ]]; then
      curl -sf -o /dev/null "http://127.0.0.1:$p/metrics" || die "$cfg: a scrape failed"
      scrapes[part]=$((scrapes[part] + 1))
    fi
    sleep "$INTERVAL"
  done
  cpu+=("$(proc_cpu "$jpid")")
  kill "$jpid"; wait "$jpid" 2>/dev/null || true
  awk -v c="$cfg" -v a="${cpu[0]}" -v b="${cpu[1]}" -v e="${cpu[2]}" -v n0="${scrapes[0]}" -v n1="${scrapes[1]}" \
    -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {printf "%s %.0f %.0f %d %d %s\n", c, (b - a) * 1000, (e - b) * 1000, n0, n1, load}'
}

echo "scrape-cost-idle.sh: $(date -u +%FT%TZ) $(git rev-parse --short HEAD) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "# cfg first_cpu_ms later_cpu_ms first_scrapes later_scrapes load1" >&2
alternate_runs "$REPS" s n
col() { awk -v c="$1" -v k="$2" '$1 == c {print $k}' "$OUT/raw" | median; }
awk -v sf="$(col s 2)" -v nf="$(col n 2)" -v sl="$(col s 3)" -v nl="$(col n 3)" -v kf="$(col s 4)" -v kl="$(col s 5)" \
  -v f="$FIRST" -v w="$SECONDS_PER_RUN" 'BEGIN {
  printf "first %d s (the first scrape, the JIT compiling the scrape path): scraped %d ms CPU, not scraped %d ms: %.1f ms per scrape, %.2f ms per second\n", f, sf, nf, (sf - nf) / kf, (sf - nf) / f
  printf "the %d s after (warm): scraped %d ms CPU, not scraped %d ms: %.1f ms per scrape, %.2f ms per second\n", w - f, sl, nl, (sl - nl) / kl, (sl - nl) / (w - f) }'
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
