# bench/agent/common.sh: the set-up that the JVM benches with the agent share (bench/agent/overhead.sh,
# bench/agent/soak.sh, bench/metrics/scrape-cost.sh, and through bench/attribution/common.sh the
# attribution benches). Source it; it sets root (the checkout, also the working directory), hz
# (clock ticks per second) and the functions below. Each caller sets BENCH (its name, for the
# messages) first.

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
cd "$root"
hz="$(getconf CLK_TCK)"

die() { echo "${BENCH:-bench}: $*" >&2; exit 1; }

# require_built MODULES FILE...: every FILE exists, else one line naming it and the build to run
# (mvn ... package -pl MODULES).
require_built() {
  local modules="$1" f; shift
  for f in "$@"; do
    [[ -e "$f" ]] || die "$f is missing: build with mvn -B -q -DskipTests package -pl $modules"
  done
}

# require_tools TOOL...: every TOOL is on PATH.
require_tools() {
  local t
  for t in "$@"; do command -v "$t" >/dev/null || die "$t not on PATH"; done
}

# copy_build DIR PATH...: copies each PATH (a file, or a directory whole) into DIR. The runs use
# these copies: a rebuild of the tree during the runs (other work on the machine) must neither
# change what is measured nor pull files away from a running JVM.
copy_build() {
  local dir="$1"; shift
  mkdir -p "$dir"
  cp -r "$@" "$dir/" || die "copying the build into $dir failed"
}

# proc_cpu PID: the process's utime + stime in seconds.
proc_cpu() {
  awk -v hz="$hz" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"
}

# thread_cpu_ns PID NAME: nanoseconds on CPU of PID's thread named NAME (schedstat: exact, where
# utime+stime count whole 10 ms ticks), or 0 when there is no such thread.
thread_cpu_ns() {
  local t
  for t in /proc/"$1"/task/*; do
    if [[ "$(cat "$t/comm" 2>/dev/null)" == "$2" ]]; then cut -d' ' -f1 "$t/schedstat"; return; fi
  done
  echo 0
}

# free_port: a TCP port free on 127.0.0.1 now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# need_counts VAR...: each named variable holds a positive whole number, else one line naming it.
need_counts() {
  local v
  for v in "$@"; do [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v=${!v}: need a positive whole number"; done
}

# copy_agent_build SAMPLE: the agent (AGENT_JAR, default agent/target/hz3-agent.jar), hz3 and
# samples' class SAMPLE are built; copies them into $OUT/build (hz3-agent.jar, libhz3.so,
# classes/). OUT is the caller's raw directory: unset, a temporary one removed at exit.
copy_agent_build() {
  local jar="${AGENT_JAR:-agent/target/hz3-agent.jar}"
  require_built native-hz3,jfr-events,agent/core,agent,samples "$jar" \
    native-hz3/target/lib/libhz3.so "samples/target/classes/dev/hz3/samples/$1.class"
  if [[ -z "${OUT:-}" ]]; then
    OUT="$(mktemp -d "${TMPDIR:-/tmp}/$BENCH.XXXXXX")"
    trap 'rm -rf "$OUT"' EXIT
  fi
  mkdir -p "$OUT"
  copy_build "$OUT/build" native-hz3/target/lib/libhz3.so samples/target/classes
  cp "$jar" "$OUT/build/hz3-agent.jar"
}

# median: the median of the numbers on standard input, one a line (NA when there are none).
median() {
  sort -g | awk '{v[NR] = $1} END {if (NR == 0) {print "NA"; exit} if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# alternate_runs REPS A B: REPS reps of the caller's `run_one CFG REP` for A and B, the order
# swapped every rep (A B, then B A, ...) so that a drift of the machine falls on both alike;
# each run's line goes to standard output and to $OUT/raw.
alternate_runs() {
  local rep c order
  for ((rep = 1; rep <= $1; rep++)); do
    if ((rep % 2)); then order=("$2" "$3"); else order=("$3" "$2"); fi
    for c in "${order[@]}"; do run_one "$c" "$rep" | tee -a "$OUT/raw"; done
  done
}
