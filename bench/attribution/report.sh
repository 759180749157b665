#!/usr/bin/env bash
# bench/attribution/report.sh RAW_DIR: the Markdown summary of a compare.sh run (medians over the
# reps), from RAW_DIR's raw.tsv, sites.tsv, state.env and the workloads' own output. Run again on
# a finished run's directory to redo the analysis.
set -euo pipefail
out="${1:?usage: report.sh RAW_DIR}"
[[ -f "$out/raw.tsv" && -f "$out/state.env" ]] || { echo "report.sh: no raw.tsv/state.env in $out" >&2; exit 1; }
# shellcheck disable=SC1091
source "$out/state.env"
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"

# zlib's deflate state at the JDK's settings (zconf.h: (1 << (windowBits + 2)) + (1 << (memLevel
# + 9)), windowBits 15, memLevel 8, plus about 6 KiB of small objects), as Hz3AttributionTest.
deflate=$(((1 << 17) + (1 << 17) + 6 * 1024))

# The true live bytes per site and run, from each workload's final line.
truth="$out/truth.tsv"
: >"$truth"
for f in "$out"/NativeLeak-*.out "$out"/NativeCache-*.out; do
  [[ -f "$f" ]] || continue
  b="$(basename "$f" .out)"; wl="${b%%-*}"; rest="${b#*-}"; cfg="${rest%%-*}"; rep="${rest#*-}"
  line="$(grep -E "^$wl: " "$f")" || continue
  val() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$line"; }
  if [[ "$wl" == NativeLeak ]]; then
    printf '%s\t%s\t%s\t%s\t%s\n' "$rep" "$wl" "$cfg" NativeLeak.compressRequest/deflater $(($(val leaked_deflaters) * deflate))
    printf '%s\t%s\t%s\t%s\t%s\n' "$rep" "$wl" "$cfg" NativeLeak.keepReply/direct_buffer $(($(val leaked_buffers) * 262144))
    printf '%s\t%s\t%s\t%s\t%s\n' "$rep" "$wl" "$cfg" NativeLeak.borrow/direct_buffer $(($(val pool_buffers) * 524288))
  else
    printf '%s\t%s\t%s\t%s\t%s\n' "$rep" "$wl" "$cfg" NativeCache.openSession/deflater $(($(val sessions) * deflate))
    printf '%s\t%s\t%s\t%s\t%s\n' "$rep" "$wl" "$cfg" NativeCache.openSession/direct_buffer $(($(val sessions) * 262144))
  fi
done >>"$truth"

med() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) {print "NA"; exit} if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
col() {   # col WORKLOAD CFG EXPR: one value per run (awk expression over raw.tsv's columns)
  awk -F'\t' -v w="$1" -v c="$2" "NR > 1 && \$2 == w && \$3 == c {printf \"%.6f\\n\", $3}" "$out/raw.tsv"
}
paired() {   # paired WORKLOAD X Y EXPR: median over reps of value(X)/value(Y)
  awk -F'\t' -v w="$1" -v x="$2" -v y="$3" "NR > 1 && \$2 == w {v[\$1 \" \" \$3] = $4; r[\$1] = 1}
    END {for (k in r) if ((k \" \" x) in v && (k \" \" y) in v && v[k \" \" y] > 0) printf \"%.6f\\n\", v[k \" \" x] / v[k \" \" y]}" "$out/raw.tsv" | med
}
ratio() { awk -v x="$1" -v y="$2" 'BEGIN {if (x == "NA" || y == "NA" || y == 0) print "-"; else printf "%.3f", x / y}'; }
CPU='$5 + $6'
declare -A ref=([a]=a [b]=a [c]=d [d]=d [e]=d)
declare -A names=([a]="a: hz3 + agent, attribution off" [b]="b: hz3 + agent, attribution=on 512k"
  [c]="c: glibc + async-profiler nativemem=512k" [d]="d: glibc, no profiler" [e]="e: hz3 + async-profiler nativemem=512k")
workloads="$(awk -F'\t' 'NR > 1 && $2 != "Fragment" && !s[$2]++ {print $2}' "$out/raw.tsv")"

echo "# hz3 attribution against async-profiler nativemem (bench/attribution/compare.sh)"
echo
echo "- date: $t_start; load average before $load_before, after $load_after"
echo "- machine: $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), nproc=$(nproc), kernel $(uname -r)"
echo "- JDK: $jdk; git commit $commit; async-profiler 4.1 (Maven Central)"
echo "- raw data: ${out#$root/}"
echo
echo "## Cost"
echo
echo "Medians over the reps. CPU = user + sys of the whole JVM (start-up and exit included), and of"
echo "the work phase alone (/proc/PID/stat at the PHASE work-start and work-end lines); wall ="
echo "Churn's work_ms (fixed work) or the whole process (NativeLeak and NativeCache run a fixed time at"
echo "a fixed request rate, so their CPU is the figure to read); RSS at PHASE work-end and the peak"
echo "(max RSS); the recording's size. Ratios against the same allocator without attribution (b / a)"
echo "or without a profiler (c / d, e / d); \"paired\" is the median of the per-rep ratios."
echo
echo "| workload | configuration | runs | wall s | wall ratio | CPU s, whole | ratio (paired) | CPU s, work phase | ratio (paired) | RSS work-end MiB | max RSS MiB | recording |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for wl in $workloads; do
  wall='$4'; [[ "$wl" == Churn ]] && wall='$10 / 1000'
  for c in a b c d e; do
    n="$(col "$wl" "$c" 1 | wc -l)"; [[ "$n" -gt 0 ]] || continue
    r="${ref[$c]}"
    mw="$(col "$wl" "$c" "$wall" | med)"; mc="$(col "$wl" "$c" "$CPU" | med)"
    rw="$(col "$wl" "$r" "$wall" | med)"; rc="$(col "$wl" "$r" "$CPU" | med)"
    mk="$(col "$wl" "$c" '$11' | med)"; rk="$(col "$wl" "$r" '$11' | med)"
    cr="-"; wr="-"; kr="-"
    if [[ "$c" != "$r" ]]; then
      cr="$(ratio "$mc" "$rc") ($(paired "$wl" "$c" "$r" "$CPU" | awk '{printf "%.3f", $1}'))"; wr="$(ratio "$mw" "$rw")"
      kr="$(ratio "$mk" "$rk") ($(paired "$wl" "$c" "$r" '$11' | awk '{printf "%.3f", $1}'))"
    fi
    rss="$(col "$wl" "$c" '$8 / 1024' | med)"; mx="$(col "$wl" "$c" '$7 / 1024' | med)"; rec="$(col "$wl" "$c" '$9 / 1048576' | med)"
    printf '| %s | %s | %s | %.2f | %s | %.2f | %s | %.2f | %s | %.1f | %.1f | %s |\n' "$wl" "${names[$c]}" "$n" "$mw" "$wr" "$mc" "$cr" "$mk" "$kr" "$rss" "$mx" \
      "$(awk -v r="$rec" 'BEGIN {if (r == 0) print "-"; else printf "%.2f MiB", r}')"
  done
done
echo
echo "RSS differences against the same allocator: b - a and c - d, e - d, MiB at work-end (medians of the per-rep differences):"
echo
for wl in $workloads; do
  for p in "b a" "c d" "e d"; do
    set -- $p
    awk -F'\t' -v w="$wl" -v x="$1" -v y="$2" 'NR > 1 && $2 == w {v[$1 " " $3] = $8; r[$1] = 1}
      END {for (k in r) if ((k " " x) in v && (k " " y) in v) printf "%.1f\n", (v[k " " x] - v[k " " y]) / 1024}' "$out/raw.tsv" \
      | med | awk -v w="$wl" -v p="$1 - $2" '$1 != "NA" {printf "- %s, %s: %+.1f MiB\n", w, p, $1}'
  done
done
echo
echo "## What each tells the user"
echo
echo "Per site (the app's innermost frame, and the kind of memory), medians over the reps: the bytes"
echo "each tool gives, against the true bytes from the workload's own count (its final line; zlib's"
echo "formula, $deflate bytes a Deflater). hz3 (b): hz3.NativeSite of the recording's last snapshot;"
echo "a Deflater's zlib memory is nativeLiveBytes (the mallocs inside the call, seen by hz3), a direct"
echo "buffer's is liveBytes. async-profiler (c, e): its converter's leak view (jfrconv --total --nativemem"
echo "--leak: mallocs with no later free, the last 10% of the recording left out): \"shown\" is the sum"
echo "of the sampled sizes, which that view prints, \"estimate\" weights each sample by max(size, 512k)."
echo "Config a (attribution off) has no per-site data: hz3's tiers grow, no site is named."
echo
echo "| workload | site | true MiB | b: hz3 estimate MiB (ratio) | b: pinned bytes max | c: shown MiB (ratio) | c: estimate MiB (ratio) | e: shown MiB (ratio) | e: estimate MiB (ratio) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
awk -F'\t' '
  FILENAME ~ /truth/ {t[$1 SUBSEP $2 SUBSEP $3 SUBSEP $4] = $5; site[$2 SUBSEP $4] = 1; next}
  $4 == "hz3" {k = $1 SUBSEP $2 SUBSEP $3 SUBSEP $5; est[k] = ($5 ~ /deflater/ ? $7 : $6); pin[k] = $11; site[$2 SUBSEP $5] = 1; next}
  $4 == "asprof" {k = $1 SUBSEP $2 SUBSEP $3 SUBSEP $5; shown[k] = $7; est[k] = $8; if ($5 !~ /not the app/) site[$2 SUBSEP $5] = 1}
  function median(s,   n, a, i, j, x) { n = split(s, a, " "); if (n == 0) return "NA"
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) {x = a[i]; a[i] = a[j]; a[j] = x}
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  function cell(w, s, c, arr,   r, v, q, k, x) { v = ""; q = ""
    for (r = 1; r <= 50; r++) { k = r SUBSEP w SUBSEP c SUBSEP s
      if (!(k in t)) continue
      x = (k in arr) ? arr[k] : 0; v = v " " x; if (t[k] > 0) q = q " " x / t[k] }
    if (v == "") return "-"
    return sprintf("%.1f (%s)", median(v) / 1048576, q == "" ? "-" : sprintf("%.2f", median(q))) }
  function truth(w, s,   v, k, tp) { v = ""; for (k in t) { split(k, tp, SUBSEP); if (tp[2] == w && tp[4] == s) v = v " " t[k] }
    return v == "" ? "-" : sprintf("%.1f", median(v) / 1048576) }
  function pinmax(w, s,   r, v, k) { v = ""; for (r = 1; r <= 50; r++) { k = r SUBSEP w SUBSEP "b" SUBSEP s; if (k in pin) v = v " " pin[k] }
    return v == "" ? "-" : sprintf("%d", median(v)) }
  END {
    for (ws in site) { split(ws, p, SUBSEP); if (p[1] == "Fragment" || truth(p[1], p[2]) == "-") continue
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", p[1], p[2], truth(p[1], p[2]),
        cell(p[1], p[2], "b", est), pinmax(p[1], p[2]), cell(p[1], p[2], "c", shown), cell(p[1], p[2], "c", est),
        cell(p[1], p[2], "e", shown), cell(p[1], p[2], "e", est) }
  }' "$truth" "$out/sites.tsv" | sort
echo
echo "hz3's rule \"Native memory growth\" over every b run: WARNING in"
for wl in NativeLeak NativeCache; do
  n="$( (ls "$out/$wl"-b-*.report 2>/dev/null || true) | wc -l)"
  [[ "$n" -gt 0 ]] || continue
  w="$( (grep -l 'WARNING  Native memory growth' "$out/$wl"-b-*.report 2>/dev/null || true) | wc -l)"
  echo "- $wl: $w of $n runs"
done
echo
echo "hz3's rules on rep 1 (bin/hz3-report's summary lines for the two attribution rules):"
echo
for f in "$out"/Native*-[ab]-1.report; do
  [[ -f "$f" ]] || continue
  b="$(basename "$f" .report)"
  grep -E '^\s+(OK|WARNING|INFO|N/A)\s+(Native memory growth|Java call sites that pin)' "$f" \
    | sed -e 's/^ *//' -e "s/^/- $b: /" || echo "- $b: (no rule lines; see $f)"
done
if [[ -f "$out/Fragment-b-1.out" ]]; then
  echo
  echo "Pinned pages (Fragment, rep 1: small blocks, 1 in 16 kept, the rest freed): what each names."
  echo
  awk -F'\t' '$2 == "Fragment" && $4 == "hz3" {printf "- b (hz3): %s pins at most %.1f MiB (hz3.NativeSite pinnedBytes, the most over the snapshots); %d pages pinned at the last snapshot\n", $5, $11 / 1048576, $9}
    $2 == "Fragment" && $4 == "asprof" && $5 !~ /not the app/ {n++; printf "- c (async-profiler): %s: %d unfreed samples, %.1f MiB shown; nothing about pages\n", $5, $6, $7 / 1048576}
    END {if (!n) print "- c (async-profiler): no app site in its leak view (the survivors are freed before the end); it has no notion of pages"}' "$out/sites.tsv"
  survivors="$(sed -n 's/^Fragment: .* survivors=\([0-9]*\) survivor_bytes=\([0-9]*\).*/\1 \2/p' "$out/Fragment-b-1.out")"
  partial="$(java -cp "$root/bench/attribution/target/classes" Verdicts partial "$out/Fragment-b-1.jfr" 2>/dev/null | cut -f2 || true)"
  echo "- the truth: $(awk -v s="$survivors" 'BEGIN {split(s, a, " "); printf "%d survivors, %.1f MiB", a[1], a[2] / 1048576}'),"\
    "and hz3's own census (hz3.TierOccupancy, small + sub4k tiers) counts at most ${partial:-?} partly used pages"\
    "($(awk -v p="${partial:-0}" 'BEGIN {printf "%.1f", p * 4096 / 1048576}') MiB of pages) in one snapshot"
  for f in "$out"/Fragment-b-1.report; do
    [[ -f "$f" ]] && grep -E 'Java call sites that pin' "$f" | sed -e 's/^ *//' -e 's/^/- b rule: /'
  done
fi
