#!/usr/bin/env bash
# bench/run.sh - run the allocator benchmarks against glibc, the peers and hz3,
# and write a medians table to bench/results/latest.md.
#
# Usage: bash bench/run.sh
# Environment overrides (all optional):
#   REPS=5                 repetitions; the table reports medians over them
#   ALLOCATORS="glibc jemalloc mimalloc tcmalloc hz3"   (run order within a rep; also
#                          hz3-sampled: hz3 with allocation sampling on, HZ3_SAMPLE_BYTES below)
#   SCENARIOS="dist_app dist_app_max2048 mixed mixed_medium mixed_all dist_app_t2 xthread"
#                          (also: large_churn large_churn_t2 dist_app_t4 larson larson_32k)
#   ITERS=20000000         iterations per thread of the slot-loop scenarios
#   XTHREAD_ITERS=10000000 mallocs per producer in the xthread scenario
#   LARGE_ITERS=300        buffer replacements per thread of the large_churn scenarios
#   LARSON_ITERS=2000000   iterations (a free and a malloc) per thread of larson, larson_32k
#   INTERVAL_MS=50         RSS sampling interval
#   RUN_TIMEOUT_S=300      a single run is killed (and counted failed) after this
#   HZ3_LIB=...            hz3 library (default native-hz3/target/lib/libhz3.so)
#   HZ3_BUILD=1            run `make -C native-hz3` first when hz3 is requested
#   RESULTS_DIR=bench/results
# Exit status: 0 if every run succeeded, 3 if some run failed (crash/timeout; the
# table still gets written and marks them), 1 on setup errors or an allocator
# mismatch (LD_PRELOAD did not take effect), which aborts immediately.
set -euo pipefail

# Resolve paths from the script location so it works from any working directory.
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)

REPS=${REPS:-5}
ALLOCATORS=${ALLOCATORS:-"glibc jemalloc mimalloc tcmalloc hz3"}
SCENARIOS=${SCENARIOS:-"dist_app dist_app_max2048 mixed mixed_medium mixed_all dist_app_t2 xthread"}
ITERS=${ITERS:-20000000}
XTHREAD_ITERS=${XTHREAD_ITERS:-10000000}
LARGE_ITERS=${LARGE_ITERS:-300}
LARSON_ITERS=${LARSON_ITERS:-2000000}
INTERVAL_MS=${INTERVAL_MS:-50}
RUN_TIMEOUT_S=${RUN_TIMEOUT_S:-300}
HZ3_LIB=${HZ3_LIB:-$REPO_ROOT/native-hz3/target/lib/libhz3.so}
HZ3_BUILD=${HZ3_BUILD:-1}
HZ3_SAMPLE_BYTES=${HZ3_SAMPLE_BYTES:-524288}   # mean bytes between samples for hz3-sampled
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}

# An inherited LD_PRELOAD would leak into the sampler and every run; each run
# sets its own, so drop any outer one.
unset LD_PRELOAD

die() {
    printf 'run.sh: ERROR: %s\n' "$*" >&2
    exit 1
}
log() {
    printf 'run.sh: %s\n' "$*" >&2
}

[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer, got '$REPS'"

# peer_pkg, fill_libs, hz3_built
source "$BENCH_DIR/allocators.sh"

read -r -a ALLOC_LIST <<<"$ALLOCATORS"
read -r -a SCEN_LIST <<<"$SCENARIOS"
((${#ALLOC_LIST[@]} > 0)) || die "ALLOCATORS is empty"
((${#SCEN_LIST[@]} > 0)) || die "SCENARIOS is empty"

# ---------------------------------------------------------------- peers
for a in "${ALLOC_LIST[@]}"; do
    case $a in
        glibc | hz3 | hz3-sampled | jemalloc | mimalloc | tcmalloc) ;;
        *) die "unknown allocator '$a' (known: glibc jemalloc mimalloc tcmalloc hz3 hz3-sampled)" ;;
    esac
done
# Library to preload for each allocator (empty = none, i.e. glibc malloc).
declare -A LIB
fill_libs "${ALLOC_LIST[@]}"

# ---------------------------------------------------------------- build
log "building bench programs"
make -s -C "$BENCH_DIR" >&2

HZ3_NOTE=""
kept=()
for a in "${ALLOC_LIST[@]}"; do
    # Not fatal: while hz3 is being written the peers can still be measured.
    if [[ $a == hz3 || $a == hz3-sampled ]] && ! hz3_built; then
        log "WARNING: $HZ3_LIB not found; $a is skipped in this run"
        HZ3_NOTE="hz3 was requested but $HZ3_LIB did not exist, so it is not in this table."
        continue
    fi
    kept+=("$a")
done
ALLOC_LIST=("${kept[@]}")
((${#ALLOC_LIST[@]} > 0)) || die "no allocator left to run"

# ---------------------------------------------------------------- scenarios
# Sets CMD to the benchmark command line of scenario $1.
scenario_cmd() {
    local t=$BENCH_DIR/target
    case $1 in
        # The standard dist_app run (design doc section 4).
        dist_app) CMD=("$t/dist_app" "$ITERS" 400 16 32768) ;;
        # Same mix without the large bucket: small/medium size classes only.
        dist_app_max2048) CMD=("$t/dist_app" "$ITERS" 400 16 2048) ;;
        # Uniform small sizes: pure size-class fast-path churn.
        mixed) CMD=("$t/mixed" "$ITERS" 400 16 1024) ;;
        # Uniform sizes of 4-32 KiB: hz3's medium tier (to 16 KiB) and, above, its runs.
        mixed_medium) CMD=("$t/mixed" "$ITERS" 400 4096 32768) ;;
        # Uniform sizes of 4-16 KiB: hz3's medium tier alone.
        mixed_medium16) CMD=("$t/mixed" "$ITERS" 400 4096 16384) ;;
        # Uniform over 16 B-32 KiB: most requests are medium or runs in hz3.
        mixed_all) CMD=("$t/mixed" "$ITERS" 400 16 32768) ;;
        # Two independent threads, each with its own slots (thread-cache scaling).
        dist_app_t2) CMD=("$t/dist_app" --threads 2 "$ITERS" 400 16 32768) ;;
        # One producer/consumer pair: every free is a remote (cross-thread) free.
        xthread) CMD=("$t/dist_app" --xthread --threads 2 "$XTHREAD_ITERS" 400 16 32768) ;;
        # Big buffers replaced at random (64 KiB-64 MiB, log-uniform, 16 per thread, every page
        # written): the JVM's direct buffers. Not in the default list: it needs about 150 MiB
        # per thread.
        large_churn) CMD=("$t/large_churn" "$LARGE_ITERS" 16 65536 67108864) ;;
        large_churn_t2) CMD=("$t/large_churn" --threads 2 "$LARGE_ITERS" 16 65536 67108864) ;;
        # Four independent threads (more threads than this machine's cores).
        dist_app_t4) CMD=("$t/dist_app" --threads 4 "$ITERS" 400 16 32768) ;;
        # A larson-like server: 4 threads pass their arrays of objects around,
        # so about two frees in three are cross-thread, in random order.
        larson) CMD=("$t/larson" --threads 4 "$LARSON_ITERS" 1000 16 4096) ;;
        larson_32k) CMD=("$t/larson" --threads 4 "$LARSON_ITERS" 1000 16 32768) ;;
        *) return 1 ;;
    esac
}
for s in "${SCEN_LIST[@]}"; do
    scenario_cmd "$s" || die "unknown scenario '$s' (known: dist_app dist_app_max2048 mixed mixed_medium mixed_medium16 mixed_all dist_app_t2 xthread large_churn large_churn_t2 dist_app_t4 larson larson_32k)"
done

# ---------------------------------------------------------------- runs
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS_DIR"
RAW=$RESULTS_DIR/raw-$STAMP.tsv
RAWLOG=$RESULTS_DIR/raw-$STAMP.log
printf 'stamp\trep\tscenario\tallocator\tstatus\texit\tops\tsecs\tops_per_sec\trss_samples\trss_mean_kb\trss_p95_kb\trss_max_kb\tmaxrss_kb\n' >"$RAW"
: >"$RAWLOG"

# Value of key=value field $1 in the text on stdin (first match), or "NA".
kv() {
    local v
    v=$(sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" | head -n 1)
    echo "${v:-NA}"
}

failures=0
t_start=$SECONDS
errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT

# Order: for each rep, each scenario, all allocators back to back in the fixed
# order, so slow drifts of the machine (thermal, noisy neighbours) hit every
# allocator alike instead of biasing whichever ran last.
for ((rep = 1; rep <= REPS; rep++)); do
    for s in "${SCEN_LIST[@]}"; do
        scenario_cmd "$s"
        for a in "${ALLOC_LIST[@]}"; do
            # LD_PRELOAD goes through `env`, which execs in place: only the
            # benchmark (same pid, so the sampler sees it) gets the allocator,
            # never the sampler itself.
            if [[ $a == hz3-sampled ]]; then
                pre=(env "LD_PRELOAD=${LIB[$a]}" "HZ3_SAMPLE_BYTES=$HZ3_SAMPLE_BYTES")
            elif [[ -n ${LIB[$a]} ]]; then
                pre=(env "LD_PRELOAD=${LIB[$a]}")
            else
                pre=(env -u LD_PRELOAD)
            fi
            rc=0
            out=$("$BENCH_DIR/target/rss_sampler" --interval-ms "$INTERVAL_MS" --timeout-s "$RUN_TIMEOUT_S" \
                -- "${pre[@]}" "${CMD[@]}" 2>"$errfile") || rc=$?
            {
                printf '### rep=%s scenario=%s allocator=%s exit=%s cmd=%s\n' "$rep" "$s" "$a" "$rc" "${pre[*]} ${CMD[*]}"
                printf '%s\n' "$out"
                cat "$errfile"
            } >>"$RAWLOG"

            # Verify the allocator before trusting any number: a silently
            # ignored LD_PRELOAD would make the whole table meaningless.
            seen=$(sed -n 's/^MALLOC=//p' <<<"$out" | head -n 1)
            from=$(sed -n 's/^MALLOC_SYMBOL_FROM=//p' <<<"$out" | head -n 1)
            if [[ -n $seen || $rc == 0 ]]; then
                [[ $seen == "${a%-sampled}" ]] ||
                    die "allocator mismatch in scenario $s: expected MALLOC=$a, the process reported MALLOC=${seen:-<nothing>} (LD_PRELOAD='${LIB[$a]}'). Aborting the whole run."
                if [[ $a == glibc ]]; then want=/libc.so; else want=/lib${a%-sampled}; fi
                [[ $from == *"$want"* ]] ||
                    die "allocator mismatch in scenario $s: $a is mapped but malloc resolves to '$from'. Aborting the whole run."
            fi

            res=$(grep '^RESULT ' <<<"$out" || true)
            rss=$(grep '^RSS ' <<<"$out" || true)
            status=ok
            if [[ $rc != 0 || -z $res ]]; then
                status=fail
                failures=$((failures + 1))
                log "FAILED rep=$rep scenario=$s allocator=$a exit=$rc; stderr tail:"
                tail -n 5 "$errfile" >&2
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
                "$STAMP" "$rep" "$s" "$a" "$status" "$rc" \
                "$(kv ops <<<"$res")" "$(kv secs <<<"$res")" "$(kv ops_per_sec <<<"$res")" \
                "$(kv samples <<<"$rss")" "$(kv mean_kb <<<"$rss")" "$(kv p95_kb <<<"$rss")" \
                "$(kv max_kb <<<"$rss")" "$(kv maxrss_kb <<<"$rss")" >>"$RAW"
            if [[ $status == ok ]]; then
                log "rep $rep/$REPS $s $a: $(awk -v x="$(kv ops_per_sec <<<"$res")" 'BEGIN{printf "%.2f", x/1e6}') M ops/s, RSS mean $(kv mean_kb <<<"$rss") KB"
            fi
        done
    done
done
elapsed=$((SECONDS - t_start))

# ---------------------------------------------------------------- medians
# One line per (scenario, allocator, metric): the median over successful reps.
# sort does the ordering so plain awk (mawk has no asort) suffices.
MED=$(mktemp)
trap 'rm -f "$errfile" "$MED"' EXIT
awk -F'\t' 'NR > 1 && $5 == "ok" {
        print $3 "\t" $4 "\tops\t" $9
        print $3 "\t" $4 "\tmean\t" $11
        print $3 "\t" $4 "\tp95\t" $12
        print $3 "\t" $4 "\tmax\t" $13
        print $3 "\t" $4 "\tsamples\t" $10
    }' "$RAW" |
    sort -t "$(printf '\t')" -k1,1 -k2,2 -k3,3 -k4,4g |
    awk -F'\t' '
        function flush() {
            m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            print prev "\t" m "\t" n
            n = 0
        }
        { key = $1 "\t" $2 "\t" $3; if (n > 0 && key != prev) flush(); prev = key; v[++n] = $4 }
        END { if (n > 0) flush() }' >"$MED"

# ---------------------------------------------------------------- report
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
commit=$(git -C "$REPO_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo "none (no commit yet)")
if [[ -n $(git -C "$REPO_ROOT" status --porcelain 2>/dev/null || true) ]]; then
    commit="$commit (work tree has uncommitted changes)"
fi
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }

REPORT=$RESULTS_DIR/latest.md
{
    echo "# Allocator benchmark results"
    echo
    echo "- date: $(date -u)"
    echo "- machine: ${cpu:-unknown CPU}, nproc=$(nproc), kernel $(uname -r)"
    echo "- git commit: $commit"
    echo "- reps: $REPS (medians over successful reps); per rep, each scenario runs all allocators back to back in the order: ${ALLOC_LIST[*]}"
    echo "- run time: ${elapsed}s; raw data: bench/results/$(basename "$RAW") (logs: $(basename "$RAWLOG"))"
    printf -- '- allocators:'
    for a in "${ALLOC_LIST[@]}"; do
        case $a in
            glibc) printf ' glibc %s (no preload);' "$(ver libc6)" ;;
            hz3) printf ' hz3 %s;' "${LIB[hz3]}" ;;
            hz3-sampled) printf ' hz3-sampled: hz3 with HZ3_SAMPLE_BYTES=%s;' "$HZ3_SAMPLE_BYTES" ;;
            *) printf ' %s %s (%s);' "$a" "$(ver "$(peer_pkg "$a")")" "${LIB[$a]}" ;;
        esac
    done
    echo
    echo "- scenarios:"
    for s in "${SCEN_LIST[@]}"; do
        scenario_cmd "$s"
        echo "  - $s: \`${CMD[*]#"$BENCH_DIR/"}\`"
    done
    [[ -z $HZ3_NOTE ]] || echo "- note: $HZ3_NOTE"
    echo
    echo "ops/s = mallocs + frees per second (median). \"vs fastest peer\" divides by the best median"
    echo "ops/s among jemalloc, mimalloc, tcmalloc in that scenario (>1 is faster). RSS is VmRSS"
    echo "sampled every ${INTERVAL_MS} ms from exec to exit (mean, nearest-rank p95, max; KB);"
    echo "\"vs mimalloc\" divides the RSS mean by mimalloc's (<1 is smaller). \"RSS samples\" is the"
    echo "median sample count: short runs have few samples, so their RSS mean leans on the t=0 one."
    echo
    awk -F'\t' -v scen="${SCEN_LIST[*]}" -v allocs="${ALLOC_LIST[*]}" -v raw="$RAW" '
        BEGIN {
            ns = split(scen, S, " "); na = split(allocs, A, " ")
            while ((getline line < raw) > 0) {
                split(line, f, "\t")
                if (f[2] == "rep") continue
                total[f[3], f[4]]++
                if (f[5] == "ok") good[f[3], f[4]]++
            }
        }
        { med[$1, $2, $3] = $4 }
        function r(x, y) { return (y > 0 && x != "") ? sprintf("%.2f", x / y) : "n/a" }
        END {
            print "| scenario | allocator | ok runs | M ops/s | vs fastest peer | RSS mean KB | vs mimalloc | RSS p95 KB | RSS max KB | RSS samples |"
            print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
            for (i = 1; i <= ns; i++) {
                s = S[i]; best = 0; bestname = "none"
                for (j = 1; j <= na; j++) {
                    a = A[j]
                    if ((a == "jemalloc" || a == "mimalloc" || a == "tcmalloc") && ((s, a, "ops") in med) && med[s, a, "ops"] > best) {
                        best = med[s, a, "ops"]; bestname = a
                    }
                }
                bestof[s] = bestname
                mim = ((s, "mimalloc", "mean") in med) ? med[s, "mimalloc", "mean"] : 0
                for (j = 1; j <= na; j++) {
                    a = A[j]
                    okn = good[s, a] + 0; tot = total[s, a] + 0
                    if (okn == 0) {
                        printf "| %s | %s | %d/%d | FAIL | | | | | | |\n", s, a, okn, tot
                        continue
                    }
                    printf "| %s | %s | %d/%d | %.2f | %s | %.0f | %s | %.0f | %.0f | %.0f |\n", s, a, okn, tot,
                        med[s, a, "ops"] / 1e6, r(med[s, a, "ops"], best), med[s, a, "mean"],
                        r(med[s, a, "mean"], mim), med[s, a, "p95"], med[s, a, "max"], med[s, a, "samples"]
                }
            }
            print ""
            printf "Fastest peer per scenario:"
            for (i = 1; i <= ns; i++) printf " %s=%s%s", S[i], bestof[S[i]], (i < ns ? ";" : "")
            print ""
        }' "$MED"
    if ((failures > 0)); then
        echo
        echo "**$failures run(s) failed** (crash, non-zero exit or timeout); see the raw log for their stderr."
    fi
} >"$REPORT"

cat "$REPORT"
log "report written to $REPORT; raw data in $RAW"
if ((failures > 0)); then
    log "$failures run(s) failed"
    exit 3
fi
