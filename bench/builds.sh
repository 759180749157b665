#!/usr/bin/env bash
# Several builds of hz3 (or any malloc libraries) side by side: each
# repetition runs every scenario once per library, in a fixed order, so a
# slow drift of the machine hits all alike; the table gives medians of ops/s
# and of the RSS mean. For choosing a build switch, e.g. medium span lengths:
#   make -C native-hz3 clean && make -C native-hz3 CC="gcc -DHZ3_MEDIUM_SPAN_PAGES=16" &&
#   cp native-hz3/target/lib/libhz3.so /tmp/hz3-p16.so   (and so on per value)
#   LIBS="p16=/tmp/hz3-p16.so p32=/tmp/hz3-p32.so mimalloc=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2" \
#       bash bench/builds.sh
#   LIBS     name=path pairs (required); path "glibc" means no preload
#   REPS=5   ITERS=10000000
#   SCENARIOS="mixed_medium mixed_all dist_app" (as in run.sh: mixed_medium
#            = mixed ITERS 400 4096 32768, mixed_medium16 = ... 4096 16384,
#            mixed_all = mixed ITERS 400 16 32768,
#            dist_app = dist_app ITERS 400 16 32768, mixed = mixed ITERS 400 16 1024)
# Writes bench/results/builds-latest.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
REPS=${REPS:-5}
ITERS=${ITERS:-10000000}
SCENARIOS=${SCENARIOS:-"mixed_medium mixed_all dist_app"}
[[ -n ${LIBS:-} ]] || { echo "builds.sh: set LIBS=\"name=path ...\"" >&2; exit 1; }
make -s -C "$here" >/dev/null
unset LD_PRELOAD

cmd_of() {
    case $1 in
        mixed_medium) echo "mixed $ITERS 400 4096 32768" ;;
        mixed_medium16) echo "mixed $ITERS 400 4096 16384" ;;
        mixed_all) echo "mixed $ITERS 400 16 32768" ;;
        mixed) echo "mixed $ITERS 400 16 1024" ;;
        dist_app) echo "dist_app $ITERS 400 16 32768" ;;
        *) echo "builds.sh: unknown scenario $1" >&2; return 1 ;;
    esac
}

raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
for ((rep = 1; rep <= REPS; rep++)); do
    for s in $SCENARIOS; do
        read -r -a cmd <<<"$(cmd_of "$s")"
        for pair in $LIBS; do
            name=${pair%%=*} lib=${pair#*=}
            if [[ $lib == glibc ]]; then pre=(env -u LD_PRELOAD); else pre=(env "LD_PRELOAD=$lib"); fi
            out=$("$here/target/rss_sampler" --interval-ms 20 -- "${pre[@]}" "$here/target/${cmd[0]}" "${cmd[@]:1}")
            ops=$(sed -n 's/.*ops_per_sec=\([0-9]*\).*/\1/p' <<<"$out")
            rss=$(sed -n 's/.*mean_kb=\([0-9]*\).*/\1/p' <<<"$out")
            printf '%s\t%s\t%s\t%s\n' "$s" "$name" "$ops" "$rss" >>"$raw"
        done
    done
done

out=$here/results/builds-latest.md
mkdir -p "$here/results"
{
    echo "# hz3 builds side by side"
    echo
    echo "- date: $(date -u); machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), nproc=$(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- git commit: $(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo none); $REPS reps, alternated; medians"
    echo "- libraries: $LIBS"
    echo
    echo "| scenario | build | M ops/s | RSS mean KB | runs (M ops/s) |"
    echo "|---|---|---:|---:|---|"
    for s in $SCENARIOS; do
        for pair in $LIBS; do
            name=${pair%%=*}
            awk -F'\t' -v s="$s" -v n="$name" '
                $1 == s && $2 == n { ops[++k] = $3; rss[k] = $4; runs = runs sprintf("%.1f ", $3 / 1e6) }
                function med(a, n,   i, j, t) {
                    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
                }
                END { printf "| %s | %s | %.2f | %.0f | %s|\n", s, n, med(ops, k) / 1e6, med(rss, k), runs }' "$raw"
        done
    done
} >"$out"
cat "$out"
