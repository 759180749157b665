#!/usr/bin/env bash
# hz3's observation cost, measured (issue: census on vs off within 2%).
#   census on:  HZ3_OBS=1 and the default sweep (HZ3_SCAN_SEG_BUDGET=64) every epoch
#   census off: HZ3_SCAN_SEG_BUDGET=0 (epochs still purge; no sweep, no report)
# The two alternate within each repetition; medians of dist_app ops/s (100M
# iterations, so that a run spans several timer epochs), then the cost of one
# epoch at budget 0, 64 and 256 on a 200 MiB heap (bench/src/epoch_cost.c).
# Writes bench/results/census-latest.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
reps=${REPS:-7}
lib=${HZ3_LIB:-$root/native-hz3/target/lib/libhz3.so}
make -s -C "$here" >/dev/null
[ -f "$lib" ] || make -s -C "$root/native-hz3" >/dev/null

ops() {   # ops ENV...: one dist_app run's ops/s
    env "$@" LD_PRELOAD="$lib" "$here/target/dist_app" 100000000 400 16 32768 | sed -n 's/.*ops_per_sec=\([0-9]*\).*/\1/p'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

on=() off=()
for ((i = 0; i < reps; i++)); do
    on+=("$(ops HZ3_OBS=1)")
    off+=("$(ops HZ3_SCAN_SEG_BUDGET=0)")
done
m_on=$(printf '%s\n' "${on[@]}" | median)
m_off=$(printf '%s\n' "${off[@]}" | median)

out=$here/results/census-latest.md
mkdir -p "$here/results"
{
    echo "# hz3 census cost"
    echo
    echo "- date: $(date -u)"
    echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), nproc=$(nproc), kernel $(uname -r)"
    echo "- git commit: $(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo none)"
    echo "- dist_app 100M iterations, WS 400, 16..32768; $reps reps alternating; medians"
    echo
    echo "| census | M ops/s (median) | runs (M ops/s) |"
    echo "|---|---:|---|"
    echo "| on (HZ3_OBS=1, budget 64) | $(awk -v x="$m_on" 'BEGIN{printf "%.2f", x/1e6}') | $(printf '%s ' "${on[@]}" | awk '{for(i=1;i<=NF;i++) printf "%.1f ", $i/1e6}') |"
    echo "| off (budget 0) | $(awk -v x="$m_off" 'BEGIN{printf "%.2f", x/1e6}') | $(printf '%s ' "${off[@]}" | awk '{for(i=1;i<=NF;i++) printf "%.1f ", $i/1e6}') |"
    echo
    echo "on / off = $(awk -v a="$m_on" -v b="$m_off" 'BEGIN{printf "%.3f", a/b}')"
    echo
    echo "| epoch cost, 200 MiB heap | median us | max us |"
    echo "|---|---:|---:|"
    for b in 0 64 256; do
        HZ3_SCAN_SEG_BUDGET=$b LD_PRELOAD="$lib" "$here/target/epoch_cost" 200 200 |
            sed -n 's/.*budget=\([0-9]*\).*median_us=\([0-9.]*\) max_us=\([0-9.]*\).*/| budget \1 | \2 | \3 |/p'
    done
} > "$out"
cat "$out"
