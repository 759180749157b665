#!/usr/bin/env bash
# bench/attribution/cost.sh: what native attribution costs a JVM, on compare.sh's Churn workload
# (configurations a and b there, but 3 s idle after the work, for jstat to read the metaspace
# on a loaded box before the JVM exits), with one or more builds of the agent side by
# side, so that a change to attribution is measured against the build before it in one run.
#
#   bash bench/attribution/cost.sh                         # agent/target/hz3-agent.jar
#   bash bench/attribution/cost.sh before=/tmp/old.jar after=agent/target/hz3-agent.jar
#
# Configurations, in rotation within each rep: "off" (the first jar, attribution off: with it
# off no attribution class is loaded, so any build serves), then "on-LABEL" per jar
# (attribution=on,sampleBytes=INTERVAL), and with HZ3_ONLY=1 "hz3-sampling" (attribution off,
# HZ3_SAMPLE_BYTES=INTERVAL: hz3 samples with no agent asking, its share of the cost), and with
# ASPROF=1 (the default) "asprof": "off" plus async-profiler 4.1's native-memory profiling at
# the same rate (-agentpath:...=start,nativemem=INTERVAL, its own recording), the tool a user
# would compare attribution with (issue 10). All under hz3 (LD_PRELOAD), JFR with hz3.jfc as
# shipped.
# Per run: user+sys CPU of the whole process, CPU until PHASE work-start (start-up: the agent's,
# the JIT's meanwhile), CPU in the work phase, the CPU of Churn's worker threads (the work and
# the advice alone: unlike the process's work-phase CPU it does not grow with the wall time, as
# the agent's and JFR's periodic threads do), the JIT's compiler threads' CPU until work-end
# (both read by Churn itself at work-end, its last line's workers_cpu_ms and jit_cpu_ms: a look
# from outside came too late on a loaded box), Churn's own work_ms, RSS peak
# (/usr/bin/time), RSS mean (VmRSS every 20 ms over the JVM's life) and metaspace used at
# the end (jstat -gc every 200 ms from work-start, from the JVM's perf data: no attach).
# Each jar has a private directory of its own (XDG_RUNTIME_DIR=OUT/xdg-LABEL): an agent removes
# the directories of other builds that no JVM holds, so two builds run in turn under one
# directory removed each other's woven classes, and every "on" run wove them again (ASM loaded
# and compiled), which a user's JVM does only at its build's first two starts. Two short
# warm-up runs per jar (not measured) weave and keep them first.
# Output: OUT/raw.tsv, and medians with ratios to "off" on stdout.
#
# Knobs: REPS (7), THREADS (4), ROUNDS (150 per thread), INTERVAL (524288), HZ3_ONLY (0), ASPROF (1), OUT (raw directory;
# default bench/results/raw-attribution-cost-UTC).
set -euo pipefail

REPS="${REPS:-7}"
THREADS="${THREADS:-4}"
ROUNDS="${ROUNDS:-150}"
INTERVAL="${INTERVAL:-524288}"
HZ3_ONLY="${HZ3_ONLY:-0}"
ASPROF="${ASPROF:-1}"
BENCH=cost.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
OUT="${OUT:-$root/bench/results/raw-attribution-cost-$(date -u +%Y%m%dT%H%M%SZ)}"

need_counts REPS THREADS ROUNDS INTERVAL
[[ $# -gt 0 ]] || set -- "now=agent/target/hz3-agent.jar"
require_tools java jstat
copy_attribution_build Churn
if [[ "$ASPROF" == 1 ]]; then
  fetch_async_profiler
  cp "$ap_lib" "$build/"
fi
labels=()
for arg in "$@"; do
  [[ "$arg" =~ ^([A-Za-z0-9_-]+)=(.+)$ ]] || die "'$arg': give LABEL=PATH-TO-AGENT-JAR"
  [[ -f "${BASH_REMATCH[2]}" ]] || die "${BASH_REMATCH[2]}: no such agent jar"
  cp "${BASH_REMATCH[2]}" "$build/agent-${BASH_REMATCH[1]}.jar"
  labels+=("${BASH_REMATCH[1]}")
done
configs=(off)
[[ "$HZ3_ONLY" == 1 ]] && configs+=(hz3-sampling)
[[ "$ASPROF" == 1 ]] && configs+=(asprof)
for l in "${labels[@]}"; do configs+=("on-$l"); done
for l in "${labels[@]}"; do
  mkdir -p "$OUT/xdg-$l"
  chmod 700 "$OUT/xdg-$l"
done

# run_phases's hooks: RSS at every look, jstat from work-start.
on_poll() {
  local r
  r="$(awk '/^VmRSS:/ {print $2}' "/proc/$jpid/status" 2>/dev/null || true)"
  if [[ -n "$r" ]]; then rss_sum=$((rss_sum + r)); rss_n=$((rss_n + 1)); fi
}
on_work_start() {
  # Metaspace from the JVM's perf data every 200 ms till it exits (jstat takes a second or
  # more to start on a loaded box): the last line is read.
  jstat -gc "$jpid" 200 >"$base.jstat" 2>/dev/null &
}

churn_field() {   # churn_field NAME FILE: the value of NAME= on Churn's final line
  sed -n "s/^Churn: .* $1=\(-\{0,1\}[0-9]*\).*/\1/p" "$2"
}

run_one() {   # run_one CONFIG REP: one run; appends a row to raw.tsv
  local cfg="$1" rep="$2" base="$OUT/$1-$2" agent sampling=() ap=() xdg="$OUT/xdg-${labels[0]}"
  [[ "$cfg" == on-* ]] && xdg="$OUT/xdg-${cfg#on-}"
  if [[ "$cfg" == off ]]; then
    agent="-javaagent:$build/agent-${labels[0]}.jar"
  elif [[ "$cfg" == hz3-sampling ]]; then
    agent="-javaagent:$build/agent-${labels[0]}.jar"
    sampling=("HZ3_SAMPLE_BYTES=$INTERVAL")
  elif [[ "$cfg" == asprof ]]; then
    agent="-javaagent:$build/agent-${labels[0]}.jar"
    ap=(-agentpath:"$build/libasyncProfiler.so=start,nativemem=$INTERVAL,file=$base-ap.jfr")
  else
    agent="-javaagent:$build/agent-${cfg#on-}.jar=attribution=on,sampleBytes=$INTERVAL"
  fi
  local cmd=(env "LD_PRELOAD=$build/libhz3.so" "XDG_RUNTIME_DIR=$xdg" "${sampling[@]}" java "${jvm[@]}" "${ap[@]}" "$agent"
    -XX:StartFlightRecording:filename="$base.jfr",settings="$build/hz3.jfc"
    -cp "$build/samples-classes" dev.hz3.samples.Churn --threads "$THREADS" --rounds "$ROUNDS" --idle-after 3)
  local rc jpid cpu0 cpu1 meta="" rss_sum=0 rss_n=0
  run_phases "$base" "${cmd[@]}"
  [[ "$rc" -eq 0 ]] || die "run $cfg-$rep failed (see $base.err)"
  wait   # jstat ends with the JVM
  # MU: metaspace used, KB, at jstat's last sample (the idle after work-end)
  meta="$(awk 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "MU") c = i} c && $1 ~ /^[0-9]/ {m = $c} END {print m}' "$base.jstat" 2>/dev/null || true)"
  [[ -n "$cpu0" && -n "$cpu1" && -n "$meta" ]] || die "run $cfg-$rep: could not read the JVM at its PHASE lines"
  if [[ "$cfg" == on-* ]]; then
    grep -q "hz3 samples too" "$base.err" || die "run $cfg-$rep: attribution did not start under hz3 (see $base.err)"
  fi
  if [[ "$cfg" == asprof ]]; then
    [[ -s "$base-ap.jfr" ]] || die "run $cfg-$rep: async-profiler wrote no recording (see $base.err)"
  fi
  local real user sys maxrss work_ms workers jit
  read -r real user sys maxrss < <(tail -1 "$base.time")
  work_ms="$(churn_field work_ms "$base.out")"
  workers="$(churn_field workers_cpu_ms "$base.out" | awk '{printf "%.2f", $1 / 1000}')"
  jit="$(churn_field jit_cpu_ms "$base.out" | awk '$1 >= 0 {printf "%.2f", $1 / 1000} $1 < 0 {print "-"}')"
  [[ -n "$work_ms" && -n "$workers" && -n "$jit" ]] || die "run $cfg-$rep: no work_ms, workers_cpu_ms or jit_cpu_ms on Churn's last line (see $base.out)"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$cfg" \
    "$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u + s}')" "$cpu0" \
    "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.2f", b - a}')" "$workers" "$jit" "$work_ms" "$maxrss" \
    "$((rss_sum / (rss_n > 0 ? rss_n : 1)))" "$meta" "$real" >>"$OUT/raw.tsv"
  echo "cost.sh: $cfg rep $rep: cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}') startup=$cpu0 work_ms=$work_ms maxrss_kb=$maxrss meta_kb=$meta" >&2
  rm -f "$base.jfr" "$base-ap.jfr"
}

for l in "${labels[@]}"; do   # each jar's woven classes made and kept (see above)
  for k in 1 2; do
    env "LD_PRELOAD=$build/libhz3.so" "XDG_RUNTIME_DIR=$OUT/xdg-$l" java "${jvm[@]}" \
      "-javaagent:$build/agent-$l.jar=attribution=on,sampleBytes=$INTERVAL" \
      -XX:StartFlightRecording:filename="$OUT/warm-up.jfr",settings="$build/hz3.jfc" \
      -cp "$build/samples-classes" dev.hz3.samples.Churn --threads "$THREADS" --rounds 2 \
      >"$OUT/warm-up-$l-$k.out" 2>&1 || die "warm-up run of $l failed (see $OUT/warm-up-$l-$k.out)"
  done
done
rm -f "$OUT/warm-up.jfr"
printf 'rep\tcfg\tcpu_s\tstartup_cpu_s\twork_cpu_s\tworkers_cpu_s\tjit_cpu_s\twork_ms\tmaxrss_kb\trss_mean_kb\tmetaspace_kb\treal_s\n' >"$OUT/raw.tsv"
load_before="$(load_average)"
for ((rep = 1; rep <= REPS; rep++)); do
  for c in $(rotation "$rep" "${configs[@]}"); do run_one "$c" "$rep"; done
done
load_after="$(load_average)"

echo "cost.sh: $REPS reps, Churn --threads $THREADS --rounds $ROUNDS, sampleBytes=$INTERVAL; load average before $load_before, after $load_after; $(java -version 2>&1 | head -1)"
awk -F'\t' -v order="${configs[*]}" '
  NR == 1 {for (i = 3; i <= NF; i++) name[i] = $i; nf = NF; next}
  {for (i = 3; i <= nf; i++) if ($i ~ /^[0-9.]+$/) v[$2, i, ++n[$2, i]] = $i}   # "-": not read
  function median(c, i,   m, k, j, t, a) {
    m = n[c, i]; for (k = 1; k <= m; k++) a[k] = v[c, i, k] + 0
    for (k = 2; k <= m; k++) {t = a[k]; for (j = k - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t}
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
  END {
    split(order, cs, " ")
    printf "| config |"; for (i = 3; i <= nf; i++) printf " %s |", name[i]; print ""
    printf "|---|"; for (i = 3; i <= nf; i++) printf "---:|"; print ""
    for (c = 1; c in cs; c++) {
      printf "| %s |", cs[c]
      for (i = 3; i <= nf; i++) {
        m = median(cs[c], i); b = median("off", i)
        if (cs[c] == "off" || b == 0) printf " %s |", m; else printf " %s (x%.3f) |", m, m / b
      }
      print ""
    }
  }' "$OUT/raw.tsv"
