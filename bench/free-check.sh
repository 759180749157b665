#!/usr/bin/env bash
# The cost of hz3's free checks (the free key that catches a double free
# that is not the latest free), measured: two builds of libhz3.so side by
# side, alternating within each repetition, medians of dist_app ops/s
# (100M iterations, one thread) and of the cross-thread run (every free
# remote, --xthread, 20M mallocs per pair). On a loaded machine read the
# per-CPU-second row and the runs' spread before the wall-time medians.
#   OLD_LIB  the build before (default bench/target/libhz3-old.so)
#   NEW_LIB  the build after (default native-hz3/target/lib/libhz3.so)
# Build the old one from the commit before, e.g.
#   git worktree add /tmp/hz3-old <commit> && make -C /tmp/hz3-old/native-hz3 &&
#   cp /tmp/hz3-old/native-hz3/target/lib/libhz3.so bench/target/libhz3-old.so
# Writes bench/results/free-check-latest.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
reps=${REPS:-7}
old=${OLD_LIB:-$here/target/libhz3-old.so}
new=${NEW_LIB:-$root/native-hz3/target/lib/libhz3.so}
make -s -C "$here" >/dev/null
[ -f "$old" ] && [ -f "$new" ] || { echo "free-check.sh: need $old and $new" >&2; exit 1; }

ops() {   # ops LIB ARGS...: one dist_app run's ops/s
    local lib=$1; shift
    LD_PRELOAD="$lib" "$here/target/dist_app" "$@" | sed -n 's/.*ops_per_sec=\([0-9]*\).*/\1/p'
}
# ops per CPU second (user + system) of a one-thread run: on a machine shared
# with other work, wall time counts the time the run waited for a core.
cpu_ops() {
    local lib=$1 iters=$2; shift 2
    local t
    t=$( { TIMEFORMAT='%U %S'; time LD_PRELOAD="$lib" "$here/target/dist_app" "$iters" "$@" >/dev/null; } 2>&1 | tail -1)
    awk -v n="$iters" -v t="$t" 'BEGIN{split(t, a, " "); printf "%d\n", n / (a[1] + a[2])}'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mops() { printf '%s ' "$@" | awk '{for(i=1;i<=NF;i++) printf "%.1f ", $i/1e6}'; }

lo=() ln=() co=() cn=() xo=() xn=()
for ((i = 0; i < reps; i++)); do
    lo+=("$(ops "$old" 100000000 400 16 32768)")
    ln+=("$(ops "$new" 100000000 400 16 32768)")
    co+=("$(cpu_ops "$old" 100000000 400 16 32768)")
    cn+=("$(cpu_ops "$new" 100000000 400 16 32768)")
    xo+=("$(ops "$old" --xthread 20000000 400 16 32768)")
    xn+=("$(ops "$new" --xthread 20000000 400 16 32768)")
done
m() { printf '%s\n' "$@" | median; }
mlo=$(m "${lo[@]}") mln=$(m "${ln[@]}") mco=$(m "${co[@]}") mcn=$(m "${cn[@]}") mxo=$(m "${xo[@]}") mxn=$(m "${xn[@]}")

out=$here/results/free-check-latest.md
mkdir -p "$here/results"
{
    echo "# hz3 free-check cost"
    echo
    echo "- date: $(date -u)"
    echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), nproc=$(nproc), $(uname -srm)"
    echo "- git commit: $(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo none)"
    echo "- $reps reps, old and new alternating; medians"
    echo
    echo "| run | build | M ops/s (median) | runs (M ops/s) |"
    echo "|---|---|---:|---|"
    echo "| dist_app 100M, WS 400, 16..32768 | old | $(awk -v x="$mlo" 'BEGIN{printf "%.2f", x/1e6}') | $(mops "${lo[@]}")|"
    echo "| | new | $(awk -v x="$mln" 'BEGIN{printf "%.2f", x/1e6}') | $(mops "${ln[@]}")|"
    echo "| dist_app 100M, per CPU second | old | $(awk -v x="$mco" 'BEGIN{printf "%.2f", x/1e6}') | $(mops "${co[@]}")|"
    echo "| | new | $(awk -v x="$mcn" 'BEGIN{printf "%.2f", x/1e6}') | $(mops "${cn[@]}")|"
    echo "| dist_app --xthread 20M (all frees remote) | old | $(awk -v x="$mxo" 'BEGIN{printf "%.2f", x/1e6}') | $(mops "${xo[@]}")|"
    echo "| | new | $(awk -v x="$mxn" 'BEGIN{printf "%.2f", x/1e6}') | $(mops "${xn[@]}")|"
    echo
    echo "new / old: dist_app $(awk -v a="$mln" -v b="$mlo" 'BEGIN{printf "%.3f", a/b}'), per CPU second $(awk -v a="$mcn" -v b="$mco" 'BEGIN{printf "%.3f", a/b}'), xthread $(awk -v a="$mxn" -v b="$mxo" 'BEGIN{printf "%.3f", a/b}')"
} > "$out"
cat "$out"
