#!/usr/bin/env bash
# The instruction cost of hz3's allocation sampling, counted by callgrind
# (instructions inside malloc and free, inclusive): the build before the
# free-list split against the current build with sampling off and with
# sampling on (HZ3_SAMPLE_BYTES, 512 KiB by default), on dist_app.
# Instruction counts do not depend on the load of a shared machine. Then,
# REPS times alternating, ops per CPU second (user + system) of dist_app and
# mixed, 20M iterations, for glibc and the three hz3 builds: on a shared
# machine wall time counts the time a run waited for a core, CPU time less so.
#   OLD_LIB  the build before (default bench/target/libhz3-before-split.so)
#   NEW_LIB  the build after (default native-hz3/target/lib/libhz3.so)
# Build the old one from the commit before, e.g.
#   git worktree add /tmp/hz3-old <commit> && make -C /tmp/hz3-old/native-hz3 &&
#   cp /tmp/hz3-old/native-hz3/target/lib/libhz3.so bench/target/libhz3-before-split.so
# Writes bench/results/sampling-cost-latest.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
old=${OLD_LIB:-$here/target/libhz3-before-split.so}
new=${NEW_LIB:-$root/native-hz3/target/lib/libhz3.so}
mean=${SAMPLE_BYTES:-524288}
reps=${REPS:-5}
iters=${ITERS:-2000000}
make -s -C "$here" >/dev/null
[ -f "$old" ] && [ -f "$new" ] || { echo "sampling-cost.sh: need $old and $new" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "sampling-cost.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# counts LIB ENV ARGS...: "malloc free" instructions, inclusive
counts() {
    local lib=$1 envv=$2; shift 2
    env $envv LD_PRELOAD="$lib" valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
        "$here/target/dist_app" --seed 1 "$@" >/dev/null 2>&1
    callgrind_annotate --inclusive=yes "$tmp/cg.out" 2>/dev/null | awk '
        /:malloc( |$)/ && !m { gsub(",", "", $1); m = $1 }
        /:free( |$)/ && !f { gsub(",", "", $1); f = $1 }
        END { print m + 0, f + 0 }'
}

out=$here/results/sampling-cost-latest.md
mkdir -p "$here/results"
{
    echo "# hz3 sampling cost (callgrind)"
    echo
    echo "- date: $(date -u)"
    echo "- git commit: $(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo none)"
    echo "- dist_app $iters iterations, working set 400; instructions inside malloc / free, inclusive"
    echo
    echo "| sizes | build | malloc | free | malloc / before | free / before |"
    echo "|---|---|---:|---:|---:|---:|"
    for range in "16 32768" "16 256"; do
        read -r m0 f0 < <(counts "$old" "" "$iters" 400 $range)
        read -r m1 f1 < <(counts "$new" "" "$iters" 400 $range)
        read -r m2 f2 < <(counts "$new" "HZ3_SAMPLE_BYTES=$mean" "$iters" 400 $range)
        r() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a/b}'; }
        echo "| ${range/ /..} | before the split | $m0 | $f0 | 1 | 1 |"
        echo "| | sampling off | $m1 | $f1 | $(r "$m1" "$m0") | $(r "$f1" "$f0") |"
        echo "| | sampling on, mean $mean B | $m2 | $f2 | $(r "$m2" "$m0") | $(r "$f2" "$f0") |"
    done

    # cpu_ops PROGRAM LIB ENV: ops per CPU second of one 20M-iteration run
    cpu_ops() {
        local prog=$1 lib=$2 envv=$3 t
        if [ -n "$lib" ]; then
            t=$( { TIMEFORMAT='%U %S'; time env $envv LD_PRELOAD="$lib" "$here/target/$prog" 20000000 400 16 "$4" >/dev/null; } 2>&1 | tail -1)
        else
            t=$( { TIMEFORMAT='%U %S'; time "$here/target/$prog" 20000000 400 16 "$4" >/dev/null; } 2>&1 | tail -1)
        fi
        awk -v t="$t" 'BEGIN{split(t, a, " "); printf "%d\n", 40000000 / (a[1] + a[2])}'
    }
    median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
    echo
    echo "ops (mallocs + frees) per CPU second, $reps reps alternating, medians (M):"
    echo
    echo "| program | glibc | hz3 before the split | hz3 sampling off | hz3 sampling on | on / off | off / before |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for prog in "dist_app 32768" "mixed 1024"; do
        set -- $prog
        g=() b=() o=() n=()
        for ((i = 0; i < reps; i++)); do
            g+=("$(cpu_ops "$1" "" "" "$2")")
            b+=("$(cpu_ops "$1" "$old" "" "$2")")
            o+=("$(cpu_ops "$1" "$new" "" "$2")")
            n+=("$(cpu_ops "$1" "$new" "HZ3_SAMPLE_BYTES=$mean" "$2")")
        done
        mg=$(printf '%s\n' "${g[@]}" | median) mb=$(printf '%s\n' "${b[@]}" | median)
        mo=$(printf '%s\n' "${o[@]}" | median) mn=$(printf '%s\n' "${n[@]}" | median)
        awk -v p="$1 16..$2" -v g="$mg" -v b="$mb" -v o="$mo" -v n="$mn" \
            'BEGIN{printf "| %s | %.2f | %.2f | %.2f | %.2f | %.3f | %.3f |\n", p, g/1e6, b/1e6, o/1e6, n/1e6, n/o, o/b}'
    done
} >"$out"
cat "$out"
