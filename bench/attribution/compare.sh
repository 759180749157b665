#!/usr/bin/env bash
# bench/attribution/compare.sh: hz3's native attribution (the agent's attribution=on) against
# async-profiler's native-memory profiling (nativemem), side by side in one run (issue 10):
# what each costs a JVM workload, and what each tells its user about a leak and a cache.
#
#   bash bench/attribution/compare.sh                 # 5 reps
#   REPS=1 SECONDS_RUN=4 ROUNDS=100 bash bench/attribution/compare.sh   # a quick check
#
# Configurations, in rotation within each rep (a b c d e, then b c d e a, ...):
#   a  hz3 preloaded, hz3 agent, attribution off, JFR with hz3.jfc
#   b  the same with attribution=on,sampleBytes=512k
#   c  glibc, async-profiler -agentpath:...=start,nativemem=512k,file=REC.jfr
#   d  glibc, no profiler
#   e  hz3 preloaded, async-profiler as in c (no hz3 agent)
# Workloads (samples/): Churn --threads THREADS --rounds ROUNDS (fixed work: the cost), and
# NativeLeak (Deflaters never ended, direct buffers kept) and NativeCache (grows to its bound,
# then holds), each --seconds SECONDS_RUN at a fixed request rate. Then once, Fragment under b
# and c: survivors pinning partly used pages.
# For a and b the leak/cache recordings use hz3.jfc with hz3.NativeSite every second (the
# growth rule needs 4 points), Churn uses hz3.jfc as shipped (every 10 s).
# Per run: /usr/bin/time's wall, user+sys and max RSS, VmRSS at PHASE work-end, the recording's
# size; per leak/cache run the sites each tool names with their bytes (Verdicts.java), against
# the workload's own count (its final line and zlib's memory formula); for every b run (and rep 1
# of a) the hz3 rules' verdicts (bin/hz3-report's summary).
#
# async-profiler 4.1 comes from Maven Central (tools.profiler:async-profiler) through
# mvn dependency:copy into bench/attribution/target/ (git-ignored), never committed.
#
# Knobs: REPS (5), CONFIGS ("a b c d e"), WORKLOADS ("Churn NativeLeak NativeCache"), THREADS (4),
# ROUNDS (150 per thread), SECONDS_RUN (8), LEAK_MIB (16 a second), CACHE_MIB (64), INTERVAL
# (524288), PIN (1: the Fragment pass), OUT (raw directory; default
# bench/results/raw-attribution-UTC), REPORT (bench/results/attribution-latest.md; none to skip).
set -euo pipefail

REPS="${REPS:-5}"
CONFIGS="${CONFIGS:-a b c d e}"
WORKLOADS="${WORKLOADS:-Churn NativeLeak NativeCache}"
THREADS="${THREADS:-4}"
ROUNDS="${ROUNDS:-150}"
SECONDS_RUN="${SECONDS_RUN:-8}"
LEAK_MIB="${LEAK_MIB:-16}"
CACHE_MIB="${CACHE_MIB:-64}"
INTERVAL="${INTERVAL:-524288}"
PIN="${PIN:-1}"
BENCH=compare.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
OUT="${OUT:-$root/bench/results/raw-attribution-$(date -u +%Y%m%dT%H%M%SZ)}"
REPORT="${REPORT:-$root/bench/results/attribution-latest.md}"

need_counts REPS THREADS ROUNDS SECONDS_RUN LEAK_MIB CACHE_MIB INTERVAL
read -r -a configs <<<"$CONFIGS"
read -r -a workloads <<<"$WORKLOADS"
for c in "${configs[@]}"; do [[ "$c" =~ ^[a-e]$ ]] || die "CONFIGS: unknown configuration '$c' (a..e)"; done
for w in "${workloads[@]}"; do [[ "$w" =~ ^(Churn|NativeLeak|NativeCache)$ ]] || die "WORKLOADS: unknown workload '$w'"; done
require_built native-hz3,jfr-events,agent/core,agent,samples agent/target/hz3-agent.jar
require_tools java javac mvn unzip
copy_attribution_build NativeLeak

fetch_async_profiler

mkdir -p "$here/target/classes"
javac -nowarn -d "$here/target/classes" "$here/Verdicts.java" 2>"$OUT/javac.log" \
  || { cat "$OUT/javac.log" >&2; die "javac failed"; }

cp agent/target/hz3-agent.jar "$ap_lib" "$build/"
lib="$build/libhz3.so"
awk '/<event name="hz3.NativeSite">/ {f = 1} f && /period/ {sub(/>[^<]*</, ">1 s<"); f = 0} {print}' \
  "$build/hz3.jfc" >"$build/hz3-sites-1s.jfc"
grep -A2 'hz3.NativeSite' "$build/hz3-sites-1s.jfc" | grep -q '>1 s<' || die "could not set hz3.NativeSite's period"

args_of() {   # args_of WORKLOAD: the workload's command line
  case "$1" in
    Churn) echo "dev.hz3.samples.Churn --threads $THREADS --rounds $ROUNDS --idle-after 1" ;;
    NativeLeak) echo "dev.hz3.samples.NativeLeak --size $LEAK_MIB --seconds $SECONDS_RUN --idle-after 1" ;;
    NativeCache) echo "dev.hz3.samples.NativeCache --size $CACHE_MIB --seconds $SECONDS_RUN --idle-after 1" ;;
    Fragment) echo "dev.hz3.samples.Fragment --threads 2 --size 64 --seconds $SECONDS_RUN --idle-after 1" ;;
  esac
}

run_one() {   # run_one CONFIG WORKLOAD REP: one run; appends a row to raw.tsv
  local cfg="$1" wl="$2" rep="$3" base="$OUT/$2-$1-$3" jfc="$build/hz3-sites-1s.jfc" cmd
  [[ "$wl" == Churn ]] && jfc="$build/hz3.jfc"
  local rec=(-XX:StartFlightRecording:filename="$base.jfr",settings="$jfc")
  local ap=(-agentpath:"$build/libasyncProfiler.so=start,nativemem=$INTERVAL,file=$base.jfr")
  read -r -a work <<<"$(args_of "$wl")"
  work=(-cp "$build/samples-classes" "${work[@]}")
  case "$cfg" in
    a) cmd=(env "LD_PRELOAD=$lib" java "${jvm[@]}" -javaagent:"$build/hz3-agent.jar" "${rec[@]}" "${work[@]}") ;;
    b) cmd=(env "LD_PRELOAD=$lib" java "${jvm[@]}" -javaagent:"$build/hz3-agent.jar=attribution=on,sampleBytes=$INTERVAL" "${rec[@]}" "${work[@]}") ;;
    c) cmd=(env -u LD_PRELOAD java "${jvm[@]}" "${ap[@]}" "${work[@]}") ;;
    d) cmd=(env -u LD_PRELOAD java "${jvm[@]}" "${work[@]}") ;;
    e) cmd=(env "LD_PRELOAD=$lib" java "${jvm[@]}" "${ap[@]}" "${work[@]}") ;;
  esac
  printf '%q ' "${cmd[@]}" >"$base.cmd"
  local rc jpid cpu0 cpu1
  run_phases "$base" "${cmd[@]}"
  [[ "$rc" -eq 0 ]] || die "run $wl-$cfg-$rep exited with status $rc (see $base.err)"
  [[ -n "$cpu0" && -n "$cpu1" ]] || die "run $wl-$cfg-$rep: could not read the JVM's CPU at the PHASE lines"
  case "$cfg" in
    a | b) grep -q "hz3 events on" "$base.err" || die "run $wl-$cfg-$rep: the agent did not report 'hz3 events on' (see $base.err)" ;;
  esac
  if [[ "$cfg" == b ]]; then
    grep -q "hz3 samples too" "$base.err" || die "run $wl-$cfg-$rep: attribution did not say hz3 samples too (see $base.err)"
  fi
  local real user sys maxrss rss_end size=0
  read -r real user sys maxrss < <(tail -1 "$base.time")
  rss_end="$(sed -n 's/^PHASE work-end .* rss_kb=\([0-9]*\).*/\1/p' "$base.out")"
  [[ -n "$rss_end" ]] || die "run $wl-$cfg-$rep: no PHASE work-end line in $base.out"
  [[ -f "$base.jfr" ]] && size="$(stat -c %s "$base.jfr")"
  local work_ms="-"
  if [[ "$wl" == Churn ]]; then
    work_ms="$(sed -n 's/^Churn: .* work_ms=\([0-9]*\).*/\1/p' "$base.out")"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$wl" "$cfg" "$real" "$user" "$sys" "$maxrss" "$rss_end" "$size" "$work_ms" \
    "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.2f", b - a}')" >>"$OUT/raw.tsv"
  echo "compare.sh: $wl $cfg rep $rep: real=$real cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}') rss_end_kb=$rss_end rec=$size" >&2
  # What the run's recording tells about the app's sites.
  case "$cfg" in
    a | b) java -cp "$here/target/classes" Verdicts hz3 "$base.jfr" dev.hz3.samples ;;
    c | e) java -cp "$here/target/classes" Verdicts asprof "$base.jfr" dev.hz3.samples "$INTERVAL" ;;
    *) true ;;
  esac | sed "s/^/$rep\t$wl\t$cfg\t/" >>"$OUT/sites.tsv"
  if [[ "$wl" != Churn && ( "$cfg" == b || ( "$cfg" == a && "$rep" == 1 ) ) ]]; then
    bin/hz3-report "$base.jfr" "$base.html" >"$base.report" 2>&1 || true
  fi
  if [[ "$cfg" != d && "$wl" == Churn ]]; then rm -f "$base.jfr"; fi   # the size is kept; the data is big
}

printf 'rep\tworkload\tcfg\treal_s\tuser_s\tsys_s\tmaxrss_kb\trss_end_kb\trec_bytes\twork_ms\twork_cpu_s\n' >"$OUT/raw.tsv"
: >"$OUT/sites.tsv"
t_start="$(date -u)"
load_before="$(load_average)"
for ((rep = 1; rep <= REPS; rep++)); do
  for wl in "${workloads[@]}"; do
    for c in $(rotation "$rep" "${configs[@]}"); do run_one "$c" "$wl" "$rep"; done
  done
done
if [[ "$PIN" == 1 ]]; then
  for c in b c; do run_one "$c" Fragment 1; done
fi
load_after="$(load_average)"
{
  echo "t_start=\"$t_start\""
  echo "load_before=\"$load_before\""
  echo "load_after=\"$load_after\""
  echo "commit=\"$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)\""
  echo "jdk=\"$(java -version 2>&1 | head -1)\""
} >"$OUT/state.env"

bash "$here/report.sh" "$OUT" >"$OUT/summary.md"
if [[ "$REPORT" != none ]]; then cp "$OUT/summary.md" "$REPORT"; fi
cat "$OUT/summary.md"
