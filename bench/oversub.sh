#!/usr/bin/env bash
# bench/oversub.sh - allocators when the cores are shared: each workload under glibc, jemalloc,
# mimalloc, tcmalloc and hz3, once alone and once beside HOGS CPU-bound processes (started and
# killed by this script), alternated per rep. Reports per workload and allocator the median
# wall time and CPU time (user + sys) of each phase, each relative to the best allocator of
# that phase, and how much each allocator's wall time grew under the hogs.
#
# Wall time with hogs is mostly CPU time divided by the share of the cores the workload gets,
# so an allocator that needs more CPU per operation loses more there even if it never waits;
# one that spins on a lock whose holder is preempted shows a wall-to-CPU ratio, or a CPU
# time, that grows beyond its peers'. The CPU columns tell the two apart.
#
# Usage: bash bench/oversub.sh
# Environment (all optional):
#   REPS=5        repetitions; medians over them
#   HOGS=2        CPU-bound processes run beside the workloads in the loaded phase
#   PIN=          a CPU list (taskset -c) for the workloads in both phases, e.g. PIN=0 runs
#                 every thread of a workload on one core: oversubscribed with no hog at all
#   ALLOCATORS="glibc jemalloc mimalloc tcmalloc hz3"
#   WORKLOADS="larson2 larson4 dist_app_t4 glibc_thread alloc_test2 xthread"
#   HZ3_LIB=native-hz3/target/lib/libhz3.so   HZ3_BUILD=1 (make -C native-hz3 first)
#   RESULTS_DIR=bench/results
# Writes RESULTS_DIR/oversub-latest.md and the raw runs to RESULTS_DIR/raw-oversub-<UTC>.tsv.
# Exit status 0; 1 on a setup error, a failed run or an allocator mismatch.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$BENCH_DIR")
REPS=${REPS:-5}
HOGS=${HOGS:-2}
PIN=${PIN:-}
ALLOCATORS=${ALLOCATORS:-"glibc jemalloc mimalloc tcmalloc hz3"}
WORKLOADS=${WORKLOADS:-"larson2 larson4 dist_app_t4 glibc_thread alloc_test2 xthread"}
HZ3_LIB=${HZ3_LIB:-$REPO_ROOT/native-hz3/target/lib/libhz3.so}
HZ3_BUILD=${HZ3_BUILD:-1}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
unset LD_PRELOAD

die() {
    printf 'oversub.sh: %s\n' "$*" >&2
    exit 1
}
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer, got '$REPS'"
[[ $HOGS =~ ^[0-9]+$ ]] || die "HOGS must be a number of processes, got '$HOGS'"
[[ -z $PIN ]] || taskset -c "$PIN" true 2>/dev/null || die "PIN='$PIN' is not a CPU list taskset accepts here"

# larson2 is the suite's larson (bench/suite/run.sh); the others are bench/run.sh's and the
# suite's shapes with 2 and 4 threads on this machine's 2 cores.
workload_cmd() {
    local t=$BENCH_DIR/target
    case $1 in
        larson2) CMD=("$t/larson" --threads 2 10000000 1000 8 1000) ;;
        larson4) CMD=("$t/larson" --threads 4 1000000 1000 16 4096) ;;
        dist_app_t4) CMD=("$t/dist_app" --threads 4 4000000 400 16 32768) ;;
        xthread) CMD=("$t/dist_app" --xthread --threads 2 1000000 400 16 32768) ;;
        glibc_thread) CMD=("$t/suite/glibc_thread") ;;
        alloc_test2) CMD=("$t/suite/alloc_test" 2) ;;
        *) return 1 ;;
    esac
}

# fill_libs, hz3_built, check_allocator
source "$BENCH_DIR/allocators.sh"

read -r -a AL <<<"$ALLOCATORS"
read -r -a WL <<<"$WORKLOADS"
declare -A LIB
fill_libs "${AL[@]}"
for w in "${WL[@]}"; do workload_cmd "$w" || die "unknown workload '$w' (known: larson2 larson4 dist_app_t4 glibc_thread alloc_test2 xthread)"; done

make -s -C "$BENCH_DIR" >&2
if [[ -v LIB[hz3] ]]; then
    hz3_built || die "$HZ3_LIB does not exist (build it: make -C native-hz3)"
fi

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS_DIR"
RAW=$RESULTS_DIR/raw-oversub-$STAMP.tsv
printf 'rep\tphase\tworkload\tallocator\tsecs\tcpu_secs\n' >"$RAW"
timefile=$(mktemp)
HOG_PIDS=()

# Each hog is a shell loop with no allocation: it only takes CPU time from the workload.
start_hogs() {
    local i
    for ((i = 0; i < HOGS; i++)); do
        bash -c 'while :; do :; done' &
        HOG_PIDS+=($!)
    done
}
stop_hogs() {
    local p
    for p in "${HOG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${HOG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    HOG_PIDS=()
}
trap 'stop_hogs; rm -f "$timefile"' EXIT
trap 'exit 130' INT TERM

# One run of workload $1 under allocator $2 in phase $3; appends to RAW.
run_one() {
    local w=$1 a=$2 phase=$3 rep=$4 out secs cpu
    workload_cmd "$w"
    local pre=(env -u LD_PRELOAD)
    [[ -z ${LIB[$a]} ]] || pre=(env "LD_PRELOAD=${LIB[$a]}")
    local pin=()
    [[ -z $PIN ]] || pin=(taskset -c "$PIN")
    out=$(/usr/bin/time -f '%U %S' -o "$timefile" "${pre[@]}" "${pin[@]}" "${CMD[@]}") ||
        die "$w under $a failed (exit $?): ${pre[*]} ${pin[*]} ${CMD[*]}"
    check_allocator "$w" "$a" "$out"
    secs=$(sed -n 's/^RESULT .* secs=\([0-9.]*\).*/\1/p' <<<"$out")
    cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$timefile")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$phase" "$w" "$a" "$secs" "$cpu" >>"$RAW"
    printf 'rep %s/%s %-6s %-13s %-8s %8.3f s  cpu %5s s\n' "$rep" "$REPS" "$phase" "$w" "$a" "$secs" "$cpu" >&2
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# Per rep: every workload under every allocator alone, then again beside the hogs; the
# allocators' order rotates each rep so that the machine's drift hits them all alike.
PHASES=(alone)
((HOGS == 0)) || PHASES+=(hogs)
for ((rep = 1; rep <= REPS; rep++)); do
    for phase in "${PHASES[@]}"; do
        [[ $phase == alone ]] || start_hogs
        for w in "${WL[@]}"; do
            for ((i = 0; i < ${#AL[@]}; i++)); do
                run_one "$w" "${AL[(i + rep - 1) % ${#AL[@]}]}" "$phase" "$rep"
            done
        done
        [[ $phase == alone ]] || stop_hogs
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

REPORT=$RESULTS_DIR/oversub-latest.md
{
    echo "# Allocators when the cores are shared"
    echo
    echo "- date: $(date -u); load average (1, 5, 15 min) before: $load_before, after: $load_after"
    echo "- machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1), nproc=$(nproc)"
    echo "- git commit: $(git -C "$REPO_ROOT" rev-parse --short=12 HEAD)"
    echo "- reps: $REPS, medians; hogs: $HOGS CPU-bound processes in the loaded phase; pinned to: ${PIN:-no}"
    echo "- raw: $(basename "$RAW")"
    for a in "${AL[@]}"; do echo "- $a: ${LIB[$a]:-no preload}"; done
    for w in "${WL[@]}"; do
        workload_cmd "$w"
        echo "- $w: \`${CMD[*]#"$BENCH_DIR/"}\`"
    done
    echo
    awk -F'\t' -v allocs="${AL[*]}" -v works="${WL[*]}" -v hogs="$HOGS" -f "$BENCH_DIR/ratios.awk" -f /dev/stdin "$RAW" <<'AWK'
        NR > 1 { k = $2 SUBSEP $3 SUBSEP $4; n = ++cnt[k]; t[k, n] = $5; c[k, n] = $6 }
        END {
            na = split(allocs, A, " "); nw = split(works, W, " ")
            table("Wall time alone, relative to the best allocator (1.00 = best).", "alone", t, "s", "%.3f")
            table("CPU time (user + sys) alone, relative to the best allocator.", "alone", c, "s", "%.3f")
            if (!hogs) exit
            table("Wall time beside the hogs, relative to the best allocator.", "hogs", t, "s", "%.3f")
            table("CPU time (user + sys) beside the hogs, relative to the best allocator.", "hogs", c, "s", "%.3f")
            printf "Wall time beside the hogs over wall time alone, per allocator.\n\n| workload |"
            for (j = 1; j <= na; j++) printf " %s |", A[j]
            printf "\n|---|"
            for (j = 1; j <= na; j++) printf "---:|"
            print ""
            for (i = 1; i <= nw; i++) {
                printf "| %s |", W[i]
                for (j = 1; j <= na; j++) {
                    a = median(t, "alone" SUBSEP W[i] SUBSEP A[j], cnt["alone", W[i], A[j]])
                    h = median(t, "hogs" SUBSEP W[i] SUBSEP A[j], cnt["hogs", W[i], A[j]])
                    printf " %.2f |", (a > 0 ? h / a : 0)
                }
                print ""
            }
        }
AWK
} >"$REPORT"
cat "$REPORT"
