#!/usr/bin/env bash
# bench/agent/idle-cost.sh: what an idle JVM pays, in CPU, for hz3 and for the agent, while a JFR
# recording runs (continuous profiling of a fleet of mostly idle services).
#
#   bash bench/agent/idle-cost.sh                          # 3 reps of each configuration
#   REPS=2 SETTLE=90 SECONDS_PER_RUN=60 bash bench/agent/idle-cost.sh
#
# Configurations, each rep in a rotated order (g h a, then h a g, ...):
#   g  glibc malloc, no agent
#   h  hz3 preloaded, no agent
#   a  hz3 preloaded and the agent with its default options (log=warn)
#   H, A  the same as h and a from another build (BEFORE=DIR: a checkout with native-hz3 and
#         agent built), to compare a change with what it changes
# Every JVM records with -XX:StartFlightRecording settings=default,settings=hz3.jfc and runs
# samples' Steady (one thread, 8 MiB of native memory, one round), then idles. SETTLE seconds
# after start (the JIT compiles the agent's code for minutes: its hooks run a few times a
# second), the CPU of every thread (schedstat, nanoseconds) is read, and again SECONDS_PER_RUN
# later. Printed per run: total ms of CPU per second, hz3-maint's, and the JFR threads'.
# Knobs: REPS (3), SETTLE (90), SECONDS_PER_RUN (60), CONFIGS ("g h a"), BEFORE, OUT, AGENT_JAR.
set -euo pipefail

BENCH=idle-cost.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
REPS="${REPS:-3}"
SETTLE="${SETTLE:-90}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-60}"
CONFIGS="${CONFIGS:-g h a}"
need_counts REPS SETTLE SECONDS_PER_RUN
require_tools java
copy_agent_build Steady
cp jfr-events/src/main/resources/dev/hz3/jfr/hz3.jfc "$OUT/build/hz3.jfc"
read -r -a configs <<<"$CONFIGS"
for c in "${configs[@]}"; do
  case "$c" in
    g | h | a) ;;
    H | A) [[ -n "${BEFORE:-}" ]] || die "configuration $c needs BEFORE=DIR (another build's checkout)"
      require_built native-hz3,agent "$BEFORE/native-hz3/target/lib/libhz3.so" "$BEFORE/agent/target/hz3-agent.jar"
      mkdir -p "$OUT/before"
      cp "$BEFORE/native-hz3/target/lib/libhz3.so" "$BEFORE/agent/target/hz3-agent.jar" "$OUT/before/" ;;
    *) die "CONFIGS: unknown configuration '$c' (g, h, a, H, A)" ;;
  esac
done

# thread_times PID: "NAME NS" for every thread of PID (threads of one name summed).
thread_times() {
  local t
  for t in /proc/"$1"/task/*; do
    echo "$(tr ' ' _ <"$t/comm" 2>/dev/null) $(cut -d' ' -f1 "$t/schedstat" 2>/dev/null)"
  done | awk 'NF == 2 {ns[$1] += $2} END {for (k in ns) print k, ns[k]}' | sort
}

run_one() {   # run_one CFG REP: prints "cfg total_ms_per_s maint_ms_per_s jfr_ms_per_s load1"
  local cfg="$1" lib="$OUT/build/libhz3.so" jar="$OUT/build/hz3-agent.jar" pre="" agent=()
  case "$cfg" in
    h) pre="$lib" ;;
    a) pre="$lib"; agent=("-javaagent:$jar=log=warn") ;;
    H) pre="$OUT/before/libhz3.so" ;;
    A) pre="$OUT/before/libhz3.so"; agent=("-javaagent:$OUT/before/hz3-agent.jar=log=warn") ;;
  esac
  env LD_PRELOAD="$pre" java -Xmx256m --enable-native-access=ALL-UNNAMED "${agent[@]}" \
    "-XX:StartFlightRecording:settings=default,settings=$OUT/build/hz3.jfc,filename=$OUT/$cfg-$2.jfr" \
    -cp "$OUT/build/classes" dev.hz3.samples.Steady --threads 1 --size 8 --rounds 1 \
    --idle-after $((SETTLE + SECONDS_PER_RUN + 60)) >"$OUT/$cfg-$2.out" 2>"$OUT/$cfg-$2.err" &
  local jpid=$!
  sleep "$SETTLE"
  kill -0 "$jpid" 2>/dev/null || die "$cfg: the JVM exited early (see $OUT/$cfg-$2.err)"
  thread_times "$jpid" >"$OUT/$cfg-$2.t0"
  sleep "$SECONDS_PER_RUN"
  thread_times "$jpid" >"$OUT/$cfg-$2.t1"
  kill "$jpid"; wait "$jpid" 2>/dev/null || true
  join -a 2 -e 0 -o 0,1.2,2.2 "$OUT/$cfg-$2.t0" "$OUT/$cfg-$2.t1" |
    awk -v c="$cfg" -v s="$SECONDS_PER_RUN" -v load="$(cut -d' ' -f1 /proc/loadavg)" '
      {d = ($3 - $2) / 1e6 / s; total += d; if ($1 == "hz3-maint") maint += d; if ($1 ~ /^JFR_/) jfr += d}
      END {printf "%s %.2f %.2f %.2f %s\n", c, total, maint, jfr, load}'
}

rotate_runs() {   # each rep runs every configuration, the order rotated by one per rep
  local rep i n="${#configs[@]}"
  for ((rep = 1; rep <= REPS; rep++)); do
    for ((i = 0; i < n; i++)); do run_one "${configs[(i + rep - 1) % n]}" "$rep" | tee -a "$OUT/raw"; done
  done
}

echo "idle-cost.sh: $(date -u +%FT%TZ) $(git rev-parse --short HEAD) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "# cfg total_cpu_ms_per_s hz3_maint_ms_per_s jfr_threads_ms_per_s load1" >&2
rotate_runs
echo "medians of $REPS (ms of CPU per second, all threads / hz3-maint / JFR's threads):"
for c in "${configs[@]}"; do
  col() { awk -v c="$c" -v k="$1" '$1 == c {print $k}' "$OUT/raw" | median; }
  echo "$c $(col 2) $(col 3) $(col 4)"
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
