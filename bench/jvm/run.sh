#!/usr/bin/env bash
# bench/jvm/run.sh - the JVM RSS benchmark: one JVM sample (Churn by default) under glibc
# malloc, jemalloc, mimalloc, tcmalloc and hz3, its VmRSS sampled every 50 ms, and a table of
# how much each allocator held during the work and whether it gave it back afterwards.
#
# Usage: bash bench/jvm/run.sh
# Environment overrides (all optional):
#   REPS=3                  repetitions; the table reports medians over them
#   ALLOCATORS="glibc jemalloc mimalloc tcmalloc hz3"   run order of odd reps (even reps reverse it)
#   SAMPLE=Churn            dev.hz3.samples class to run (Churn, Fragment, Steady)
#   SAMPLE_ARGS="--threads 8 --seconds 10"   its work arguments
#   IDLE_BEFORE=2 IDLE_AFTER=4   seconds of idle before/after the work (--idle-before/--idle-after)
#   JVM_OPTS="-Xms256m -Xmx256m -XX:+AlwaysPreTouch"   a fixed, pre-touched Java heap
#   JAVA=java               the java launcher (default $JAVA_HOME/bin/java if JAVA_HOME is set)
#   FALLBACK_PCT=10         "back" means VmRSS <= baseline x (1 + FALLBACK_PCT/100)
#   INTERVAL_MS=50          RSS sampling interval
#   RUN_TIMEOUT_S=120       a single run is killed (and counted failed) after this
#   HZ3_LIB=...             hz3 library (default native-hz3/target/lib/libhz3.so)
#   HZ3_BUILD=1             run `make -C native-hz3` first when hz3 is requested
#   SAMPLES_BUILD=1         build the samples with Maven if their classes are missing
#   RESULTS_DIR=bench/results
# Exit status: 0 if every run succeeded, 3 if some run failed (crash, non-zero exit, timeout;
# the table is still written and marks them), 1 on setup errors or an allocator mismatch (the
# intended library is not mapped in the JVM), which aborts immediately.
set -euo pipefail

JVM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_DIR=$(cd "$JVM_DIR/.." && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)

REPS=${REPS:-3}
ALLOCATORS=${ALLOCATORS:-"glibc jemalloc mimalloc tcmalloc hz3"}
SAMPLE=${SAMPLE:-Churn}
SAMPLE_ARGS=${SAMPLE_ARGS:-"--threads 8 --seconds 10"}
IDLE_BEFORE=${IDLE_BEFORE:-2}
IDLE_AFTER=${IDLE_AFTER:-4}
JVM_OPTS=${JVM_OPTS:-"-Xms256m -Xmx256m -XX:+AlwaysPreTouch"}
if [[ -n ${JAVA_HOME:-} ]]; then JAVA=${JAVA:-$JAVA_HOME/bin/java}; else JAVA=${JAVA:-java}; fi
FALLBACK_PCT=${FALLBACK_PCT:-10}
INTERVAL_MS=${INTERVAL_MS:-50}
RUN_TIMEOUT_S=${RUN_TIMEOUT_S:-120}
HZ3_LIB=${HZ3_LIB:-$REPO_ROOT/native-hz3/target/lib/libhz3.so}
HZ3_BUILD=${HZ3_BUILD:-1}
SAMPLES_BUILD=${SAMPLES_BUILD:-1}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
CLASSES=$REPO_ROOT/samples/target/classes

# An inherited LD_PRELOAD would reach the sampler and every run; each run sets its own.
unset LD_PRELOAD

die() {
    printf 'jvm/run.sh: ERROR: %s\n' "$*" >&2
    exit 1
}
log() {
    printf 'jvm/run.sh: %s\n' "$*" >&2
}

[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer, got '$REPS'"
[[ $SAMPLE =~ ^(Churn|Fragment|Steady)$ ]] || die "SAMPLE must be Churn, Fragment or Steady, got '$SAMPLE'"
for v in IDLE_BEFORE IDLE_AFTER FALLBACK_PCT; do
    [[ ${!v} =~ ^[0-9]+([.][0-9]+)?$ ]] || die "$v must be a number >= 0, got '${!v}'"
done
[[ $IDLE_AFTER != 0 ]] || die "IDLE_AFTER must be > 0: the fall-back time is measured in it"

# ---------------------------------------------------------------- peers
# peer_pkg, fill_libs, hz3_built
source "$BENCH_DIR/allocators.sh"

read -r -a ALLOC_LIST <<<"$ALLOCATORS"
((${#ALLOC_LIST[@]} > 0)) || die "ALLOCATORS is empty"
for a in "${ALLOC_LIST[@]}"; do
    case $a in
        glibc | hz3 | jemalloc | mimalloc | tcmalloc) ;;
        *) die "unknown allocator '$a' (known: glibc jemalloc mimalloc tcmalloc hz3)" ;;
    esac
done
declare -A LIB
fill_libs "${ALLOC_LIST[@]}"

# ---------------------------------------------------------------- build
log "building the RSS sampler (make -C bench/jvm)"
make -s -C "$JVM_DIR" >&2
SAMPLER=$JVM_DIR/target/rss_series

if [[ ! -f $CLASSES/dev/hz3/samples/$SAMPLE.class ]]; then
    [[ $SAMPLES_BUILD == 1 ]] || die "$CLASSES/dev/hz3/samples/$SAMPLE.class is missing and SAMPLES_BUILD=0"
    log "building the samples (mvn -pl samples -am package -DskipTests)"
    (cd "$REPO_ROOT" && mvn -B -q -pl samples -am package -DskipTests) >&2 || die "building the samples failed"
fi
"$JAVA" -version >/dev/null 2>&1 || die "cannot run '$JAVA'"

HZ3_NOTE=""
kept=()
for a in "${ALLOC_LIST[@]}"; do
    if [[ $a == hz3 ]] && ! hz3_built; then
        log "WARNING: $HZ3_LIB not found; hz3 is skipped in this run"
        HZ3_NOTE="hz3 was requested but $HZ3_LIB did not exist, so it is not in this table."
        continue
    fi
    kept+=("$a")
done
ALLOC_LIST=("${kept[@]}")
((${#ALLOC_LIST[@]} > 0)) || die "no allocator left to run"

# ---------------------------------------------------------------- runs
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAWDIR=$RESULTS_DIR/raw-jvm-$STAMP
mkdir -p "$RAWDIR"
RUNS=$RAWDIR/runs.tsv
SERIES=$RAWDIR/series.tsv
printf 'rep\tallocator\tstatus\texit\trounds\tbaseline_kb\twork_mean_kb\twork_peak_kb\tafter_min_kb\tend_kb\tfallback_ms\twork_samples\tafter_2s_kb\tmaxrss_kb\twork_ms\tcpu_ms\n' >"$RUNS"
printf 'rep\tallocator\tt_ms_from_work_start\trss_kb\tphase\n' >"$SERIES"

read -r -a JVM_OPT_LIST <<<"$JVM_OPTS"
read -r -a SAMPLE_ARG_LIST <<<"$SAMPLE_ARGS"
CMD=("$JAVA" "${JVM_OPT_LIST[@]}" -cp "$CLASSES" "dev.hz3.samples.$SAMPLE" "${SAMPLE_ARG_LIST[@]}"
    --idle-before "$IDLE_BEFORE" --idle-after "$IDLE_AFTER")
# Every allocator library this script knows, to check that exactly the intended one is mapped.
KNOWN_LIBS='/lib(jemalloc|mimalloc|tcmalloc[a-z_]*|hz3[a-z_-]*)\.so'

# Which known allocator libraries the maps file shows, joined with '+', or "glibc" if none.
mapped_allocators() {
    local found
    found=$(awk '{print $6}' "$1" | grep -E "$KNOWN_LIBS" | sort -u |
        sed -E 's#.*/lib(jemalloc|mimalloc|tcmalloc|hz3).*#\1#' | sort -u | paste -sd+ -)
    echo "${found:-glibc}"
}

# Cuts one run's series into phases and prints one runs.tsv row (without rep, allocator,
# status, exit); appends the labelled series to $SERIES. Args: rep allocator stdout series.
analyse() {
    awk -F'\t' -v rep="$1" -v alloc="$2" -v out="$3" -v pct="$FALLBACK_PCT" -v series="$SERIES" '
        BEGIN {
            while ((getline line < out) > 0) {
                if (line ~ /^PHASE /) {
                    split(line, w, " "); sub(/^t_ms=/, "", w[3]); sub(/^rss_kb=/, "", w[4])
                    ph[w[2]] = w[3] + 0; phrss[w[2]] = w[4] + 0
                }
                if (line ~ /^[A-Za-z]+: .*rounds=[0-9]+ .*(verified|FAILED)$/) {
                    rounds = line; sub(/.* rounds=/, "", rounds); sub(/ .*/, "", rounds)
                }
            }
            ok = ("work-start" in ph) && ("work-end" in ph) && ("idle-end" in ph)
            ws = ph["work-start"]; we = ph["work-end"]; ie = ph["idle-end"]
            ib = ("idle-before-start" in ph) ? ph["idle-before-start"] : ws
        }
        FNR == 1 { next }
        ok {
            t = $1 + 0; kb = $2 + 0
            phase = (t < ib) ? "start" : (t < ws) ? "idle-before" : (t <= we) ? "work" : (t <= ie) ? "idle-after" : "exit"
            printf "%s\t%s\t%d\t%d\t%s\n", rep, alloc, t - ws, kb, phase >> series
            if (phase == "idle-before") { bsum += kb; bn++ }
            if (phase == "work") { wsum += kb; wn++; if (kb > wpeak) wpeak = kb }
            if (phase == "idle-after") {
                after[++an] = t; afterkb[an] = kb
                if (a2 == "" && t - we >= 2000) a2 = kb
                if (amin == "" || kb < amin) amin = kb
                endkb = kb
            }
        }
        END {
            if (!ok || wn == 0 || an == 0) { print "NA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA"; exit }
            base = bn > 0 ? bsum / bn : phrss["work-start"]
            limit = base * (1 + pct / 100); fb = -1
            for (i = 1; i <= an; i++) if (afterkb[i] <= limit) { fb = after[i] - we; break }
            printf "%s\t%.0f\t%.0f\t%d\t%d\t%d\t%d\t%d\t%s\n", (rounds == "" ? "NA" : rounds), base, wsum / wn, wpeak, amin, endkb, fb, wn, (a2 == "" ? "NA" : a2)
        }' "$4"
}

n_runs=$((REPS * ${#ALLOC_LIST[@]}))
per_run=$(awk -v a="$SAMPLE_ARGS" -v b="$IDLE_BEFORE" -v c="$IDLE_AFTER" 'BEGIN {
    s = 10; if (match(a, /--seconds [0-9.]+/)) s = substr(a, RSTART + 10, RLENGTH - 10) + 0
    printf "%d", s + b + c + 1 }')
log "$n_runs runs of about ${per_run}s each (about $((n_runs * per_run / 60 + 1)) min): ${CMD[*]}"

failures=0
t_start=$SECONDS
for ((rep = 1; rep <= REPS; rep++)); do
    # Alternate the order (forward, backward, ...) so neither drift of the machine nor the
    # position after a particular allocator favours anyone.
    order=("${ALLOC_LIST[@]}")
    if ((rep % 2 == 0)); then
        order=()
        for ((k = ${#ALLOC_LIST[@]} - 1; k >= 0; k--)); do order+=("${ALLOC_LIST[k]}"); done
    fi
    for a in "${order[@]}"; do
        base=$RAWDIR/rep$rep-$a
        if [[ -n ${LIB[$a]} ]]; then
            pre=(env "LD_PRELOAD=${LIB[$a]}")
            # hz3's exit report (written after idle-end, so it does not touch the numbers).
            [[ $a != hz3 ]] || pre+=("HZ3_OBS_FILE=$base.hz3obs")
        else
            pre=(env -u LD_PRELOAD)
        fi
        rc=0
        "$SAMPLER" --out "$base.rss.tsv" --interval-ms "$INTERVAL_MS" --timeout-s "$RUN_TIMEOUT_S" \
            --maps "$base.maps" --maps-at-ms 1000 -- "${pre[@]}" "${CMD[@]}" >"$base.out" 2>"$base.err" || rc=$?

        # No number counts before the JVM is shown to have had the intended allocator. A run
        # that died before the snapshot is a failed run (below), not a mismatch.
        if [[ -s $base.maps ]]; then
            seen=$(mapped_allocators "$base.maps")
            [[ $seen == "$a" ]] ||
                die "allocator mismatch: the $a run (rep $rep) had '$seen' mapped (LD_PRELOAD='${LIB[$a]}'). Aborting."
            if [[ -n ${LIB[$a]} ]]; then
                real=$(readlink -f "${LIB[$a]}")
                grep -qF " $real" "$base.maps" || die "the $a run (rep $rep) does not map $real; see $base.maps"
            fi
        elif [[ $rc == 0 ]]; then
            die "no /proc/PID/maps snapshot of the $a run (rep $rep), so its allocator is unverified; see $base.err"
        fi

        row=$(analyse "$rep" "$a" "$base.out" "$base.rss.tsv")
        maxrss=$(sed -n 's/^RSS_SERIES .*maxrss_kb=\([0-9]*\).*/\1/p' "$base.out")
        cpu=$(sed -n 's/^RSS_SERIES .*cpu_ms=\([0-9]*\).*/\1/p' "$base.out")
        work=$(sed -n "s/^$SAMPLE: .* work_ms=\\([0-9]*\\) .*/\\1/p" "$base.out" | tail -n 1)
        status=ok
        if [[ $rc != 0 || $row == NA* ]] || ! grep -q "^$SAMPLE: .* verified$" "$base.out"; then
            status=fail
            failures=$((failures + 1))
            log "FAILED rep=$rep allocator=$a exit=$rc; stderr tail:"
            tail -n 5 "$base.err" >&2
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$a" "$status" "$rc" "$row" "${maxrss:-NA}" "${work:-NA}" "${cpu:-NA}" >>"$RUNS"
        if [[ $status == ok ]]; then
            log "rep $rep/$REPS $a: $(awk -F'\t' '{ printf "rounds %s, baseline %.0f MiB, work mean %.0f / peak %.0f MiB, end %.0f MiB, %s",
                $1, $2 / 1024, $3 / 1024, $4 / 1024, $6 / 1024, ($7 < 0 ? "not back to baseline" : "back to baseline after " $7 " ms") }' <<<"$row")"
        fi
    done
done
elapsed=$((SECONDS - t_start))

# ---------------------------------------------------------------- medians
# Per allocator and metric, the median over successful reps (sort orders, plain awk picks).
# A run that never fell back counts as +infinity for the fall-back median.
MED=$(mktemp)
trap 'rm -f "$MED"' EXIT
awk -F'\t' 'NR > 1 && $3 == "ok" {
        print $2 "\trounds\t" $5;  print $2 "\tbaseline\t" $6; print $2 "\twork_mean\t" $7
        print $2 "\twork_peak\t" $8; print $2 "\tafter_min\t" $9; print $2 "\tend\t" $10
        print $2 "\tretained\t" ($10 - $6); print $2 "\tfallback\t" ($11 < 0 ? 1e18 : $11)
        print $2 "\tfell_back\t" ($11 < 0 ? 0 : 1)
        if ($13 != "NA") print $2 "\tafter_2s\t" $13
        if ($15 != "NA") print $2 "\twork_ms\t" $15
        if ($16 != "NA") print $2 "\tcpu_ms\t" $16
    }' "$RUNS" |
    sort -t "$(printf '\t')" -k1,1 -k2,2 -k3,3g |
    awk -F'\t' '
        function flush() {
            m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            print prev "\t" m "\t" n "\t" sum
            n = 0; sum = 0
        }
        { key = $1 "\t" $2; if (n > 0 && key != prev) flush(); prev = key; v[++n] = $3; sum += $3 }
        END { if (n > 0) flush() }' >"$MED"

# ---------------------------------------------------------------- report
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
commit=$(git -C "$REPO_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo "none (no commit yet)")
if [[ -n $(git -C "$REPO_ROOT" status --porcelain 2>/dev/null || true) ]]; then
    commit="$commit (work tree has uncommitted changes)"
fi
jdk=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.runtime\.version = //p' | head -n 1)
jvendor=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.vm\.name = //p' | head -n 1)
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }

if [[ $SAMPLE == Churn ]]; then REPORT=$RESULTS_DIR/jvm-latest.md; else REPORT=$RESULTS_DIR/jvm-${SAMPLE,,}-latest.md; fi
{
    echo "# JVM RSS benchmark: $SAMPLE"
    echo
    echo "- date: $(date -u)"
    echo "- machine: ${cpu:-unknown CPU}, nproc=$(nproc), kernel $(uname -r)"
    echo "- JDK: ${jdk:-?} (${jvendor:-?}, \`$JAVA\`)"
    echo "- git commit: $commit"
    echo "- command: \`${CMD[*]#"$REPO_ROOT/"}\` (classes from samples/target/classes)"
    echo "- reps: $REPS, medians over successful reps; allocator order ${ALLOC_LIST[*]} in odd reps, reversed in even reps"
    echo "- run time: ${elapsed}s; raw data: ${RAWDIR#"$REPO_ROOT/"}/ (runs.tsv, series.tsv, per-run stdout, stderr, maps)"
    printf -- '- allocators:'
    for a in "${ALLOC_LIST[@]}"; do
        case $a in
            glibc) printf ' glibc %s (no preload);' "$(ver libc6)" ;;
            hz3) printf ' hz3 %s;' "${LIB[hz3]#"$REPO_ROOT/"}" ;;
            *) printf ' %s %s;' "$a" "$(ver "$(peer_pkg "$a")")" ;;
        esac
    done
    echo
    echo "- each run was checked to have exactly the intended allocator library mapped (/proc/PID/maps, 1 s after start)"
    [[ -z $HZ3_NOTE ]] || echo "- note: $HZ3_NOTE"
    echo
    echo "VmRSS sampled every ${INTERVAL_MS} ms, in MiB. *baseline*: mean over the ${IDLE_BEFORE} s idle before the"
    echo "work (Java heap already pre-touched). *work mean/peak*: over the work phase. *after min* and"
    echo "*end*: lowest and last sample of the ${IDLE_AFTER} s idle after the work, when the sample has freed every"
    echo "native block it allocated; *end − baseline*: what the process still holds. *back to baseline*:"
    echo "time from work-end to the first sample within ${FALLBACK_PCT}% of the baseline (median over the reps, a rep"
    echo "that never got there counting as infinite), and in how many reps that happened. *rounds*: work"
    echo "done, all threads together (a Churn round: one zip round trip + 4 direct buffers). *RSS 2 s after*:"
    echo "the first sample 2 s or more after work-end. *work s*: the sample's own work time (work_ms, wall"
    echo "clock; with --rounds, the time the fixed work took). *CPU s*: user + system CPU of the whole JVM"
    echo "process over its life (wait4), start-up and idle phases included."
    echo
    awk -F'\t' -v allocs="${ALLOC_LIST[*]}" -v runs="$RUNS" -v idle="$IDLE_AFTER" '
        BEGIN {
            na = split(allocs, A, " ")
            while ((getline line < runs) > 0) {
                split(line, f, "\t")
                if (f[1] == "rep") continue
                total[f[2]]++
                if (f[3] == "ok") good[f[2]]++
            }
        }
        { med[$1, $2] = $3; cnt[$1, $2] = $4; sum[$1, $2] = $5 }
        function mib(x) { return x == "" ? "NA" : sprintf("%.1f", x / 1024) }
        function sec(x) { return x == "" ? "NA" : sprintf("%.2f", x / 1000) }
        END {
            print "| allocator | ok runs | rounds | work s | CPU s | baseline MiB | work mean MiB | work peak MiB | RSS 2 s after MiB | after min MiB | end MiB | end − baseline MiB | back to baseline |"
            print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
            for (j = 1; j <= na; j++) {
                a = A[j]; okn = good[a] + 0; tot = total[a] + 0
                if (okn == 0) { printf "| %s | 0/%d | FAIL | | | | | | | | | | |\n", a, tot; continue }
                fb = med[a, "fallback"]; k = sum[a, "fell_back"]
                back = (fb >= 1e17) ? sprintf("not within %s s (%d/%d reps)", idle, k, okn) \
                                    : sprintf("%.2f s (%d/%d reps)", fb / 1000, k, okn)
                printf "| %s | %d/%d | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %+.1f | %s |\n", a, okn, tot,
                    med[a, "rounds"], sec(med[a, "work_ms"]), sec(med[a, "cpu_ms"]),
                    mib(med[a, "baseline"]), mib(med[a, "work_mean"]), mib(med[a, "work_peak"]),
                    mib(med[a, "after_2s"]), mib(med[a, "after_min"]), mib(med[a, "end"]), med[a, "retained"] / 1024, back
            }
        }' "$MED"
    if ((failures > 0)); then
        echo
        echo "**$failures run(s) failed** (crash, non-zero exit, missing phase lines or timeout); see the raw directory."
    fi
} >"$REPORT"

cat "$REPORT"
log "report written to $REPORT; raw data in $RAWDIR"
if ((failures > 0)); then
    log "$failures run(s) failed"
    exit 3
fi
