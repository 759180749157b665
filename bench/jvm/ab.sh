#!/usr/bin/env bash
# bench/jvm/ab.sh - hz3 builds (or settings) against each other on the JVM churn workload,
# alternated run by run, with the process's minor faults (which run.sh does not report): a purge
# that fights reuse shows there first.
#
# Usage: bash bench/jvm/ab.sh NAME=LIBDIR[:VAR=VALUE,...] ...   e.g.
#   REPS=4 bash bench/jvm/ab.sh base=/tmp/x-base new=/tmp/x-new 'd250=/tmp/x-new:HZ3_PURGE_DELAY_MS=250'
#   (NAME=glibc runs without a preload)
# Prints one line per run and medians per variant: rounds, work s, CPU s, work mean / peak MiB,
# RSS 2 s after, minor faults (whole process, from the probe's last reading at idle-end).
set -euo pipefail
JVM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$JVM_DIR/../.." && pwd)
REPS=${REPS:-3}
SAMPLE_ARGS=${SAMPLE_ARGS:-"--threads 8 --seconds 10"}
OUT=${OUT:-/tmp/ab-$$}
mkdir -p "$OUT"
make -s -C "$JVM_DIR" all target/census_probe.so
PROBE=$JVM_DIR/target/census_probe.so
read -r -a ARGS <<<"$SAMPLE_ARGS"

printf 'rep\tvariant\trounds\twork_s\tcpu_s\tmean_mib\tpeak_mib\tafter2s_mib\tminflt\n' >"$OUT/runs.tsv"
for ((rep = 1; rep <= REPS; rep++)); do
    vs=("$@")
    if ((rep % 2 == 0)); then vs=(); for ((k = $# ; k >= 1; k--)); do vs+=("${!k}"); done; fi
    for v in "${vs[@]}"; do
        name=${v%%=*} spec=${v#*=} dir=${spec%%:*} envs=()
        [[ $spec == *:* ]] && IFS=, read -r -a envs <<<"${spec#*:}"
        base=$OUT/rep$rep-$name
        if [[ $name == glibc ]]; then pre=(env "LD_PRELOAD=$PROBE"); else pre=(env "LD_PRELOAD=$dir/libhz3.so $PROBE"); fi
        "$JVM_DIR/target/rss_series" --out "$base.rss.tsv" --interval-ms 50 --timeout-s 120 -- \
            "${pre[@]}" ${envs[@]+"${envs[@]}"} HZ3_PROBE_CENSUS=0 HZ3_PROBE_MS=250 \
            "HZ3_PROBE_FILE=$base.probe" java -Xms256m -Xmx256m -XX:+AlwaysPreTouch -cp "$ROOT/samples/target/classes" \
            dev.hz3.samples.Churn "${ARGS[@]}" --idle-before 2 --idle-after 4 >"$base.out" 2>"$base.err" || true
        awk -F'\t' -v rep="$rep" -v name="$name" -v out="$base.out" -v probe="$base.probe" '
            BEGIN {
                while ((getline l < out) > 0) {
                    if (l ~ /^PHASE /) { split(l, w, " "); sub(/^t_ms=/, "", w[3]); ph[w[2]] = w[3] + 0 }
                    if (l ~ /rounds=.*verified$/) { r = l; sub(/.* rounds=/, "", r); sub(/ .*/, "", r)
                        ws = l; sub(/.* work_ms=/, "", ws); sub(/ .*/, "", ws) }
                    if (l ~ /^RSS_SERIES/) { c = l; sub(/.*cpu_ms=/, "", c) }
                }
                mf = "NA"; while ((getline l < probe) > 0) { n = split(l, f, "\t"); if (f[1] != "t_ms") mf = f[n] }
            }
            FNR > 1 { t = $1 + 0; kb = $2 + 0
                if (t >= ph["work-start"] && t <= ph["work-end"]) { s += kb; k++; if (kb > pk) pk = kb }
                if (a2 == "" && t - ph["work-end"] >= 2000) a2 = kb }
            END { printf "%s\t%s\t%s\t%.2f\t%.2f\t%.1f\t%.1f\t%.1f\t%s\n", rep, name, r, ws / 1000, c / 1000,
                  k ? s / k / 1024 : 0, pk / 1024, a2 / 1024, mf }' "$base.rss.tsv" | tee -a "$OUT/runs.tsv"
    done
done
echo "medians ($OUT/runs.tsv):"
printf 'variant\trounds\twork_s\tcpu_s\tmean_mib\tpeak_mib\tafter2s_mib\tminflt\n'
for name in $(awk -F'\t' 'NR > 1 { print $2 }' "$OUT/runs.tsv" | sort -u); do
    printf '%s' "$name"
    for c in 3 4 5 6 7 8 9; do
        awk -F'\t' -v n="$name" -v c="$c" 'NR > 1 && $2 == n { print $c }' "$OUT/runs.tsv" | sort -g |
            awk '{ a[NR] = $1 } END { printf "\t%s", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
    done
    echo
done
