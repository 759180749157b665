import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;

/**
 * Reads JFR recordings for bench/agent/overhead.sh and soak.sh (JDK 17+, no dependencies).
 *
 *   java JfrStats.java latency FILE.jfr...
 *       hz3.Epoch epoch-to-event latency: the event's commit time (its endTime; the agent does
 *       not call begin(), so startTime = endTime = commit) minus the end of the epoch as hz3
 *       took it (epochStart + epochDuration). epochStart has millisecond resolution (hz3's
 *       start_ms, truncated), so each latency is overstated by 0..1 ms. Prints one line:
 *       LATENCY n=.. min_ms=.. median_ms=.. p90_ms=.. p99_ms=.. max_ms=..
 *
 *   java JfrStats.java soak OUT.tsv LAT.txt FROM_MS TO_MS FILE.jfr [FROM_MS TO_MS FILE.jfr ...]
 *       Per-minute table of the hz3.* events whose startTime falls in [FROM_MS, TO_MS) of its
 *       file (the windows of overlapping dumps, so each event is counted once); writes OUT.tsv
 *       with columns minute_ms hz3_events epoch snapshot tier partial retention procmem
 *       allocinfo segments_total live_bytes segment_bytes census_resident_bytes rss_bytes
 *       threads (the last value seen in the minute, empty when none), and the latency line
 *       (as above) for the hz3.Epoch events of those windows into LAT.txt.
 */
public final class JfrStats {

    public static void main(String[] args) throws IOException {
        if (args.length >= 2 && args[0].equals("latency")) {
            List<Double> lat = new ArrayList<>();
            for (int i = 1; i < args.length; i++) {
                for (RecordedEvent e : RecordingFile.readAllEvents(Path.of(args[i]))) {
                    if (e.getEventType().getName().equals("hz3.Epoch")) {
                        lat.add(latencyMs(e));
                    }
                }
            }
            System.out.println(latencyLine(lat));
        } else if (args.length >= 6 && args[0].equals("soak") && (args.length - 3) % 3 == 0) {
            soak(args);
        } else {
            System.err.println("usage: java JfrStats.java latency FILE.jfr... | soak OUT.tsv LAT.txt FROM_MS TO_MS FILE.jfr...");
            System.exit(2);
        }
    }

    static double latencyMs(RecordedEvent e) {
        Instant commit = e.getEndTime();
        long startMs = e.getLong("epochStart");
        long durNs = e.getLong("epochDuration");
        long epochEndNs = startMs * 1_000_000L + durNs;
        long commitNs = commit.getEpochSecond() * 1_000_000_000L + commit.getNano();
        return (commitNs - epochEndNs) / 1e6;
    }

    static String latencyLine(List<Double> lat) {
        if (lat.isEmpty()) {
            return "LATENCY n=0";
        }
        Collections.sort(lat);
        return String.format(Locale.ROOT,
                "LATENCY n=%d min_ms=%.3f median_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f",
                lat.size(), lat.get(0), pct(lat, 50), pct(lat, 90), pct(lat, 99), lat.get(lat.size() - 1));
    }

    /** Nearest rank: the ceil(p/100 * n)-th smallest. */
    static double pct(List<Double> sorted, double p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.size());
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
    }

    static final String[] TYPES = {"hz3.Epoch", "hz3.Snapshot", "hz3.TierOccupancy", "hz3.PartialSizeClass",
            "hz3.Retention", "hz3.ProcessMemory", "hz3.AllocatorInfo"};

    static final class Minute {
        long hz3;
        final long[] byType = new long[TYPES.length];
        String segments = "", live = "", segBytes = "", census = "", rss = "", threads = "";
        long segT = Long.MIN_VALUE, retT = Long.MIN_VALUE, pmT = Long.MIN_VALUE;
    }

    static void soak(String[] args) throws IOException {
        Path out = Path.of(args[1]);
        Path latOut = Path.of(args[2]);
        TreeMap<Long, Minute> minutes = new TreeMap<>();
        List<Double> lat = new ArrayList<>();
        for (int i = 3; i < args.length; i += 3) {
            long from = Long.parseLong(args[i]);
            long to = Long.parseLong(args[i + 1]);
            Path file = Path.of(args[i + 2]);
            for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
                String name = e.getEventType().getName();
                if (!name.startsWith("hz3.")) {
                    continue;
                }
                long t = e.getStartTime().toEpochMilli();
                if (t < from || t >= to) {
                    continue;
                }
                Minute m = minutes.computeIfAbsent(t / 60_000 * 60_000, k -> new Minute());
                m.hz3++;
                for (int k = 0; k < TYPES.length; k++) {
                    if (TYPES[k].equals(name)) {
                        m.byType[k]++;
                    }
                }
                switch (name) {
                    case "hz3.Epoch":
                        lat.add(latencyMs(e));
                        break;
                    case "hz3.Snapshot":
                        if (t >= m.segT) {
                            m.segT = t;
                            m.segments = Long.toString(e.getLong("segmentsTotal"));
                            m.census = Long.toString(e.getLong("censusResidentBytes"));
                        }
                        break;
                    case "hz3.Retention":
                        if (t >= m.retT) {
                            m.retT = t;
                            m.live = Long.toString(e.getLong("liveBytes"));
                            m.segBytes = Long.toString(e.getLong("segmentBytes"));
                        }
                        break;
                    case "hz3.ProcessMemory":
                        if (t >= m.pmT) {
                            m.pmT = t;
                            m.rss = Long.toString(e.getLong("rss"));
                            m.threads = Integer.toString(e.getInt("threads"));
                        }
                        break;
                    default:
                        break;
                }
            }
        }
        StringBuilder sb = new StringBuilder(
                "minute_ms\thz3_events\tepoch\tsnapshot\ttier\tpartial\tretention\tprocmem\tallocinfo"
                        + "\tsegments_total\tlive_bytes\tsegment_bytes\tcensus_resident_bytes\trss_bytes\tthreads\n");
        for (Map.Entry<Long, Minute> en : minutes.entrySet()) {
            Minute m = en.getValue();
            sb.append(en.getKey()).append('\t').append(m.hz3);
            for (long c : m.byType) {
                sb.append('\t').append(c);
            }
            sb.append('\t').append(m.segments).append('\t').append(m.live).append('\t').append(m.segBytes)
                    .append('\t').append(m.census).append('\t').append(m.rss).append('\t').append(m.threads).append('\n');
        }
        java.nio.file.Files.writeString(out, sb.toString());
        java.nio.file.Files.writeString(latOut, latencyLine(lat) + "\n");
    }
}
