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
# TOGETHER=1 runs each rep's configurations side by side instead of one after another (started
# in the rotated order, read over the same window): every configuration then sees the same load,
# and a rep that lets the JIT settle (SETTLE=420) takes minutes, not minutes times configurations.
# What is read is each thread's own CPU time, which idle neighbours barely change.
# Knobs: REPS (3), SETTLE (90), SECONDS_PER_RUN (60), CONFIGS ("g h a"), TOGETHER (0), BEFORE,
# OUT, AGENT_JAR.
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

start_jvm() {   # start_jvm CFG REP: starts the JVM of CFG in the background; prints its pid
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
    --idle-after $((SETTLE + SECONDS_PER_RUN + 600)) >"$OUT/$cfg-$2.out" 2>"$OUT/$cfg-$2.err" &
  echo $!
}

stop_jvm() {   # stop_jvm PID: ends it and waits (10 s at most) until it is gone
  local i
  kill "$1" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
}

alive() {   # alive PID CFG REP: dies with a line naming the log when the JVM has exited
  kill -0 "$1" 2>/dev/null || die "$2: the JVM exited early (see $OUT/$2-$3.err)"
}

summary() {   # summary CFG REP: "cfg total_ms_per_s maint_ms_per_s jfr_ms_per_s load1"
  local cfg="$1"
  join -a 2 -e 0 -o 0,1.2,2.2 "$OUT/$cfg-$2.t0" "$OUT/$cfg-$2.t1" |
    awk -v c="$cfg" -v s="$SECONDS_PER_RUN" -v load="$(cut -d' ' -f1 /proc/loadavg)" '
      {d = ($3 - $2) / 1e6 / s; total += d; if ($1 == "hz3-maint") maint += d; if ($1 ~ /^JFR_/) jfr += d}
      END {printf "%s %.2f %.2f %.2f %s\n", c, total, maint, jfr, load}'
}

run_one() {   # run_one CFG REP: one JVM alone; prints its summary
  local jpid
  jpid="$(start_jvm "$1" "$2")"
  sleep "$SETTLE"
  alive "$jpid" "$1" "$2"
  thread_times "$jpid" >"$OUT/$1-$2.t0"
  sleep "$SECONDS_PER_RUN"
  thread_times "$jpid" >"$OUT/$1-$2.t1"
  stop_jvm "$jpid"
  summary "$1" "$2"
}

run_together() {   # run_together REP CFG...: the JVMs side by side; prints each one's summary
  local rep="$1" c i; shift
  local pids=()
  for c in "$@"; do pids+=("$(start_jvm "$c" "$rep")"); done
  sleep "$SETTLE"
  for ((i = 0; i < $#; i++)); do c="${*:i+1:1}"; alive "${pids[i]}" "$c" "$rep"; thread_times "${pids[i]}" >"$OUT/$c-$rep.t0"; done
  sleep "$SECONDS_PER_RUN"
  for ((i = 0; i < $#; i++)); do c="${*:i+1:1}"; thread_times "${pids[i]}" >"$OUT/$c-$rep.t1"; done
  for ((i = 0; i < $#; i++)); do stop_jvm "${pids[i]}"; done
  for c in "$@"; do summary "$c" "$rep"; done
}

rotate_runs() {   # each rep runs every configuration, the order rotated by one per rep
  local rep i n="${#configs[@]}" order
  for ((rep = 1; rep <= REPS; rep++)); do
    order=()
    for ((i = 0; i < n; i++)); do order+=("${configs[(i + rep - 1) % n]}"); done
    if [[ "${TOGETHER:-0}" == 1 ]]; then
      run_together "$rep" "${order[@]}" | tee -a "$OUT/raw"
    else
      for c in "${order[@]}"; do run_one "$c" "$rep" | tee -a "$OUT/raw"; done
    fi
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
