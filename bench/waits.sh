#!/usr/bin/env bash
# bench/waits.sh - where hz3 waits while a program runs: its sched_yield calls (the spin
# locks' waits: heap lock, single_busy, census retries, sampling) and, per call site of its
# pthread mutexes, contended acquisitions, time asleep and hold times (bench/waits/waits.c,
# a preloaded shim: nothing in hz3 changes). Optionally beside K CPU-bound hog processes.
#
# Usage: bash bench/waits.sh [--hogs K] PROGRAM [ARGS...]
#   e.g. bash bench/waits.sh --hogs 2 bench/target/larson --threads 4 1000000 1000 16 4096
# Environment: HZ3_LIB=native-hz3/target/lib/libhz3.so (any build with -g for the sites' names)
# Prints the program's output, then the yields and one line per mutex call site, the most
# slept-on first. Exit status: the program's.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
HZ3_LIB=${HZ3_LIB:-$root/native-hz3/target/lib/libhz3.so}
hogs=0
if [[ ${1:-} == --hogs ]]; then
    hogs=${2:-}
    shift 2 || true
fi
[[ $hogs =~ ^[0-9]+$ ]] || { echo "waits.sh: --hogs needs a number of processes, got '$hogs'" >&2; exit 1; }
(($# > 0)) || { echo "waits.sh: no program given (usage: bash bench/waits.sh [--hogs K] PROGRAM [ARGS...])" >&2; exit 1; }
[[ -f $HZ3_LIB ]] || { echo "waits.sh: $HZ3_LIB does not exist (build it: make -C native-hz3)" >&2; exit 1; }
command -v addr2line >/dev/null || { echo "waits.sh: addr2line (binutils) is not installed" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cc -std=gnu11 -O2 -Wall -Wextra -Werror -shared -fPIC -o "$tmp/waits.so" "$here/waits/waits.c" -ldl -pthread

for ((i = 0; i < hogs; i++)); do
    bash -c 'while :; do :; done' &
    pids+=($!)
done
rc=0
env LD_PRELOAD="$HZ3_LIB:$tmp/waits.so" "$@" 2>"$tmp/err" || rc=$?
grep -v '^WAITS ' "$tmp/err" >&2 || true
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); hogs: $hogs"
sed -n 's/^WAITS yield /sched_yield calls: /p' "$tmp/err"
grep '^WAITS site ' "$tmp/err" |
    awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^wait_ms=/) print substr($i, 9) "\t" $0 }' | sort -rn | cut -f2- |
    while read -r _ _ off rest; do
        where=$(addr2line -f -e "$HZ3_LIB" "$(printf '0x%x' $((off - 1)))" | paste -sd' ' | sed 's|[^ ]*/src/|src/|')
        printf '%-60s %s\n' "$where" "$rest"
    done
exit "$rc"
