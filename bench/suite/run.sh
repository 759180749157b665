#!/usr/bin/env bash
# bench/suite/run.sh - run the suite's workloads (the shapes of the public allocator benchmark
# suites, see bench/README.md) under glibc, jemalloc, mimalloc, tcmalloc and hz3, and write a
# table of each allocator's median time and peak RSS relative to the best of them, with the
# geometric means of those ratios.
#
# Usage: bash bench/suite/run.sh
# Environment (all optional):
#   REPS=5                 repetitions; medians over them
#   ALLOCATORS="glibc jemalloc mimalloc tcmalloc hz3"
#   WORKLOADS="alloc_test1 alloc_testN cache_scratch cache_thrash glibc_simple glibc_thread
#              larson malloc_large mstress rptest xmalloc_test"
#   HZ3_LIB=native-hz3/target/lib/libhz3.so   HZ3_BUILD=1 (make -C native-hz3 first)
#   RESULTS_DIR=bench/results
# Writes RESULTS_DIR/suite-latest.md and the raw runs to RESULTS_DIR/raw-suite-<UTC>.tsv.
# Exit status 0; 1 on a setup error, a failed run or an allocator mismatch (then the report
# is not written; the raw file keeps the runs before it).
set -euo pipefail

SUITE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_DIR=$(dirname "$SUITE_DIR")
REPO_ROOT=$(dirname "$BENCH_DIR")
REPS=${REPS:-5}
ALLOCATORS=${ALLOCATORS:-"glibc jemalloc mimalloc tcmalloc hz3"}
WORKLOADS=${WORKLOADS:-"alloc_test1 alloc_testN cache_scratch cache_thrash glibc_simple glibc_thread larson malloc_large mstress rptest xmalloc_test"}
HZ3_LIB=${HZ3_LIB:-$REPO_ROOT/native-hz3/target/lib/libhz3.so}
HZ3_BUILD=${HZ3_BUILD:-1}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
# Each run sets its own preload; an inherited one would leak into time(1) and the checks.
unset LD_PRELOAD

die() {
    printf 'suite/run.sh: %s\n' "$*" >&2
    exit 1
}
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer, got '$REPS'"

# Sets CMD to the command line of workload $1. N is this machine's 2 cores; larson is
# bench/src/larson.c with mimalloc-bench's sizes (8-1000 B).
workload_cmd() {
    local t=$BENCH_DIR/target
    case $1 in
        alloc_test1) CMD=("$t/suite/alloc_test" 1) ;;
        alloc_testN) CMD=("$t/suite/alloc_test" 2) ;;
        larson) CMD=("$t/larson" --threads 2 10000000 1000 8 1000) ;;
        cache_scratch | cache_thrash | glibc_simple | glibc_thread | malloc_large | mstress | rptest | xmalloc_test)
            CMD=("$t/suite/$1") ;;
        *) return 1 ;;
    esac
}

# fill_libs, hz3_built, check_allocator
source "$BENCH_DIR/allocators.sh"

read -r -a AL <<<"$ALLOCATORS"
read -r -a WL <<<"$WORKLOADS"
declare -A LIB
fill_libs "${AL[@]}"
for w in "${WL[@]}"; do workload_cmd "$w" || die "unknown workload '$w'"; done

make -s -C "$BENCH_DIR" >&2
if [[ -v LIB[hz3] ]]; then
    hz3_built || die "$HZ3_LIB does not exist (build it: make -C native-hz3)"
fi

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS_DIR"
RAW=$RESULTS_DIR/raw-suite-$STAMP.tsv
printf 'rep\tworkload\tallocator\tsecs\tmaxrss_kb\n' >"$RAW"
timefile=$(mktemp)
trap 'rm -f "$timefile"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# Each rep runs every workload under all allocators back to back, starting one allocator
# further along each rep, so that drifts of the shared machine hit them all alike.
for ((rep = 1; rep <= REPS; rep++)); do
    for w in "${WL[@]}"; do
        workload_cmd "$w"
        for ((i = 0; i < ${#AL[@]}; i++)); do
            a=${AL[(i + rep - 1) % ${#AL[@]}]}
            pre=(env -u LD_PRELOAD)
            [[ -z ${LIB[$a]} ]] || pre=(env "LD_PRELOAD=${LIB[$a]}")
            out=$(/usr/bin/time -f %M -o "$timefile" "${pre[@]}" "${CMD[@]}") ||
                die "$w under $a failed (exit $?): ${pre[*]} ${CMD[*]}"
            check_allocator "$w" "$a" "$out"
            secs=$(sed -n 's/^RESULT .* secs=\([0-9.]*\).*/\1/p' <<<"$out")
            printf '%s\t%s\t%s\t%s\t%s\n' "$rep" "$w" "$a" "$secs" "$(tail -n 1 "$timefile")" >>"$RAW"
            printf 'rep %s/%s %-13s %-8s %8.3f s %8s KB\n' "$rep" "$REPS" "$w" "$a" "$secs" "$(tail -n 1 "$timefile")" >&2
        done
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

REPORT=$RESULTS_DIR/suite-latest.md
{
    echo "# Allocator suite results"
    echo
    echo "- date: $(date -u); load average (1, 5, 15 min) before: $load_before, after: $load_after"
    echo "- machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1), nproc=$(nproc)"
    echo "- git commit: $(git -C "$REPO_ROOT" rev-parse --short=12 HEAD)"
    echo "- reps: $REPS, medians; allocators rotate their order each rep; raw: $(basename "$RAW")"
    for a in "${AL[@]}"; do echo "- $a: ${LIB[$a]:-no preload}"; done
    for w in "${WL[@]}"; do
        workload_cmd "$w"
        echo "- $w: \`${CMD[*]#"$BENCH_DIR/"}\`"
    done
    echo
    awk -F'\t' -v allocs="${AL[*]}" -v works="${WL[*]}" -f "$BENCH_DIR/ratios.awk" -f /dev/stdin "$RAW" <<'AWK'
        NR > 1 { k = "all" SUBSEP $2 SUBSEP $3; n = ++cnt[k]; t[k, n] = $4; m[k, n] = $5 }
        END {
            na = split(allocs, A, " "); nw = split(works, W, " ")
            table("Time: median seconds of the work, relative to the best allocator (1.00 = best).", "all", t, "s", "%.3f")
            table("Memory: median peak RSS (time -f %M), relative to the smallest.", "all", m, "KB", "%d")
        }
AWK
} >"$REPORT"
cat "$REPORT"
