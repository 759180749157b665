#!/usr/bin/env bash
# bench/attribution/alloc.sh: where attribution's Java heap allocation goes, by thread and by
# method, on cost.sh's Churn: counts that do not move with the machine's load, where cost.sh's
# CPU seconds and RSS do (issue 10).
#
#   bash bench/attribution/alloc.sh                     # agent/target/hz3-agent.jar
#   bash bench/attribution/alloc.sh /tmp/other.jar
#
# RUNS pairs (off, then on: attribution=on,sampleBytes=INTERVAL), each JVM under async-profiler
# 4.1 with alloc=1 (every Java object allocation, bytes, by thread and stack), and RUNS more
# pairs counting JFR's metadata writes (calls of MetadataRepository.storeDescriptorInJVM: each
# one serialises every event type, about 1.5 MB of garbage, and one more follows every event
# class that registers after the last write). Like cost.sh: hz3 preloaded, hz3.jfc, the jar's
# own private directory warmed up (woven classes kept) before anything is counted.
# Output: bytes per thread (on, off, difference), then the methods whose inclusive bytes differ
# most, of the agent's, JFR's and the stack walk's (first pair of runs), then the metadata
# writes per run. Knobs: RUNS (2), THREADS (4), ROUNDS (150), INTERVAL (524288), TOP (40), OUT.
set -euo pipefail

RUNS="${RUNS:-2}"
THREADS="${THREADS:-4}"
ROUNDS="${ROUNDS:-150}"
INTERVAL="${INTERVAL:-524288}"
TOP="${TOP:-40}"
BENCH=alloc.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
OUT="${OUT:-$root/bench/results/raw-attribution-alloc-$(date -u +%Y%m%dT%H%M%SZ)}"

need_counts RUNS THREADS ROUNDS INTERVAL TOP
jar="$(readlink -f "${1:-agent/target/hz3-agent.jar}")"
[[ -f "$jar" ]] || die "$jar: no such agent jar"
require_tools java python3
copy_attribution_build Churn
fetch_async_profiler
cp "$ap_lib" "$build/"
cp "$jar" "$build/agent.jar"
mkdir -p "$OUT/xdg"
chmod 700 "$OUT/xdg"

churn() {   # churn MODE ROUNDS JVM-OPTION...: one Churn run, attribution MODE (on|off)
  local mode="$1" rounds="$2" agent="-javaagent:$build/agent.jar"; shift 2
  [[ "$mode" == on ]] && agent="$agent=attribution=on,sampleBytes=$INTERVAL"
  env "LD_PRELOAD=$build/libhz3.so" "XDG_RUNTIME_DIR=$OUT/xdg" java "${jvm[@]}" "$@" "$agent" \
    -XX:StartFlightRecording:filename="$OUT/rec.jfr",settings="$build/hz3.jfc" \
    -cp "$build/samples-classes" dev.hz3.samples.Churn --threads "$THREADS" --rounds "$rounds"
}

for k in 1 2; do churn on 2 >"$OUT/warm-up-$k.out" 2>&1 || die "warm-up failed (see $OUT/warm-up-$k.out)"; done
for ((r = 1; r <= RUNS; r++)); do
  for m in off on; do
    churn "$m" "$ROUNDS" "-agentpath:$build/libasyncProfiler.so=start,alloc=1,threads,total,collapsed,file=$OUT/alloc-$m-$r.txt" \
      >"$OUT/alloc-$m-$r.out" 2>&1 || die "run alloc-$m-$r failed (see $OUT/alloc-$m-$r.out)"
    churn "$m" "$ROUNDS" "-agentpath:$build/libasyncProfiler.so=start,event=jdk.jfr.internal.MetadataRepository.storeDescriptorInJVM,threads,collapsed,file=$OUT/meta-$m-$r.txt" \
      >"$OUT/meta-$m-$r.out" 2>&1 || die "run meta-$m-$r failed (see $OUT/meta-$m-$r.out)"
  done
done
rm -f "$OUT/rec.jfr"

echo "alloc.sh: $RUNS pairs, Churn --threads $THREADS --rounds $ROUNDS, sampleBytes=$INTERVAL; load average $(load_average); $(java -version 2>&1 | head -1)"
python3 - "$OUT" "$RUNS" "$TOP" <<'EOF'
import collections, re, sys
out, runs, top = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def norm(frame):   # spun classes' addresses and numbers differ from run to run
    return re.sub(r'\$\$Lambda\$\d+|0x[0-9a-f]+', '', frame)

def load(path):
    threads, methods = collections.Counter(), collections.Counter()
    for line in open(path):
        stack, _, v = line.rstrip('\n').rpartition(' ')
        frames = stack.split(';')
        threads[re.sub(r' tid=\d+', '', frames[0])] += int(v)
        for f in set(norm(f) for f in frames[1:]):
            methods[f] += int(v)
    return threads, methods

mb = lambda b: '%.2f' % (b / 1e6)
print('\nJava heap allocated, MB, per thread (on / off / on - off):')
print('| thread | ' + ' | '.join('run %d' % r for r in range(1, runs + 1)) + ' |')
print('|---|' + '---:|' * runs)
per = [(load('%s/alloc-on-%d.txt' % (out, r)), load('%s/alloc-off-%d.txt' % (out, r))) for r in range(1, runs + 1)]
names = sorted(set(t for (on, off) in per for t in list(on[0]) + list(off[0])),
               key=lambda t: -per[0][0][0][t] - per[0][1][0][t])
for t in ['all'] + names[:8]:
    cells = []
    for (on, off) in per:
        a = sum(on[0].values()) if t == 'all' else on[0][t]
        b = sum(off[0].values()) if t == 'all' else off[0][t]
        cells.append('%s / %s / %+.2f' % (mb(a), mb(b), (a - b) / 1e6))
    print('| %s | %s |' % (t, ' | '.join(cells)))
on, off = per[0][0][1], per[0][1][1]
keep = re.compile(r'dev/hz3/agent|jdk/jfr/internal/(MetadataRepository|PlatformRecorder\.periodicTask)|Throwable|JvmtiExport::post_class_file_load_hook')
print('\nMethods (inclusive MB, run 1) whose bytes differ most, on - off:')
diff = sorted(((on[k] - off[k], k) for k in set(on) | set(off) if keep.search(k)), reverse=True)
for d, k in diff[:top]:
    print('%+8.2f  on %7.2f  off %7.2f  %s' % (d / 1e6, on[k] / 1e6, off[k] / 1e6, k))
print('\nJFR metadata writes per run (storeDescriptorInJVM calls):')
for m in ('off', 'on'):
    counts = []
    for r in range(1, runs + 1):
        counts.append(str(sum(int(l.rsplit(' ', 1)[1]) for l in open('%s/meta-%s-%d.txt' % (out, m, r)))))
    print('  %s: %s' % (m, ' '.join(counts)))
EOF
