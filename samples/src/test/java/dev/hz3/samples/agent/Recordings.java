package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static dev.hz3.jmc.Hz3Attributes.TierOccupancy.OCC_0;
import static dev.hz3.jmc.Hz3Attributes.TierOccupancy.OCC_1_TO_25;
import static dev.hz3.jmc.Hz3Attributes.TierOccupancy.OCC_25_TO_50;
import static dev.hz3.jmc.Hz3Attributes.TierOccupancy.OCC_50_TO_75;
import static dev.hz3.jmc.Hz3Attributes.TierOccupancy.OCC_75_TO_100;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;

/** Reading what the agent recorded, and hz3's exit report, for the agent tests. */
final class Recordings {

    static final List<String> HZ3_TYPES = List.of("hz3.Epoch", "hz3.Snapshot",
            "hz3.TierOccupancy", "hz3.PartialSizeClass", "hz3.Retention", "hz3.ProcessMemory",
            "hz3.AllocatorInfo");
    static final List<String> TIERS = List.of("small", "sub4k", "medium", "large", "free");

    private Recordings() {
    }

    /** Every event of the recording, in commit order (start time, then file order). */
    static List<RecordedEvent> read(Path jfr) throws IOException {
        assertTrue(Files.isRegularFile(jfr), "no recording at " + jfr);
        return RecordingFile.readAllEvents(jfr).stream()
                .sorted(Comparator.comparing(RecordedEvent::getStartTime))
                .collect(Collectors.toList());
    }

    static List<RecordedEvent> of(List<RecordedEvent> all, String type) {
        return all.stream().filter(e -> e.getEventType().getName().equals(type))
                .collect(Collectors.toList());
    }

    /** hz3.TierOccupancy by snapshot (seqLast), then tier. */
    static TreeMap<Long, Map<String, RecordedEvent>> tiersBySnapshot(List<RecordedEvent> all) {
        TreeMap<Long, Map<String, RecordedEvent>> m = new TreeMap<>();
        for (RecordedEvent e : of(all, "hz3.TierOccupancy")) {
            m.computeIfAbsent(e.getLong("seqLast"), k -> new TreeMap<>()).put(e.getString("tier"), e);
        }
        return m;
    }

    /** The census invariants of hz3.h hold in every hz3.TierOccupancy event. */
    static void assertTierInvariants(List<RecordedEvent> all) {
        for (RecordedEvent e : of(all, "hz3.TierOccupancy")) {
            long states = e.getLong("pagesUntouched") + e.getLong("pagesDecommitted")
                    + e.getLong("pagesEmpty") + e.getLong("pagesFull") + e.getLong("pagesPartial");
            assertEquals(e.getLong("pagesTotal"), states, () -> "states != total in " + e);
            long buckets = e.getLong(OCC_0) + e.getLong(OCC_1_TO_25) + e.getLong(OCC_25_TO_50)
                    + e.getLong(OCC_50_TO_75) + e.getLong(OCC_75_TO_100);
            assertEquals(e.getLong("pagesEmpty") + e.getLong("pagesPartial") + e.getLong("pagesFull"),
                    buckets, () -> "buckets != resident pages in " + e);
            assertEquals(e.getLong("pagesEmpty"), e.getLong(OCC_0), () -> "0% bucket != empty in " + e);
        }
        for (Map<String, RecordedEvent> snap : tiersBySnapshot(all).values()) {
            assertEquals(TIERS, TIERS.stream().filter(snap::containsKey).toList(),
                    () -> "a snapshot without all five tiers: " + snap.keySet());
        }
        // Ranks 1..n per snapshot, partial pages never rising.
        Map<Long, List<RecordedEvent>> classes = of(all, "hz3.PartialSizeClass").stream()
                .collect(Collectors.groupingBy(e -> e.getLong("seqLast"), TreeMap::new,
                        Collectors.toList()));
        for (List<RecordedEvent> ranked : classes.values()) {
            ranked.sort(Comparator.comparingInt(e -> e.getInt("rank")));
            for (int i = 0; i < ranked.size(); i++) {
                assertEquals(i + 1, ranked.get(i).getInt("rank"));
                if (i > 0) {
                    assertTrue(ranked.get(i).getLong("pagesPartial")
                            <= ranked.get(i - 1).getLong("pagesPartial"));
                }
            }
        }
    }

    /** Epoch numbers rise in the order the listener committed them. */
    static void assertEpochsIncrease(List<RecordedEvent> all) {
        long last = -1;
        for (RecordedEvent e : of(all, "hz3.Epoch")) {
            long seq = e.getLong("seq");
            assertTrue(seq > last, "epoch " + seq + " after " + last);
            last = seq;
        }
    }

    /** hz3's exit report: tier -> [key -> value] of the [HZ3_S135_FRAG_OBS] lines. */
    static Map<String, Map<String, Long>> exitReport(String stderr) {
        Map<String, Map<String, Long>> tiers = new TreeMap<>();
        Matcher line = Pattern.compile("^\\[HZ3_S135_FRAG_OBS\\] tier=(\\w+)(.*)$", Pattern.MULTILINE)
                .matcher(stderr);
        while (line.find()) {
            Map<String, Long> kv = new TreeMap<>();
            Matcher m = Pattern.compile(" (\\w+)=(\\d+)").matcher(line.group(2));
            while (m.find()) {
                kv.put(m.group(1), Long.parseLong(m.group(2)));
            }
            tiers.put(line.group(1), kv);
        }
        return tiers;
    }

    /** The partial pages of small+sub4k tiers, and occupancy of their in-use pages (from buckets). */
    static double[] fragmentation(Map<String, RecordedEvent> snapshot) {
        long partial = 0;
        double weighted = 0;
        long inUse = 0;
        for (String t : List.of("small", "sub4k")) {
            RecordedEvent e = snapshot.get(t);
            partial += e.getLong("pagesPartial");
            long[] b = {e.getLong(OCC_1_TO_25), e.getLong(OCC_25_TO_50), e.getLong(OCC_50_TO_75),
                e.getLong(OCC_75_TO_100)};
            double[] mid = {0.125, 0.375, 0.625, 0.875};
            for (int i = 0; i < 4; i++) {
                weighted += b[i] * mid[i];
                inUse += b[i];
            }
        }
        return new double[] {partial, inUse == 0 ? 1 : weighted / inUse};
    }

    /** The app's sites in the recording's last hz3.NativeSite, by method (keepB, growF ...). */
    static Map<String, RecordedEvent> lastSites(Path jfr, String app) throws IOException {
        List<RecordedEvent> sites = Recordings.of(Recordings.read(jfr), "hz3.NativeSite");
        Instant last = sites.stream().filter(e -> e.getInt("rank") == 1)
                .map(RecordedEvent::getStartTime).max(Instant::compareTo)
                .orElseThrow(() -> new AssertionError("no hz3.NativeSite in " + jfr));
        Map<String, RecordedEvent> by = new TreeMap<>();
        for (RecordedEvent e : sites) {
            if (!e.getStartTime().isBefore(last) && e.getString("site").startsWith(app + ".")) {
                String s = e.getString("site").substring(app.length() + 1);
                by.put(s.substring(0, s.indexOf(':')), e);
            }
        }
        return by;
    }
}
