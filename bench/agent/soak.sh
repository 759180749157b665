#!/usr/bin/env bash
# bench/agent/soak.sh: the hz3 agent's own continuous recording (record= bounded by maxage= and
# maxsize=) for DURATION seconds, dumped on demand with `attach PID dump=FILE`, with the JVM's
# memory and threads, the agent's heap, the event rate and the JFR repository's size sampled over
# time, the slopes fitted, and the repository's size set against its bound (issues 5 and 12).
#
#   bash bench/agent/soak.sh                    # one hour
#   DURATION=120 bash bench/agent/soak.sh       # a quick end-to-end check
#
# Knobs: DURATION (3600 s), INTERVAL (30 s between samples), DUMP_EVERY (300 s between
# dumps; each must still hold the window since the last: see MAXSIZE), MAXAGE (30m), MAXSIZE
# (4m: the workload writes about 0.3 MiB a minute, so the size bound is reached in ~15 min and
# holds ~13 min), CHUNK (1m, JFR's maxchunksize: the repository may exceed maxsize by the chunk
# that ended last and the one being written), THREADS (2), RATE
# (100 rounds/s per thread), SIZE (32 MiB in flight), SPAWN_EVERY (10 s), FIT_FROM (fraction of
# the run after which the slopes are fitted, 0.5), RESULTS_DIR (bench/results), OUT (the raw
# directory; default RESULTS_DIR/raw-agent-soak-UTC), REPORT (RESULTS_DIR/agent-soak-latest.md;
# set REPORT=none to skip it).
# See bench/README.md ("Agent overhead and soak").
set -euo pipefail

BENCH=soak.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"

DURATION="${DURATION:-3600}"
INTERVAL="${INTERVAL:-30}"
DUMP_EVERY="${DUMP_EVERY:-300}"
MAXAGE="${MAXAGE:-30m}"
MAXSIZE="${MAXSIZE:-4m}"
CHUNK="${CHUNK:-1m}"
THREADS="${THREADS:-2}"
RATE="${RATE:-100}"
SIZE="${SIZE:-32}"
SPAWN_EVERY="${SPAWN_EVERY:-10}"
FIT_FROM="${FIT_FROM:-0.5}"
RESULTS_DIR="${RESULTS_DIR:-$root/bench/results}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${OUT:-$RESULTS_DIR/raw-agent-soak-$stamp}"
REPORT="${REPORT:-$RESULTS_DIR/agent-soak-latest.md}"

[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -ge 60 ]] || die "DURATION=$DURATION: need whole seconds, at least 60"
[[ "$INTERVAL" =~ ^[0-9]+$ && "$INTERVAL" -ge 5 ]] || die "INTERVAL=$INTERVAL: need whole seconds, at least 5"
[[ "$DUMP_EVERY" =~ ^[0-9]+$ && "$DUMP_EVERY" -ge 30 && "$DUMP_EVERY" -lt 600 ]] \
  || die "DUMP_EVERY=$DUMP_EVERY: need 30..599 s"
mib() {   # 4m, 1g -> MiB
  [[ "$1" =~ ^([0-9]+)([mMgG])$ ]] || die "$2=$1: need a size in m or g, e.g. 4m"
  case "${BASH_REMATCH[2]}" in m|M) echo "${BASH_REMATCH[1]}";; *) echo $((BASH_REMATCH[1] * 1024));; esac
}
maxsize_mib="$(mib "$MAXSIZE" MAXSIZE)"; chunk_mib="$(mib "$CHUNK" CHUNK)"
require_built native-hz3,jfr-events,agent/core,agent agent/target/hz3-agent.jar agent/target/hz3.jfc \
  native-hz3/target/lib/libhz3.so
require_tools java javac jcmd

mkdir -p "$OUT/bin" bench/agent/target/classes
# The run uses copies of the agent and libhz3.so (copy_build says why).
if [[ "${ANALYZE_ONLY:-0}" != 1 ]]; then
  copy_build "$OUT/bin" agent/target/hz3-agent.jar native-hz3/target/lib/libhz3.so
fi
export HZ3_AGENT_JAR="$OUT/bin/hz3-agent.jar" HZ3_LIB="$OUT/bin/libhz3.so"
javac -nowarn -XDignore.symbol.file -d bench/agent/target/classes bench/agent/SoakLoad.java bench/agent/JfrStats.java 2>"$OUT/javac.log" \
  || { cat "$OUT/javac.log" >&2; die "javac failed"; }

now_ms() { date +%s%3N; }

# The agent's own recording: JDK default settings + hz3.jfc, bounded, written to final.jfr at exit.
export HZ3_AGENT_OPTIONS="record=$OUT/final.jfr,maxage=$MAXAGE,maxsize=$MAXSIZE"
cmd=(bin/hz3-java -Xmx256m
  "-XX:FlightRecorderOptions:repository=$OUT/repo,maxchunksize=$CHUNK"
  -cp bench/agent/target/classes SoakLoad --threads "$THREADS" --size "$SIZE" --rate "$RATE"
  --spawn-every "$SPAWN_EVERY" --seconds "$DURATION")
if [[ "${ANALYZE_ONLY:-0}" != 1 ]]; then
  { printf "HZ3_AGENT_OPTIONS=%q " "$HZ3_AGENT_OPTIONS"; printf "%q " "${cmd[@]}"; echo; } >"$OUT/command.txt"
fi

samples="$OUT/samples.tsv"
if [[ "${ANALYZE_ONLY:-0}" == 1 ]]; then
  # Redo the analysis of a finished run in OUT from its saved state (no new run).
  [[ -f "$OUT/state.env" && -f "$OUT/minutes.tsv" ]] || die "ANALYZE_ONLY=1: no state.env or minutes.tsv in $OUT"
  # shellcheck disable=SC1091
  source "$OUT/state.env"
else
commit="$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
dirty="$(git -C "$root" status --porcelain 2>/dev/null | wc -l)"
t0="$(now_ms)"
"${cmd[@]}" >"$OUT/load.out" 2>"$OUT/load.err" &
pid=$!
echo "soak.sh: pid $pid, ${DURATION}s, raw output in $OUT" >&2


printf 't_s\trss_kb\tthreads\tcpu_s\tagent_instances\tagent_bytes\tjna_instances\tjna_bytes\trepo_kb\n' >"$samples"
windows=()          # FROM TO FILE triples for JfrStats
last_cut=0
next_dump=$((t0 + DUMP_EVERY * 1000))
n=0
tick=0
sample() {
  local t status rss thr cpu hist ai ab ji jb repo
  t="$(now_ms)"
  status="$(cat "/proc/$pid/status" 2>/dev/null)" || return 1
  rss="$(awk '/^VmRSS:/{print $2}' <<<"$status")"
  thr="$(awk '/^Threads:/{print $2}' <<<"$status")"
  # utime + stime (fields 14, 15; the command name in field 2 has no spaces here: "java")
  cpu="$(awk -v hz="$hz" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$pid/stat" 2>/dev/null)" || return 1
  # The agent's Java heap: live instances of its classes (dev.hz3.*: core and events) and of
  # its private JNA (com.sun.jna.*; the workload has none). GC.class_histogram runs a full GC.
  if hist="$(timeout 60 jcmd "$pid" GC.class_histogram 2>/dev/null)"; then
    read -r ai ab ji jb < <(awk '$4 ~ /^dev\.hz3\./ {ai += $2; ab += $3}
                                 $4 ~ /^com\.sun\.jna\./ {ji += $2; jb += $3}
                                 END {print ai + 0, ab + 0, ji + 0, jb + 0}' <<<"$hist")
  else
    ai=NA; ab=NA; ji=NA; jb=NA
  fi
  # the chunks' apparent size (du's blocks would count a chunk's preallocated tail)
  repo="$(find "$OUT/repo" -name '*.jfr' -printf '%s\n' 2>/dev/null | awk '{s += $1} END {printf "%d", s / 1024}')"
  printf '%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(awk -v a="$t" -v b="$t0" 'BEGIN{print (a-b)/1000}')" \
    "$rss" "$thr" "$cpu" "$ai" "$ab" "$ji" "$jb" "${repo:-NA}" >>"$samples"
  { echo "# sample $n t_ms=$t"; sort "/proc/$pid/task/"*/comm 2>/dev/null | uniq -c; } >>"$OUT/threads.log"
}

while true; do
  # wait for the next multiple of INTERVAL since t0 (or until the JVM exits)
  tick=$((tick + 1))
  target=$((t0 + tick * INTERVAL * 1000))
  while kill -0 "$pid" 2>/dev/null && (( $(now_ms) < target )); do sleep 1; done
  kill -0 "$pid" 2>/dev/null || break
  if sample; then n=$((n + 1)); else echo "soak.sh: sample at tick $tick failed" >&2; fi
  if (( $(now_ms) >= next_dump )); then
    cut="$(now_ms)"
    f="$OUT/dump-$(printf %03d "$tick").jfr"
    if timeout 120 java -jar "$HZ3_AGENT_JAR" attach "$pid" "dump=$f" >>"$OUT/dump.log" 2>&1 && [[ -s "$f" ]]; then
      printf '%s\t%s\n' "$(basename "$f")" "$(stat -c %s "$f")" >>"$OUT/dumps.tsv"
      windows+=("$last_cut" "$cut" "$f")
      last_cut="$cut"
    else
      echo "soak.sh: the dump at $cut failed (see $OUT/dump.log); the next window covers it" >&2
    fi
    next_dump=$((next_dump + DUMP_EVERY * 1000))
  fi
done
rc=0; wait "$pid" || rc=$?
t_end="$(now_ms)"
[[ "$rc" -eq 0 ]] || die "the workload exited with status $rc (see $OUT/load.err)"
[[ -s "$OUT/final.jfr" ]] || die "no final recording at $OUT/final.jfr"
windows+=("$last_cut" "$((t_end + 1))" "$OUT/final.jfr")

java -cp bench/agent/target/classes JfrStats soak "$OUT/minutes.tsv" "$OUT/latency.txt" "${windows[@]}"
printf 't0=%s\nt_end=%s\nn=%s\ncommit=%q\ndirty=%s\nDURATION=%s\nINTERVAL=%s\nDUMP_EVERY=%s\nMAXAGE=%s\nMAXSIZE=%s\nCHUNK=%s\n' \
  "$t0" "$t_end" "$n" "$commit" "$dirty" "$DURATION" "$INTERVAL" "$DUMP_EVERY" "$MAXAGE" "$MAXSIZE" "$CHUNK" >"$OUT/state.env"
fi

# ---- analysis ----
fit_from_s="$(awk -v d="$DURATION" -v f="$FIT_FROM" 'BEGIN{printf "%.0f", d * f}')"
# slope COLUMN FILE XCOL XSCALE XMIN XMAX: least-squares slope per hour, n, mean, first, last, min, max
fit() {
  awk -F'\t' -v c="$1" -v xc="$3" -v xs="$4" -v lo="$5" -v hi="$6" '
    NR == 1 {next}
    $c == "" || $c == "NA" {next}
    { x = $xc / xs; if (x < lo || x > hi) next
      y = $c + 0; n++; X[n] = x; Y[n] = y; sx += x; sy += y; sxx += x * x; sxy += x * y
      if (n == 1) {first = y; mn = y; mx = y}
      last = y; if (y < mn) mn = y; if (y > mx) mx = y }
    END {
      if (n < 3) {print "NA NA NA NA NA NA NA NA"; exit}
      d = n * sxx - sx * sx; s = (d == 0) ? 0 : (n * sxy - sx * sy) / d
      b = (sy - s * sx) / n; sse = 0
      for (i = 1; i <= n; i++) {e = Y[i] - (b + s * X[i]); sse += e * e}
      sxxc = sxx - sx * sx / n; se = (sxxc > 0) ? sqrt(sse / (n - 2) / sxxc) : 0
      s *= 3600; se *= 3600; if (s < 1e-9 && s > -1e-9) s = 0; if (se < 1e-9) se = 0
      printf "%.4g %d %.1f %.10g %.10g %.10g %.10g %.3g\n", s, n, sy / n, first, last, mn, mx, se
    }' "$2"
}
# samples: x in seconds since start; minutes: x = minute_ms, in seconds since t0
mstart=$((t0 / 1000)); mend=$((t_end / 1000))
minutes_rel="$OUT/minutes-rel.tsv"
# keep whole minutes only (not the partial first and last), with x = seconds since start
awk -F'\t' -v OFS='\t' -v s="$mstart" -v e="$mend" 'NR == 1 {print "t_s", $0; next}
  { m = $1 / 1000; if (m < s || m + 60 > e) next; print m - s + 30, $0 }' "$OUT/minutes.tsv" >"$minutes_rel"

row() {   # row LABEL UNIT FILE COL XCOL
  local r; r="$(fit "$4" "$3" "$5" 1 "$fit_from_s" 1e18)"
  local all; all="$(fit "$4" "$3" "$5" 1 0 1e18)"
  local s mean se firsta lasta mna mxa
  read -r s _ mean _ _ _ _ se <<<"$r"
  read -r _ _ _ firsta lasta mna mxa _ <<<"$all"
  local rel="NA"
  if [[ "$s" != NA ]] && awk -v m="$mean" 'BEGIN{exit !(m != 0)}'; then
    rel="$(awk -v s="$s" -v m="$mean" 'BEGIN{printf "%+.2f%%", 100 * s / m}')"
  fi
  local relse="NA"
  if [[ "$se" != NA ]] && awk -v m="$mean" 'BEGIN{exit !(m != 0)}'; then
    relse="$(awk -v s="$se" -v m="$mean" 'BEGIN{printf "%.2f%%", 100 * 2 * s / m}')"
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s ± %s | %s ± %s |\n' "$1" "$2" "$firsta" "$lasta" "$mna..$mxa" "$mean" "$s" "$(awk -v s="$se" 'BEGIN{if (s == "NA") print "NA"; else printf "%.3g", 2 * s}')" "$rel" "$relse"
}

lat="$(cat "$OUT/latency.txt")"
load="$(grep '^SOAKLOAD' "$OUT/load.out" || true)"
cpu_total="$(awk -F'\t' 'NR > 1 && $4 != "" {c = $4} END {print c}' "$samples")"
tot_events="$(awk -F'\t' 'NR > 1 {s += $2} END {print s + 0}' "$OUT/minutes.tsv")"
nmin="$(awk 'NR > 1' "$minutes_rel" | wc -l)"
jdk="$(java -version 2>&1 | head -2 | tail -1)"
# The repository against its bound: when a chunk ends, JFR drops the oldest ended chunks until
# they hold at most maxsize; so on disk are at most maxsize of older chunks, the chunk that
# ended last and the chunk being written, each about maxchunksize at this event rate (JFR ends
# a chunk soon after it passes maxchunksize).
maxsize_mib="$(mib "$MAXSIZE" MAXSIZE)"; chunk_mib="$(mib "$CHUNK" CHUNK)"   # as run (state.env)
bound_kib=$(( (maxsize_mib + 2 * chunk_mib) * 1024 ))
repo_max="$(awk -F'\t' 'NR > 1 && $9 != "NA" && $9 > m {m = $9} END {print m + 0}' "$samples")"
repo_over="$(awk -F'\t' -v b="$bound_kib" 'NR > 1 && $9 != "NA" && $9 > b {n++} END {print n + 0}' "$samples")"
final_kib="$(( $(stat -c %s "$OUT/final.jfr") / 1024 ))"
dump_max="$(awk -F'\t' '$2 > m {m = $2} END {printf "%d", m / 1024}' "$OUT/dumps.tsv" 2>/dev/null || echo NA)"
ndumps="$(wc -l <"$OUT/dumps.tsv" 2>/dev/null || echo 0)"
cpu_model="$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"

table="$(
  echo "| metric | unit | first | last | min..max | mean (fit window) | slope per hour ± 2 SE (fit window) | slope / mean |"
  echo "|---|---|---:|---:|---|---:|---:|---:|"
  row "JVM RSS (/proc VmRSS)" KiB "$samples" 2 1
  row "JVM threads (/proc Threads)" threads "$samples" 3 1
  row "agent heap: dev.hz3.* live bytes" bytes "$samples" 6 1
  row "agent heap: dev.hz3.* live instances" objects "$samples" 5 1
  row "agent heap: com.sun.jna.* live bytes" bytes "$samples" 8 1
  row "JFR repository on disk" KiB "$samples" 9 1
  row "hz3.* events per minute" events "$minutes_rel" 3 1
  row "hz3.Epoch per minute" events "$minutes_rel" 4 1
  row "hz3 segments (hz3.Snapshot segmentsTotal)" segments "$minutes_rel" 11 1
  row "hz3 live bytes (hz3.Retention)" bytes "$minutes_rel" 12 1
  row "JVM RSS (hz3.ProcessMemory rss)" bytes "$minutes_rel" 15 1
)"

summary="$(cat <<EOF
# Agent soak (bench/agent/soak.sh)

- date: $(date -u -d "@$((t0 / 1000))") to $(date -u -d "@$((t_end / 1000))")
- machine: $cpu_model, nproc=$(nproc), kernel $(uname -r)
- JDK: $jdk
- git commit at the start: $commit ($dirty files changed or untracked in the tree)
- run: ${DURATION} s; samples every ${INTERVAL} s ($((n)) taken); \`attach PID dump=FILE\` every ${DUMP_EVERY} s; slopes fitted over t >= ${fit_from_s} s (least squares, per hour)
- recording: the agent's (record=, maxage=${MAXAGE}, maxsize=${MAXSIZE}), JFR maxchunksize=${CHUNK}
- repository (chunk files' sizes): max ${repo_max} KiB over the samples; bound maxsize + 2 x maxchunksize = ${bound_kib} KiB; ${repo_over} of ${n} samples above it
- dumps: ${ndumps} written, the largest ${dump_max} KiB; final.jfr (written at exit) ${final_kib} KiB
- command: \`$(cat "$OUT/command.txt" | sed "s|$root/||g")\`
- workload: $load
- JVM CPU: ${cpu_total} s user+sys over the run
- hz3.* events in the run: $tot_events over $nmin whole minutes (+ partial first and last)
- hz3.Epoch epoch-to-event latency over the run: $lat
- raw data: ${OUT#$root/}

$table
EOF
)"
echo "$summary" >"$OUT/summary.md"
if [[ "$REPORT" != none ]]; then
  echo "$summary" >"$REPORT"
fi
echo "$summary"
