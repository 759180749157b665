#!/usr/bin/env bash
# Instructions per malloc and per free, counted by callgrind (inclusive: the
# call and everything it calls, page-pool work included; the kernel's page
# faults are not instructions of the process and are not counted). Counts do
# not depend on the load of the machine, unlike bench/run.sh's times.
#
# Usage: bash bench/callgrind-cost.sh [PROGRAM ARGS...]
#   default program: mixed 1000000 400 4096 32768 (medium churn)
#   ALLOCATORS="glibc jemalloc mimalloc tcmalloc hz3"
#   HZ3_LIB=native-hz3/target/lib/libhz3.so (or any other build, e.g. the one before a change)
# Prints one line per allocator: calls and instructions per call of malloc and free.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
ALLOCATORS=${ALLOCATORS:-"glibc jemalloc mimalloc tcmalloc hz3"}
HZ3_LIB=${HZ3_LIB:-$root/native-hz3/target/lib/libhz3.so}
(($# > 0)) || set -- mixed 1000000 400 4096 32768
command -v valgrind >/dev/null || { echo "callgrind-cost.sh: valgrind is not installed" >&2; exit 1; }
make -s -C "$here" >/dev/null

die() {
    printf 'callgrind-cost.sh: %s\n' "$*" >&2
    exit 1
}
# install_peers, lib_of
source "$here/allocators.sh"
install_peers $ALLOCATORS

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "program: $*"
for a in $ALLOCATORS; do
    lib=$(lib_of "$a") || exit 1 # lib_of said why
    [[ -z $lib || -f $lib ]] || die "$a: $lib not found"
    rm -f "$tmp"/cg.*
    # env execs the benchmark: --trace-children follows it, and only the
    # benchmark gets the allocator, not valgrind.
    valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$tmp/cg.%p" \
        env ${lib:+LD_PRELOAD=$lib} "$here/target/$1" "${@:2}" >/dev/null 2>"$tmp/err"
    out=$(ls -S "$tmp"/cg.* | head -n 1)
    # Callee lines of the call tree: "cost (pct)  >   file:function (Nx) [object]".
    # Summed over every caller, a function's lines give all its calls and
    # their inclusive cost.
    callgrind_annotate --tree=calling --inclusive=yes "$out" 2>/dev/null | awk -v name="$a" '
        / > / && match($0, /:(malloc|free) \(([0-9,]+)x\)/) {
            split(substr($0, RSTART + 1), f, " ")
            fn = f[1]
            n = f[2]; gsub(/[(),x]/, "", n)
            c = $1; gsub(/,/, "", c)
            calls[fn] += n; cost[fn] += c
        }
        END {
            printf "%-9s malloc: %9d calls, %6.1f instructions each; free: %9d calls, %6.1f instructions each\n", name,
                calls["malloc"], calls["malloc"] ? cost["malloc"] / calls["malloc"] : 0,
                calls["free"], calls["free"] ? cost["free"] / calls["free"] : 0
        }'
done
