import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * What a recording tells a user about the app's native call sites, one line per site, for
 * bench/attribution/compare.sh. Two readers, one per tool:
 *
 * <pre>
 *   Verdicts hz3 REC.jfr PACKAGE              hz3.NativeSite (the hz3 agent, attribution=on)
 *   Verdicts asprof REC.jfr PACKAGE INTERVAL  profiler.Malloc / profiler.Free (async-profiler nativemem)
 * </pre>
 *
 * A site is the innermost frame of the app (the first frame whose class is in PACKAGE), as
 * Class.method/kind. Output, tab-separated, one line per site:
 * {@code hz3 site liveBytes nativeLiveBytes growthBytes pinnedPages pinnedBytes maxPinnedBytes liveSamples}
 * (the recording's last snapshot; maxPinnedBytes over every snapshot), or
 * {@code asprof site unfreedSamples sampledBytes estimatedBytes}.
 *
 * <p>The async-profiler figures follow its own converter's leak view ({@code jfrconv --total
 * --nativemem --leak}): a malloc is live when no free of its address follows it; mallocs in the
 * last 10% of the recording are left out (the converter's default {@code --tail}); sampledBytes
 * is the sum of the sampled sizes, which is what that view shows. async-profiler samples a malloc
 * when a running byte counter crosses a multiple of INTERVAL, so a malloc of s bytes is sampled
 * with probability min(1, s / INTERVAL); estimatedBytes weights each sample by max(s, INTERVAL),
 * the estimate of the true bytes the converter does not make.
 */
public final class Verdicts {

    private Verdicts() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 3 && args[0].equals("hz3")) {
            hz3(Path.of(args[1]), args[2]);
        } else if (args.length == 2 && args[0].equals("partial")) {
            partial(Path.of(args[1]));
        } else if (args.length == 4 && args[0].equals("asprof")) {
            asprof(Path.of(args[1]), args[2], Long.parseLong(args[3]));
        } else {
            System.err.println("usage: Verdicts hz3 REC.jfr PACKAGE | Verdicts partial REC.jfr"
                    + " | Verdicts asprof REC.jfr PACKAGE INTERVAL");
            System.exit(2);
        }
    }

    static void hz3(Path jfr, String pkg) throws IOException {
        List<RecordedEvent> sites = new ArrayList<>();
        for (RecordedEvent e : RecordingFile.readAllEvents(jfr)) {
            if (e.getEventType().getName().equals("hz3.NativeSite")) {
                sites.add(e);
            }
        }
        Map<String, Long> maxPinned = new HashMap<>();
        for (RecordedEvent e : sites) {
            String s = hz3Site(e, pkg);
            if (s != null) {
                maxPinned.merge(s, Math.max(0, e.getLong("pinnedBytes")), Math::max);
            }
        }
        Instant last = sites.stream().map(RecordedEvent::getStartTime).max(Comparator.naturalOrder()).orElse(null);
        if (last == null) {
            return;
        }
        // One snapshot's events share a start time within a few ms; take the last second's.
        Instant from = last.minus(Duration.ofMillis(500));
        Map<String, RecordedEvent> by = new TreeMap<>();
        for (RecordedEvent e : sites) {
            String s = hz3Site(e, pkg);
            if (s != null && !e.getStartTime().isBefore(from)) {
                by.merge(s, e, (x, y) -> x.getStartTime().isAfter(y.getStartTime()) ? x : y);
            }
        }
        for (String s : maxPinned.keySet()) {
            RecordedEvent e = by.get(s);
            if (e == null) {
                System.out.printf("hz3\t%s\t0\t0\t0\t0\t0\t%d\t0%n", s, maxPinned.get(s));
            } else {
                System.out.printf("hz3\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d%n", s, e.getLong("liveBytes"), e.getLong("nativeLiveBytes"), e.getLong("growthBytes"),
                        e.getLong("pinnedPages"), e.getLong("pinnedBytes"), maxPinned.get(s), e.getLong("liveSamples"));
            }
        }
    }

    /**
     * The most partly used pages of hz3's small and sub4k tiers in any one snapshot
     * (hz3.TierOccupancy), all sites together: the reference for the per-site pinned pages, which
     * count only the pages that hold a sampled object. Prints "partial PAGES".
     */
    static void partial(Path jfr) throws IOException {
        Map<Long, Long> bySnapshot = new HashMap<>();
        for (RecordedEvent e : RecordingFile.readAllEvents(jfr)) {
            if (e.getEventType().getName().equals("hz3.TierOccupancy")
                    && List.of("small", "sub4k").contains(e.getString("tier"))) {
                bySnapshot.merge(e.getLong("seqLast"), e.getLong("pagesPartial"), Long::sum);
            }
        }
        System.out.printf("partial\t%d%n", bySnapshot.values().stream().mapToLong(Long::longValue).max().orElse(0));
    }

    /** "dev.hz3.samples.NativeLeak.compressRequest:78", deflater -> "NativeLeak.compressRequest/deflater". */
    static String hz3Site(RecordedEvent e, String pkg) {
        String site = e.getString("site");
        if (site == null || !site.startsWith(pkg + ".")) {
            return null;
        }
        String s = site.substring(pkg.length() + 1);
        int colon = s.indexOf(':');
        return (colon < 0 ? s : s.substring(0, colon)) + "/" + e.getString("kind").replace(' ', '_');
    }

    record Malloc(String site, long size) {
    }

    static void asprof(Path jfr, String pkg, long interval) throws IOException {
        List<RecordedEvent> events = new ArrayList<>();
        Instant first = null;
        Instant end = null;
        for (RecordedEvent e : RecordingFile.readAllEvents(jfr)) {
            Instant t = e.getStartTime();
            first = first == null || t.isBefore(first) ? t : first;
            end = end == null || t.isAfter(end) ? t : end;
            String n = e.getEventType().getName();
            if (n.equals("profiler.Malloc") || n.equals("profiler.Free")) {
                events.add(e);
            }
        }
        if (first == null) {
            return;
        }
        events.sort(Comparator.comparing(RecordedEvent::getStartTime));
        Instant tail = first.plus(Duration.between(first, end).multipliedBy(9).dividedBy(10));
        Map<Long, Malloc> live = new HashMap<>();
        Map<Long, Instant> when = new HashMap<>();
        for (RecordedEvent e : events) {
            long address = e.getLong("address");
            if (e.getEventType().getName().equals("profiler.Free")) {
                live.remove(address);
                when.remove(address);
            } else {
                live.put(address, new Malloc(asprofSite(e.getStackTrace(), pkg), e.getLong("size")));
                when.put(address, e.getStartTime());
            }
        }
        Map<String, long[]> by = new TreeMap<>();
        for (Map.Entry<Long, Malloc> m : live.entrySet()) {
            if (when.get(m.getKey()).isAfter(tail)) {
                continue;
            }
            long[] v = by.computeIfAbsent(m.getValue().site(), k -> new long[3]);
            v[0]++;
            v[1] += m.getValue().size();
            v[2] += Math.max(m.getValue().size(), interval);
        }
        by.forEach((s, v) -> System.out.printf("asprof\t%s\t%d\t%d\t%d%n", s, v[0], v[1], v[2]));
    }

    /**
     * The app's innermost frame as Class.method/kind, the kind named as the hz3 agent does from
     * the JDK frames below it (deflater, direct_buffer, else other); "(not the app)" for the
     * JVM's own mallocs.
     */
    static String asprofSite(RecordedStackTrace st, String pkg) {
        String kind = "other";
        if (st != null) {
            for (RecordedFrame f : st.getFrames()) {
                if (f.getMethod() == null || f.getMethod().getType() == null) {
                    continue;
                }
                String type = f.getMethod().getType().getName();
                if (type.startsWith(pkg + ".")) {
                    return type.substring(pkg.length() + 1) + "." + f.getMethod().getName() + "/" + kind;
                }
                if (kind.equals("other") && type.equals("java.util.zip.Deflater")) {
                    kind = "deflater";
                } else if (kind.equals("other") && type.equals("java.nio.DirectByteBuffer")) {
                    kind = "direct_buffer";
                }
            }
        }
        return "(not the app)";
    }
}
