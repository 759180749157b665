# bench/attribution/common.sh: the set-up that the attribution benches share (compare.sh,
# cost.sh), on top of bench/agent/common.sh (root, hz, die, need_counts, require_built,
# require_tools, copy_build, proc_cpu). Source it after setting BENCH (the script's name, for
# the messages); it sets here (this folder) and jvm (the JVM options of every run), and defines
# the functions below. OUT (the raw directory) must be set before copy_attribution_build.

# shellcheck source=../agent/common.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../agent/common.sh"
here="$root/bench/attribution"

# The direct buffers of NativeLeak and NativeCache outgrow the default limit (the heap's size).
jvm=(-Xmx256m -XX:MaxDirectMemorySize=1g)

# copy_attribution_build SAMPLE: hz3, hz3.jfc and the samples (with class SAMPLE) are built;
# copies them into $OUT/build (libhz3.so, hz3.jfc, samples-classes/) and sets build to it. The
# runs use these copies: a rebuild of the tree meanwhile changes nothing here.
copy_attribution_build() {
  require_built native-hz3,jfr-events,agent/core,agent,samples agent/target/hz3.jfc \
    native-hz3/target/lib/libhz3.so "samples/target/classes/dev/hz3/samples/$1.class"
  [[ -x /usr/bin/time ]] || die "needs /usr/bin/time (apt-get install time)"
  build="$OUT/build"
  copy_build "$build" native-hz3/target/lib/libhz3.so agent/target/hz3.jfc
  cp -r samples/target/classes "$build/samples-classes"
}

# rotation REP CONFIG...: the configurations in rep REP's order, one a line: each rep starts one
# further along (a b c, then b c a, ...), so that a drift of the machine falls on all alike.
rotation() {
  local rep="$1" k; shift
  for ((k = 0; k < $#; k++)); do
    local i=$(((rep - 1 + k) % $# + 1))
    echo "${!i}"
  done
}

# run_phases BASE CMD...: runs CMD (env ... java ...) under /usr/bin/time (BASE.time: wall, user,
# sys, max RSS), its output to BASE.out and BASE.err, and watches it every 20 ms: sets jpid (the
# JVM), cpu0 and cpu1 (its CPU seconds when the workload's PHASE work-start and work-end lines
# appear, so that start-up is apart) and rc (CMD's exit status). The caller's on_poll,
# on_work_start and on_work_end, where defined, run at each look, right after cpu0 is read and
# right after cpu1 is; run_phases returns at work-end unless on_poll is defined (which then
# looks until the JVM exits).
run_phases() {
  local base="$1" tpid; shift
  jpid="" cpu0="" cpu1="" rc=0
  /usr/bin/time -f '%e %U %S %M' -o "$base.time" "$@" >"$base.out" 2>"$base.err" &
  tpid=$!
  while kill -0 "$tpid" 2>/dev/null; do
    [[ -n "$jpid" ]] || jpid="$(pgrep -P "$tpid" | head -1 || true)"
    if [[ -n "$jpid" ]]; then
      if declare -F on_poll >/dev/null; then on_poll; fi
      if [[ -z "$cpu0" ]] && grep -q '^PHASE work-start' "$base.out"; then
        cpu0="$(proc_cpu "$jpid" 2>/dev/null || true)"
        if declare -F on_work_start >/dev/null; then on_work_start; fi
      fi
      if [[ -n "$cpu0" && -z "$cpu1" ]] && grep -q '^PHASE work-end' "$base.out"; then
        cpu1="$(proc_cpu "$jpid" 2>/dev/null || true)"
        if declare -F on_work_end >/dev/null; then on_work_end; fi
        declare -F on_poll >/dev/null || break
      fi
    fi
    sleep 0.02
  done
  wait "$tpid" || rc=$?
}

# load_average: the 1, 5 and 15 minute load averages now.
load_average() {
  cut -d' ' -f1-3 /proc/loadavg
}

# fetch_async_profiler: sets ap_lib to async-profiler's libasyncProfiler.so (version AP_VERSION,
# 4.1 unless set), from Maven Central (tools.profiler:async-profiler) through mvn
# dependency:copy into bench/attribution/target/ (git-ignored; the local repository first,
# then the network), never committed.
fetch_async_profiler() {
  local v="${AP_VERSION:-4.1}" ap_dir
  ap_dir="$here/target/async-profiler-$v"
  ap_lib="$ap_dir/linux-x64/libasyncProfiler.so"
  if [[ ! -f "$ap_lib" ]]; then
    require_tools mvn unzip
    mkdir -p "$here/target"
    local get=(org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy
      "-Dartifact=tools.profiler:async-profiler:$v" "-DoutputDirectory=$here/target")
    (cd "$here/target" && { mvn -B -q -o "${get[@]}" || mvn -B -q "${get[@]}"; }) >/dev/null \
      || die "could not get tools.profiler:async-profiler:$v with mvn dependency:copy"
    unzip -q -o "$here/target/async-profiler-$v.jar" 'linux-x64/*' -d "$ap_dir"
  fi
  [[ -f "$ap_lib" ]] || die "no linux-x64/libasyncProfiler.so in async-profiler-$v.jar"
}
