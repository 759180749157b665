#!/usr/bin/env bash
# bench/agent/overhead.sh: what the hz3 agent costs a JVM workload under a continuous JFR
# recording, and how long an epoch takes to become a hz3.Epoch event (issue 5).
#
#   bash bench/agent/overhead.sh                  # 5 reps of each configuration
#   REPS=1 ROUNDS=500 bash bench/agent/overhead.sh   # a quick check
#
# Configurations, run in rotation within each rep (a b c, then b c a, then c a b, ...):
#   a  hz3 preloaded, -XX:StartFlightRecording settings=default, no agent
#   b  the same plus the agent (bin/hz3-java: -javaagent, settings=default,settings=hz3.jfc)
#   c  glibc malloc, settings=default, no agent (reference)
# The workload is samples' Churn with a fixed amount of work (THREADS threads x ROUNDS rounds
# each): throughput = rounds / the work phase's time (Churn's work_ms); CPU = the JVM's
# user+sys over the whole process (bash's time), per round, so the agent's start-up and the
# recording's extra data at exit count against it.
# Epoch-to-event latency comes from b's recordings (bench/agent/JfrStats.java).
#
# Knobs: REPS (5), ROUNDS (3000 per thread), THREADS (4), CONFIGS ("a b c"), HEAP (-Xmx512m),
# RESULTS_DIR (bench/results), OUT (raw directory; default RESULTS_DIR/raw-agent-overhead-UTC),
# REPORT (RESULTS_DIR/agent-overhead-latest.md; none to skip). See bench/README.md.
set -euo pipefail

BENCH=overhead.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"

REPS="${REPS:-5}"
ROUNDS="${ROUNDS:-3000}"
THREADS="${THREADS:-4}"
CONFIGS="${CONFIGS:-a b c}"
HEAP="${HEAP:--Xmx512m}"
RESULTS_DIR="${RESULTS_DIR:-$root/bench/results}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${OUT:-$RESULTS_DIR/raw-agent-overhead-$stamp}"
REPORT="${REPORT:-$RESULTS_DIR/agent-overhead-latest.md}"

[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "REPS=$REPS: need a positive whole number"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS=$ROUNDS: need a positive whole number"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "THREADS=$THREADS: need a positive whole number"
read -r -a configs <<<"$CONFIGS"
for c in "${configs[@]}"; do [[ "$c" == a || "$c" == b || "$c" == c ]] || die "CONFIGS: unknown configuration '$c' (a, b, c)"; done
require_built native-hz3,jfr-events,agent/core,agent,samples agent/target/hz3-agent.jar \
  agent/target/hz3.jfc native-hz3/target/lib/libhz3.so samples/target/classes/dev/hz3/samples/Churn.class
require_tools java javac

mkdir -p "$OUT" bench/agent/target/classes
javac -nowarn -d bench/agent/target/classes bench/agent/JfrStats.java 2>"$OUT/javac.log" \
  || { cat "$OUT/javac.log" >&2; die "javac failed"; }

# Every run uses one copy of the build, taken now (copy_build says why).
build="$OUT/build"
copy_build "$build" native-hz3/target/lib/libhz3.so agent/target/hz3-agent.jar agent/target/hz3.jfc samples/target/classes
lib="$build/libhz3.so"
jfc="$build/hz3.jfc"
export HZ3_LIB="$lib" HZ3_AGENT_JAR="$build/hz3-agent.jar"   # for bin/hz3-java
# --idle-after 1: the JVM idles for a second after PHASE work-end, so the work-end readings
# of /proc are taken while it is still whole (not during its shutdown).
work=(-cp "$build/classes" dev.hz3.samples.Churn --threads "$THREADS" --rounds "$ROUNDS" --idle-after 1)

tasks_snap() {   # tasks_snap PID: "tid<TAB>thread name<TAB>utime+stime ticks" for each thread
  awk '{ i = index($0, "("); j = 0
         for (k = length($0); k > 0; k--) if (substr($0, k, 1) == ")") {j = k; break}
         comm = substr($0, i + 1, j - i - 1); split(substr($0, j + 2), f, " ")
         split(FILENAME, p, "/"); printf "%s\t%s\t%d\n", p[5], comm, f[12] + f[13] }' /proc/"$1"/task/*/stat 2>/dev/null || true
}

run_one() {   # run_one CONFIG REP: one run; appends a row to raw.tsv
  local cfg="$1" rep="$2" base="$OUT/$1-$2" cmd
  case "$cfg" in
    a) cmd=(env "LD_PRELOAD=$lib" java "$HEAP" "-XX:StartFlightRecording:settings=default,filename=$base.jfr" "${work[@]}") ;;
    b) cmd=(bin/hz3-java "$HEAP" "-XX:StartFlightRecording:settings=default,settings=$jfc,filename=$base.jfr" "${work[@]}") ;;
    c) cmd=(env -u LD_PRELOAD java "$HEAP" "-XX:StartFlightRecording:settings=default,filename=$base.jfr" "${work[@]}") ;;
  esac
  printf '%q ' "${cmd[@]}" >"$base.cmd"
  # /usr/bin/time: the whole process's CPU, exactly (the JVM is its only child; env and
  # bin/hz3-java exec java). The JVM's CPU in the work phase: /proc/PID/stat read when Churn's
  # PHASE work-start and work-end lines appear (polled every 10 ms).
  local rc=0 tpid jpid="" cpu0="" cpu1=""
  /usr/bin/time -f '%e %U %S' -o "$base.time" "${cmd[@]}" >"$base.out" 2>"$base.err" &
  tpid=$!
  while kill -0 "$tpid" 2>/dev/null; do
    if [[ -z "$jpid" ]]; then jpid="$(pgrep -P "$tpid" | head -1 || true)"; fi
    if [[ -n "$jpid" && -z "$cpu0" ]] && grep -q '^PHASE work-start' "$base.out"; then
      cpu0="$(proc_cpu "$jpid")"; tasks_snap "$jpid" >"$base.tasks0"
    fi
    if [[ -n "$cpu0" ]] && grep -q '^PHASE work-end' "$base.out"; then
      cpu1="$(proc_cpu "$jpid")"; tasks_snap "$jpid" >"$base.tasks1"
      break
    fi
    sleep 0.01
  done
  wait "$tpid" || rc=$?
  [[ "$rc" -eq 0 ]] || die "run $cfg-$rep exited with status $rc (see $base.err)"
  [[ -n "$cpu0" && -n "$cpu1" ]] || die "run $cfg-$rep: could not read the JVM's CPU at the PHASE lines"
  local line rounds work_ms real user sys
  line="$(grep -E '^Churn: .*work_ms=' "$base.out")" || die "run $cfg-$rep: no final Churn line in $base.out"
  rounds="$(sed -n 's/.* rounds=\([0-9]*\) .*/\1/p' <<<"$line")"
  work_ms="$(sed -n 's/.* work_ms=\([0-9]*\).*/\1/p' <<<"$line")"
  read -r real user sys < <(tail -1 "$base.time")
  if [[ "$cfg" == b ]] && ! grep -q "hz3 events on" "$base.err"; then
    die "run b-$rep: the agent did not report 'hz3 events on' (see $base.err)"
  fi
  local work_cpu; work_cpu="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.2f", b - a}')"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$cfg" "$rounds" "$work_ms" "$real" "$user" "$sys" "$work_cpu" >>"$OUT/raw.tsv"
  echo "overhead.sh: $cfg rep $rep: rounds=$rounds work_ms=$work_ms work_cpu_s=$work_cpu real=$real user=$user sys=$sys" >&2
}

printf 'rep\tcfg\trounds\twork_ms\treal_s\tuser_s\tsys_s\twork_cpu_s\n' >"$OUT/raw.tsv"
t_start="$(date -u)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
nc=${#configs[@]}
for ((rep = 1; rep <= REPS; rep++)); do
  for ((k = 0; k < nc; k++)); do
    run_one "${configs[$(((rep - 1 + k) % nc))]}" "$rep"
  done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- analysis ----

col() {   # col CFG EXPR: one value per run of CFG (awk expression over the raw columns)
  awk -F'\t' -v c="$1" "NR > 1 && \$2 == c {printf \"%.6f\\n\", $2}" "$OUT/raw.tsv"
}
TPUT='$3 / ($4 / 1000)'                 # rounds per second of work
CPUR='($6 + $7) * 1000 / $3'            # CPU ms per round (user+sys, whole process)
CPUS='$6 + $7'
CPUW='$8 * 1000 / $3'                   # CPU ms per round in the work phase
declare -A mt mc mw
for c in "${configs[@]}"; do
  mt[$c]="$(col "$c" "$TPUT" | median | awk '{printf "%.1f", $1}')"
  mc[$c]="$(col "$c" "$CPUR" | median | awk '{printf "%.4f", $1}')"
  mw[$c]="$(col "$c" "$CPUW" | median | awk '{printf "%.4f", $1}')"
done
# paired ratios: b/a within each rep
paired() {   # paired EXPR: median over reps of value(b)/value(a)
  awk -F'\t' "NR > 1 {v[\$1 \" \" \$2] = $1; r[\$1] = 1}
    END {for (k in r) if ((k \" a\") in v && (k \" b\") in v) printf \"%.6f\\n\", v[k \" b\"] / v[k \" a\"]}" "$OUT/raw.tsv" | median | awk '{printf "%.4f", $1}'
}

lat_b="NA"
if [[ " ${configs[*]} " == *" b "* ]]; then
  lat_b="$(java -cp bench/agent/target/classes JfrStats latency "$OUT"/b-*.jfr)"
fi
# Work-phase CPU per thread group (thread names with their numbers replaced by *), from the
# per-thread /proc snapshots at work-start and work-end; a thread that ended in between is missed.
for c in "${configs[@]}"; do
  for f in "$OUT/$c"-*.tasks1; do
    r="${f%.tasks1}"
    awk -F'\t' -v c="$c" -v rep="${r##*-}" -v hz="$hz" 'FNR == NR {t0[$1] = $3; next}
      { g = $2; sub(/[0-9]+$/, "*", g); d[g] += $3 - ($1 in t0 ? t0[$1] : 0) }
      END {for (g in d) printf "%s\t%s\t%s\t%.2f\n", c, rep, g, d[g] / hz}' "$r.tasks0" "$f"
  done
done >"$OUT/threads.tsv"
thread_table() {
  awk -F'\t' -v cfgs="${configs[*]}" '
    {v[$1, $3] = v[$1, $3] " " $4; g[$3] = 1}
    function median(s,   n, a, i, j, t) { n = split(s, a, " "); if (n == 0) return 0
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) {t = a[i]; a[i] = a[j]; a[j] = t}
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    END {
      nc = split(cfgs, C, " ")
      printf "| thread group |"; for (i = 1; i <= nc; i++) printf " %s |", C[i]; print " b - a |"
      printf "|---|"; for (i = 1; i <= nc + 1; i++) printf "---:|"; print ""
      for (x in g) {
        line = "| " x " |"; show = 0
        for (i = 1; i <= nc; i++) {m[C[i]] = median(v[C[i], x]); line = line sprintf(" %.2f |", m[C[i]]); if (m[C[i]] >= 0.02) show = 1}
        line = line (("a" in m && "b" in m) ? sprintf(" %+.2f |", m["b"] - m["a"]) : " |")
        if (show) print line; delete m
      }
    }' "$OUT/threads.tsv" | { IFS= read -r h1; IFS= read -r h2; echo "$h1"; echo "$h2"; sort; }
}

declare -A names=([a]="a: hz3 + recording, no agent" [b]="b: hz3 + recording + agent" [c]="c: glibc + recording, no agent")
commit="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
dirty="$(git status --porcelain 2>/dev/null | wc -l)"
jdk="$(java -version 2>&1 | head -2 | tail -1)"
cpu_model="$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
ratio() { awk -v x="$1" -v y="$2" 'BEGIN {if (x == "NA" || y == "NA" || y == 0) print "NA"; else printf "%.4f", x / y}'; }

{
  echo "# Agent overhead (bench/agent/overhead.sh)"
  echo
  echo "- date: $t_start; load average before $load_before, after $load_after"
  echo "- machine: $cpu_model, nproc=$(nproc), kernel $(uname -r)"
  echo "- JDK: $jdk"
  echo "- git commit: $commit ($dirty files changed or untracked in the tree)"
  echo "- workload: Churn --threads $THREADS --rounds $ROUNDS ($((THREADS * ROUNDS)) rounds a run), $HEAP; $REPS reps, configurations in rotation; medians"
  echo "- raw data: ${OUT#$root/}"
  echo
  echo "| configuration | runs | rounds/s (median) | CPU ms/round, work phase (median) | CPU ms/round, whole process (median) | rounds/s per run | work-phase CPU s per run | whole-process CPU s per run |"
  echo "|---|---:|---:|---:|---:|---|---|---|"
  for c in "${configs[@]}"; do
    echo "| ${names[$c]} | $(col "$c" 1 | wc -l) | ${mt[$c]} | ${mw[$c]} | ${mc[$c]} | $(col "$c" "$TPUT" | awk '{printf "%.1f ", $1}')| $(col "$c" '$8' | awk '{printf "%.2f ", $1}')| $(col "$c" "$CPUS" | awk '{printf "%.2f ", $1}')|"
  done
  echo
  if [[ -n "${mt[a]:-}" && -n "${mt[b]:-}" ]]; then
    echo "| b / a | throughput | CPU per round, work phase | CPU per round, whole process |"
    echo "|---|---:|---:|---:|"
    echo "| ratio of medians | $(ratio "${mt[b]}" "${mt[a]}") | $(ratio "${mw[b]}" "${mw[a]}") | $(ratio "${mc[b]}" "${mc[a]}") |"
    echo "| median of per-rep ratios | $(paired "$TPUT") | $(paired "$CPUW") | $(paired "$CPUR") |"
    echo
  fi
  if [[ -n "${mt[c]:-}" && -n "${mt[a]:-}" ]]; then
    echo "Reference: a / c (hz3 against glibc, both without the agent): throughput $(ratio "${mt[a]}" "${mt[c]}"), CPU per round in the work phase $(ratio "${mw[a]}" "${mw[c]}"), whole process $(ratio "${mc[a]}" "${mc[c]}")."
    echo
  fi
  echo "Work-phase CPU seconds per thread group, median over the reps (groups under 0.02 s in every"
  echo "configuration left out; hz3's maintenance thread is native, a Java thread only in b, where"
  echo "JNA attaches it):"
  echo
  thread_table
  echo
  echo "hz3.Epoch epoch-to-event latency, all b runs (event commit time - (epochStart + epochDuration);"
  echo "epochStart is whole milliseconds, so each value is 0..1 ms above the true latency):"
  echo
  echo "    $lat_b"
} >"$OUT/summary.md"
if [[ "$REPORT" != none ]]; then
  cp "$OUT/summary.md" "$REPORT"
fi
cat "$OUT/summary.md"
