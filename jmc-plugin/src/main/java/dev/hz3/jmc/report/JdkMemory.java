package dev.hz3.jmc.report;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.openjdk.jmc.common.item.IItem;
import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.item.IItemIterable;
import org.openjdk.jmc.common.item.ItemFilters;

import dev.hz3.jmc.census.Fields;

/**
 * The JDK's own memory events, where the recording has them: they are sampled by the JVM from the
 * recording's start (jdk.ResidentSetSize every second in the default settings, JDK 21+), which
 * hz3.ProcessMemory may not be. NMT events exist on JDK 20+ with -XX:NativeMemoryTracking, the
 * container events only when the JVM runs under a cgroup with limits.
 *
 * <p>containerLimit is the last jdk.ContainerConfiguration's memoryLimit: -1 when it sets none (as
 * the JDK writes it), and when the recording has no such event; inContainer tells the two apart.
 */
public record JdkMemory(Series rss, boolean inContainer, Series containerUsage, long containerLimit,
        Series nmtCommitted, Map<String, Series> nmtByType) {

    static final String RESIDENT_SET_SIZE = "jdk.ResidentSetSize";
    static final String NATIVE_MEMORY_USAGE = "jdk.NativeMemoryUsage";
    static final String NATIVE_MEMORY_USAGE_TOTAL = "jdk.NativeMemoryUsageTotal";
    static final String CONTAINER_MEMORY_USAGE = "jdk.ContainerMemoryUsage";
    static final String CONTAINER_CONFIGURATION = "jdk.ContainerConfiguration";

    /** How many NMT categories the report charts: the largest by committed bytes. */
    static final int NMT_TYPES = 6;

    /** Values over time: t in milliseconds since 1970, in time order. */
    public record Series(long[] t, long[] v) {
        static final Series EMPTY = new Series(new long[0], new long[0]);

        boolean isEmpty() {
            return t.length == 0;
        }

        long max() {
            long m = 0;
            for (long x : v) {
                m = Math.max(m, x);
            }
            return m;
        }
    }

    static JdkMemory of(IItemCollection items) {
        Series rss = series(items, RESIDENT_SET_SIZE, "size");
        Series usage = series(items, CONTAINER_MEMORY_USAGE, "memoryUsage");
        Series limit = series(items, CONTAINER_CONFIGURATION, "memoryLimit");
        long containerLimit = limit.isEmpty() ? -1 : limit.v()[limit.v().length - 1];
        Series nmt = series(items, NATIVE_MEMORY_USAGE_TOTAL, "committed");
        Map<String, List<long[]>> byType = new TreeMap<>();
        for (IItemIterable ii : items.apply(ItemFilters.type(NATIVE_MEMORY_USAGE))) {
            Fields f = new Fields(ii.getType());
            for (IItem i : ii) {
                byType.computeIfAbsent(f.text(i, "type"), k -> new ArrayList<>())
                        .add(new long[] {Format.millis(f.timeNanos(i)), f.bytes(i, "committed")});
            }
        }
        Map<String, Series> types = new LinkedHashMap<>();
        byType.entrySet().stream().map(e -> Map.entry(e.getKey(), toSeries(e.getValue())))
                .filter(e -> e.getValue().max() > 0)
                .sorted(Comparator.comparingLong((Map.Entry<String, Series> e) -> e.getValue().max()).reversed())
                .limit(NMT_TYPES).forEach(e -> types.put(e.getKey(), e.getValue()));
        return new JdkMemory(rss, !limit.isEmpty() || !usage.isEmpty(), usage, containerLimit, nmt, types);
    }

    private static Series series(IItemCollection items, String type, String field) {
        List<long[]> points = new ArrayList<>();
        for (IItemIterable ii : items.apply(ItemFilters.type(type))) {
            Fields f = new Fields(ii.getType());
            if (!f.has(field)) {
                continue;
            }
            for (IItem i : ii) {
                points.add(new long[] {Format.millis(f.timeNanos(i)), f.bytes(i, field)});
            }
        }
        return toSeries(points);
    }

    private static Series toSeries(List<long[]> points) {
        if (points.isEmpty()) {
            return Series.EMPTY;
        }
        points.sort(Comparator.comparingLong(p -> p[0]));
        long[] t = new long[points.size()];
        long[] v = new long[points.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = points.get(i)[0];
            v[i] = points.get(i)[1];
        }
        return new Series(t, v);
    }
}
