package dev.hz3.jmc.census;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import org.openjdk.jmc.common.item.IItem;
import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.item.IItemIterable;
import org.openjdk.jmc.common.item.ItemFilters;

import dev.hz3.jmc.Hz3Attributes;
import dev.hz3.jmc.Hz3Attributes.AllocatorInfo;
import dev.hz3.jmc.Hz3Attributes.GlibcHeap;
import dev.hz3.jmc.Hz3Attributes.PartialSizeClass;
import dev.hz3.jmc.Hz3Attributes.ProcessMemory;
import dev.hz3.jmc.Hz3Attributes.Snapshot;
import dev.hz3.jmc.Hz3Attributes.TierOccupancy;

/**
 * The hz3 events of a recording as plain values, in time order: the censuses (one per snapshot
 * sequence), process-memory and glibc samples, and the allocator's settings. Rules and the report
 * read recordings only through this.
 */
public record Hz3Recording(List<Census> censuses, List<ProcessMemorySample> processMemory,
        List<GlibcSample> glibc, AllocatorSettings allocator, List<EpochSample> epochs) {

    public static Hz3Recording of(IItemCollection items) {
        Map<Long, List<TierCensus>> tiers = new TreeMap<>();
        for (IItemIterable ii : items.apply(ItemFilters.type(TierOccupancy.TYPE))) {
            Fields f = new Fields(ii.getType());
            for (IItem i : ii) {
                TierCensus t = tier(f, i);
                tiers.computeIfAbsent(t.seqLast(), k -> new ArrayList<>()).add(t);
            }
        }
        Map<Long, List<ClassCensus>> classes = new TreeMap<>();
        for (IItemIterable ii : items.apply(ItemFilters.type(PartialSizeClass.TYPE))) {
            Fields f = new Fields(ii.getType());
            for (IItem i : ii) {
                ClassCensus c = sizeClass(f, i);
                classes.computeIfAbsent(c.seqLast(), k -> new ArrayList<>()).add(c);
            }
        }
        Map<Long, SnapshotInfo> snapshots = new TreeMap<>();
        for (IItemIterable ii : items.apply(ItemFilters.type(Snapshot.TYPE))) {
            Fields f = new Fields(ii.getType());
            for (IItem i : ii) {
                SnapshotInfo s = new SnapshotInfo(f.timeNanos(i), f.count(i, Snapshot.SEQ_FIRST),
                        f.count(i, Snapshot.SEQ_LAST), f.flag(i, Snapshot.EXACT),
                        consistent(f, i, Snapshot.CONSISTENT), f.text(i, Snapshot.SOURCE),
                        f.count(i, Snapshot.SEGMENTS_TOTAL), f.count(i, Snapshot.CAND_UNMAP_SEGS),
                        f.bytes(i, Snapshot.LARGE_CACHED_BYTES), f.bytes(i, Snapshot.CENSUS_RESIDENT_BYTES));
                snapshots.merge(s.seqLast(), s, (a, b) -> a.timeNanos() >= b.timeNanos() ? a : b);
            }
        }
        List<Census> censuses = new ArrayList<>();
        for (Map.Entry<Long, List<TierCensus>> e : tiers.entrySet()) {
            List<TierCensus> ts = e.getValue();
            ts.sort(Comparator.comparingInt(t -> tierOrder(t.tier())));
            List<ClassCensus> cs = new ArrayList<>(classes.getOrDefault(e.getKey(), List.of()));
            cs.sort(Comparator.comparingInt(ClassCensus::rank));
            long time = ts.stream().mapToLong(TierCensus::timeNanos).max().orElse(0);
            censuses.add(new Census(e.getKey(), time, List.copyOf(ts), List.copyOf(cs),
                    Optional.ofNullable(snapshots.get(e.getKey()))));
        }
        censuses.sort(Comparator.comparingLong(Census::timeNanos).thenComparingLong(Census::seqLast));

        List<ProcessMemorySample> pm = new ArrayList<>();
        for (IItemIterable ii : items.apply(ItemFilters.type(ProcessMemory.TYPE))) {
            Fields f = new Fields(ii.getType());
            for (IItem i : ii) {
                pm.add(new ProcessMemorySample(f.timeNanos(i), f.bytes(i, ProcessMemory.RSS),
                        f.bytes(i, ProcessMemory.JAVA_HEAP), f.bytes(i, ProcessMemory.THREAD_STACKS),
                        f.bytes(i, ProcessMemory.HZ3), f.bytes(i, ProcessMemory.FILE_MAPPINGS),
                        f.bytes(i, ProcessMemory.OTHER_MAPPINGS), f.bytes(i, ProcessMemory.JVM_OTHER),
                        f.bytes(i, ProcessMemory.DIRECT_BUFFERS), f.bytes(i, ProcessMemory.CGROUP_USAGE),
                        f.bytes(i, ProcessMemory.CGROUP_LIMIT)));
            }
        }
        pm.sort(Comparator.comparingLong(ProcessMemorySample::timeNanos));

        List<GlibcSample> gl = new ArrayList<>();
        for (IItemIterable ii : items.apply(ItemFilters.type(GlibcHeap.TYPE))) {
            Fields f = new Fields(ii.getType());
            for (IItem i : ii) {
                gl.add(new GlibcSample(f.timeNanos(i), f.count(i, GlibcHeap.ARENAS), f.bytes(i, GlibcHeap.ARENA_BYTES),
                        f.bytes(i, GlibcHeap.IN_USE_BYTES), f.bytes(i, GlibcHeap.FREE_BYTES),
                        f.bytes(i, GlibcHeap.FREE_IN_BINS_BYTES), f.bytes(i, GlibcHeap.TOP_BYTES),
                        f.bytes(i, GlibcHeap.MMAPPED_BYTES), f.bytes(i, GlibcHeap.SYSTEM_BYTES)));
            }
        }
        gl.sort(Comparator.comparingLong(GlibcSample::timeNanos));

        AllocatorSettings allocator = AllocatorSettings.UNKNOWN;
        long latest = Long.MIN_VALUE;
        for (IItemIterable ii : items.apply(ItemFilters.type(AllocatorInfo.TYPE))) {
            Fields f = new Fields(ii.getType());
            for (IItem i : ii) {
                long t = f.timeNanos(i);
                if (t >= latest) {
                    latest = t;
                    allocator = new AllocatorSettings(f.text(i, AllocatorInfo.MALLOC),
                            f.text(i, AllocatorInfo.MALLOC_VERSION), f.text(i, AllocatorInfo.HZ3_STATUS),
                            f.has(AllocatorInfo.PURGE_DELAY) ? f.millis(i, AllocatorInfo.PURGE_DELAY) : -1,
                            f.has(AllocatorInfo.EPOCH_INTERVAL) ? f.millis(i, AllocatorInfo.EPOCH_INTERVAL) : -1);
                }
            }
        }
        List<EpochSample> epochs = new ArrayList<>();
        for (IItemIterable ii : items.apply(ItemFilters.type(Hz3Attributes.Epoch.TYPE))) {
            Fields f = new Fields(ii.getType());
            for (IItem i : ii) {
                // epochStart is hz3's own clock (ms since 1970); the event's time is when it was delivered.
                long start = f.count(i, Hz3Attributes.Epoch.EPOCH_START);
                epochs.add(new EpochSample(start > 0 ? start : f.timeNanos(i), f.text(i, Hz3Attributes.Epoch.REASON),
                        f.count(i, Hz3Attributes.Epoch.PAGES_PURGED)));
            }
        }
        epochs.sort(Comparator.comparingLong(EpochSample::timeNanos));
        return new Hz3Recording(List.copyOf(censuses), List.copyOf(pm), List.copyOf(gl), allocator,
                List.copyOf(epochs));
    }

    /**
     * The censuses to draw conclusions from: the consistent ones when the recording has any (an
     * inconsistent sweep mixes the heap before and after pages changed hands), else all of them
     * ({@link #onlyInconsistent()} then says so).
     */
    public List<Census> trustedCensuses() {
        List<Census> consistent = censuses.stream().filter(Census::consistent).toList();
        return consistent.isEmpty() ? censuses : consistent;
    }

    /** The recording has censuses, and none of them is consistent. */
    public boolean onlyInconsistent() {
        return !censuses.isEmpty() && censuses.stream().noneMatch(Census::consistent);
    }

    /** Censuses set aside because consistent ones exist. */
    public int inconsistentSetAside() {
        return onlyInconsistent() ? 0 : (int) censuses.stream().filter(c -> !c.consistent()).count();
    }

    /**
     * How the snapshots were read, for the report's header: empty when all are consistent,
     * else how many inconsistent ones were set aside, or that all are inconsistent.
     */
    public String consistencyNote() {
        if (onlyInconsistent()) {
            return "all inconsistent: figures approximate";
        }
        int aside = inconsistentSetAside();
        return aside == 0 ? "" : aside + " inconsistent set aside";
    }

    /** A census's consistent flag; recordings from before hz3 had one count as consistent. */
    private static boolean consistent(Fields f, IItem i, String field) {
        return !f.has(field) || f.flag(i, field);
    }

    /** Small, sub4k, medium, large, free, then any other tier by name. */
    static int tierOrder(String tier) {
        int i = List.of("small", "sub4k", "medium", "large", "free").indexOf(tier);
        return i >= 0 ? i : 100 + Math.abs(tier.hashCode() % 100);
    }

    private static long[] occ(Fields f, IItem i) {
        long[] occ = new long[Hz3Attributes.OCC_BUCKETS.size()];
        for (int b = 0; b < occ.length; b++) {
            occ[b] = f.count(i, Hz3Attributes.OCC_BUCKETS.get(b));
        }
        return occ;
    }

    private static TierCensus tier(Fields f, IItem i) {
        return new TierCensus(f.timeNanos(i), f.text(i, TierOccupancy.TIER), f.count(i, TierOccupancy.SEQ_FIRST),
                f.count(i, TierOccupancy.SEQ_LAST), consistent(f, i, TierOccupancy.CONSISTENT),
                f.count(i, TierOccupancy.PAGES_TOTAL),
                f.count(i, TierOccupancy.PAGES_UNTOUCHED), f.count(i, TierOccupancy.PAGES_DECOMMITTED),
                f.count(i, TierOccupancy.PAGES_EMPTY), f.count(i, TierOccupancy.PAGES_FULL),
                f.count(i, TierOccupancy.PAGES_PARTIAL), occ(f, i), f.count(i, TierOccupancy.CAND_DECOMMIT_PAGES),
                f.count(i, TierOccupancy.SPANS), f.count(i, TierOccupancy.LIVE_OBJECTS),
                f.count(i, TierOccupancy.CAPACITY_OBJECTS), f.bytes(i, TierOccupancy.LIVE_BYTES),
                f.bytes(i, TierOccupancy.TAIL_WASTE_BYTES), f.bytes(i, TierOccupancy.RESIDENT_BYTES),
                f.fraction(i, TierOccupancy.OCCUPANCY));
    }

    private static ClassCensus sizeClass(Fields f, IItem i) {
        return new ClassCensus(f.timeNanos(i), f.count(i, PartialSizeClass.SEQ_LAST),
                (int) f.count(i, PartialSizeClass.RANK), (int) f.count(i, PartialSizeClass.SIZE_CLASS),
                f.bytes(i, PartialSizeClass.OBJECT_SIZE), (int) f.count(i, PartialSizeClass.SPAN_PAGES),
                f.text(i, PartialSizeClass.TIER), f.count(i, PartialSizeClass.SPANS),
                f.count(i, PartialSizeClass.PAGES_UNTOUCHED), f.count(i, PartialSizeClass.PAGES_DECOMMITTED),
                f.count(i, PartialSizeClass.PAGES_EMPTY), f.count(i, PartialSizeClass.PAGES_FULL),
                f.count(i, PartialSizeClass.PAGES_PARTIAL), occ(f, i), f.count(i, PartialSizeClass.LIVE_OBJECTS),
                f.count(i, PartialSizeClass.CAPACITY_OBJECTS), f.bytes(i, PartialSizeClass.TAIL_WASTE_BYTES),
                f.count(i, PartialSizeClass.CAND_DECOMMIT_PAGES), f.bytes(i, PartialSizeClass.PARTIAL_BYTES),
                f.fraction(i, PartialSizeClass.OCCUPANCY));
    }

    /** Epochs that started in [fromNanos, toNanos]. */
    public List<EpochSample> epochsBetween(long fromNanos, long toNanos) {
        return epochs.stream().filter(e -> e.timeNanos() >= fromNanos && e.timeNanos() <= toNanos).toList();
    }

    /** The process-memory sample nearest in time to t, if any. */
    public Optional<ProcessMemorySample> processMemoryNear(long timeNanos) {
        return processMemory.stream().min(Comparator.comparingLong(p -> Math.abs(p.timeNanos() - timeNanos)));
    }
}
