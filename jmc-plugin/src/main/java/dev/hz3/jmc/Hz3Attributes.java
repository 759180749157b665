package dev.hz3.jmc;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every hz3 event type id and event field name this plug-in reads, in one place. Rules, the
 * census reader and the report name fields only through these constants; pages.xml names them as
 * JMC column ids ({@code field:contentType}).
 *
 * <p>Keep in sync with jfr-events/src/main/java/dev/hz3/jfr (the event classes, whose {@code @Name}
 * and field names these mirror). {@code EventNamesTest} loads those classes and checks that every
 * type and field listed in {@link #FIELDS} exists there, and {@code PagesTest} checks every id in
 * pages.xml against {@link #FIELDS} and against a real recording: a rename in jfr-events fails the
 * build here instead of leaving a page column or a rule silently empty.
 *
 * <p>Fields are looked up by name, whatever content type JMC gives them (JMC 9 reads an
 * unannotated {@code long} as a raw number and an {@code int} as a number quantity): see
 * {@link dev.hz3.jmc.census.Fields}.
 */
public final class Hz3Attributes {

    /** Every hz3 event type id starts with this. */
    public static final String PREFIX = "hz3.";

    /*
     * Rule topics. JMC lists a result on every page whose topic is the rule's, and marks a page with
     * the highest severity among them, ranking N/A ("Ignore") above WARNING: so each topic belongs
     * to one page, and the glibc rule, N/A on every hz3 recording, has a topic of its own that no
     * hz3 page lists. The tier pages have none (their heap's findings are on Native Heap).
     */
    /** Fragmentation and returnable memory: the Native Heap (hz3) page. */
    public static final String TOPIC_NATIVE_HEAP = "hz3.nativeheap";
    /** Size-class hot spots: the Partial Size Classes (hz3) page. */
    public static final String TOPIC_SIZE_CLASSES = "hz3.sizeclasses";
    /** Java call sites of native memory (growth, pinning): the Native Call Sites (hz3) page. */
    public static final String TOPIC_NATIVE_SITES = "hz3.nativesites";
    /** glibc's heap (JVMs not on hz3): no hz3 page, so its N/A never hides an hz3 warning. */
    public static final String TOPIC_GLIBC = "hz3.glibc";

    /** hz3 counts pages of 4 KiB (hz3.h; the census is in pages). */
    public static final long PAGE_SIZE = 4096;

    /** Tiers that hold size classes, where partial pages can exist. */
    public static final List<String> CLASS_TIERS = List.of("small", "sub4k", "medium");

    /** One census per tier per snapshot: struct hz3_tier_census. */
    public static final class TierOccupancy {
        public static final String TYPE = PREFIX + "TierOccupancy";
        public static final String TIER = "tier";
        public static final String SEQ_FIRST = "seqFirst";
        public static final String SEQ_LAST = "seqLast";
        public static final String CONSISTENT = "consistent";
        public static final String PAGES_TOTAL = "pagesTotal";
        public static final String PAGES_UNTOUCHED = "pagesUntouched";
        public static final String PAGES_DECOMMITTED = "pagesDecommitted";
        public static final String PAGES_EMPTY = "pagesEmpty";
        public static final String PAGES_FULL = "pagesFull";
        public static final String PAGES_PARTIAL = "pagesPartial";
        /* The occupancy buckets: ids chosen for JMC's line colours (dev.hz3.jfr.Hz3Events.BUCKET_FIELDS). */
        public static final String OCC_0 = "residentPagesOccupancy0";
        public static final String OCC_1_TO_25 = "residentPagesOccupancyUpto25";
        public static final String OCC_25_TO_50 = "residentPagesOccupancy25to50";
        public static final String OCC_50_TO_75 = "residentPagesOccupancy50to75";
        public static final String OCC_75_TO_100 = "residentPagesOccupancyOver75";
        public static final String CAND_DECOMMIT_PAGES = "candDecommitPages";
        public static final String SPANS = "spans";
        public static final String LIVE_OBJECTS = "liveObjects";
        public static final String CAPACITY_OBJECTS = "capacityObjects";
        public static final String LIVE_BYTES = "liveBytes";
        public static final String TAIL_WASTE_BYTES = "tailWasteBytes";
        public static final String RESIDENT_BYTES = "residentBytes";
        public static final String OCCUPANCY = "occupancy";

        private TierOccupancy() {
        }
    }

    /** The occupancy buckets, low to high, as fields of hz3.TierOccupancy and hz3.PartialSizeClass. */
    public static final List<String> OCC_BUCKETS = List.of(TierOccupancy.OCC_0, TierOccupancy.OCC_1_TO_25,
            TierOccupancy.OCC_25_TO_50, TierOccupancy.OCC_50_TO_75, TierOccupancy.OCC_75_TO_100);

    /**
     * The ids the buckets had in recordings made before 2026-12-02, in the order of
     * {@link #OCC_BUCKETS}: {@link dev.hz3.jmc.census.Fields} reads a bucket by its old id where a
     * recording lacks the new one, so every reader (rules, report) reads either.
     */
    public static final List<String> OCC_BUCKETS_BEFORE = List.of("occ0", "occ1to25", "occ25to50", "occ50to75",
            "occ75to100");

    /** How the report and the rules name the buckets: as JMC's columns do (the events' labels). */
    public static final List<String> OCC_BUCKET_LABELS = List.of("0%", "\u226425%", "25-50%", "50-75%", ">75%");

    /** The top size classes by partial pages: struct hz3_class_census. */
    public static final class PartialSizeClass {
        public static final String TYPE = PREFIX + "PartialSizeClass";
        public static final String SEQ_LAST = "seqLast";
        public static final String RANK = "rank";
        public static final String SIZE_CLASS = "sizeClass";
        public static final String OBJECT_SIZE = "objectSize";
        public static final String SPAN_PAGES = "spanPages";
        public static final String TIER = "tier";
        public static final String SPANS = "spans";
        public static final String PAGES_UNTOUCHED = "pagesUntouched";
        public static final String PAGES_DECOMMITTED = "pagesDecommitted";
        public static final String PAGES_EMPTY = "pagesEmpty";
        public static final String PAGES_FULL = "pagesFull";
        public static final String PAGES_PARTIAL = "pagesPartial";
        public static final String LIVE_OBJECTS = "liveObjects";
        public static final String CAPACITY_OBJECTS = "capacityObjects";
        public static final String TAIL_WASTE_BYTES = "tailWasteBytes";
        public static final String CAND_DECOMMIT_PAGES = "candDecommitPages";
        public static final String PARTIAL_BYTES = "partialBytes";
        public static final String OCCUPANCY = "occupancy";

        private PartialSizeClass() {
        }
    }

    /** The heap-wide part of a census. */
    public static final class Snapshot {
        public static final String TYPE = PREFIX + "Snapshot";
        public static final String SEQ_FIRST = "seqFirst";
        public static final String SEQ_LAST = "seqLast";
        public static final String EXACT = "exact";
        public static final String CONSISTENT = "consistent";
        public static final String SOURCE = "source";
        public static final String SEGMENTS_TOTAL = "segmentsTotal";
        public static final String CAND_UNMAP_SEGS = "candUnmapSegs";
        public static final String LARGE_CACHED_BYTES = "largeCachedBytes";
        public static final String CENSUS_RESIDENT_BYTES = "censusResidentBytes";

        private Snapshot() {
        }
    }

    /** Where the process's resident memory goes. */
    public static final class ProcessMemory {
        public static final String TYPE = PREFIX + "ProcessMemory";
        public static final String RSS = "rss";
        public static final String JAVA_HEAP = "javaHeap";
        public static final String THREAD_STACKS = "threadStacks";
        public static final String HZ3 = "hz3";
        public static final String FILE_MAPPINGS = "fileMappings";
        public static final String OTHER_MAPPINGS = "otherMappings";
        public static final String JVM_OTHER = "jvmOther";
        public static final String DIRECT_BUFFERS = "directBuffers";
        public static final String CGROUP_USAGE = "cgroupUsage";
        public static final String CGROUP_LIMIT = "cgroupLimit";

        /** The parts that add up to rss (ProcessMemoryEvent's invariant), in display order. */
        public static final List<String> RSS_PARTS = List.of(JAVA_HEAP, THREAD_STACKS, HZ3, FILE_MAPPINGS,
                OTHER_MAPPINGS);

        private ProcessMemory() {
        }
    }

    /** glibc malloc's totals, recorded when glibc is the malloc. */
    public static final class GlibcHeap {
        public static final String TYPE = PREFIX + "GlibcHeap";
        public static final String ARENAS = "arenas";
        public static final String ARENA_BYTES = "arenaBytes";
        public static final String IN_USE_BYTES = "inUseBytes";
        public static final String FREE_BYTES = "freeBytes";
        public static final String FREE_IN_BINS_BYTES = "freeInBinsBytes";
        public static final String TOP_BYTES = "topBytes";
        public static final String MMAPPED_BYTES = "mmappedBytes";
        public static final String SYSTEM_BYTES = "systemBytes";

        private GlibcHeap() {
        }
    }

    /** The malloc in use and hz3's settings. */
    public static final class AllocatorInfo {
        public static final String TYPE = PREFIX + "AllocatorInfo";
        public static final String MALLOC = "malloc";
        public static final String MALLOC_VERSION = "mallocVersion";
        public static final String HZ3_STATUS = "hz3Status";
        public static final String PURGE_DELAY = "purgeDelay";
        public static final String EPOCH_INTERVAL = "epochInterval";

        private AllocatorInfo() {
        }
    }

    /** One epoch of hz3's maintenance: what it purged, and why it ran. */
    public static final class Epoch {
        public static final String TYPE = PREFIX + "Epoch";
        public static final String REASON = "reason";
        public static final String EPOCH_START = "epochStart";
        public static final String PAGES_PURGED = "pagesPurged";

        private Epoch() {
        }
    }

    /** The top Java call sites by estimated live native bytes, one event per site per period. */
    public static final class NativeSite {
        public static final String TYPE = PREFIX + "NativeSite";
        public static final String RANK = "rank";
        public static final String SITE = "site";
        public static final String KIND = "kind";
        public static final String ENTRY = "entry";
        public static final String LIVE_BYTES = "liveBytes";
        public static final String LIVE_SAMPLES = "liveSamples";
        public static final String OLDEST_AGE = "oldestAge";
        public static final String GROWTH_BYTES = "growthBytes";
        public static final String SAMPLE_BYTES = "sampleBytes";
        /** -1 (as the two below) when hz3 is not the malloc. */
        public static final String NATIVE_LIVE_BYTES = "nativeLiveBytes";
        public static final String PINNED_PAGES = "pinnedPages";
        public static final String PINNED_BYTES = "pinnedBytes";

        private NativeSite() {
        }
    }

    /** One sampled native allocation from Java code, with its stack trace. */
    public static final class NativeAllocationSample {
        public static final String TYPE = PREFIX + "NativeAllocationSample";
        public static final String ADDRESS = "address";
        public static final String SIZE = "size";
        public static final String WEIGHT = "weight";
        public static final String KIND = "kind";
        public static final String SITE = "site";
        /** "agent": what Java saw at the entry point; "hz3": a malloc inside the call, sampled by hz3. */
        public static final String SOURCE = "source";
        public static final String TIER = "tier";
        public static final String SIZE_CLASS = "sizeClass";

        private NativeAllocationSample() {
        }
    }

    /**
     * Every event type and field named anywhere in this plug-in (rules, report, pages.xml), by
     * type. The tests check each against jfr-events.
     */
    public static final Map<String, List<String>> FIELDS;

    static {
        Map<String, List<String>> m = new LinkedHashMap<>();
        m.put(TierOccupancy.TYPE, List.of(TierOccupancy.TIER, TierOccupancy.SEQ_FIRST, TierOccupancy.SEQ_LAST,
                TierOccupancy.CONSISTENT, TierOccupancy.PAGES_TOTAL, TierOccupancy.PAGES_UNTOUCHED, TierOccupancy.PAGES_DECOMMITTED,
                TierOccupancy.PAGES_EMPTY, TierOccupancy.PAGES_FULL, TierOccupancy.PAGES_PARTIAL,
                TierOccupancy.OCC_0, TierOccupancy.OCC_1_TO_25, TierOccupancy.OCC_25_TO_50,
                TierOccupancy.OCC_50_TO_75, TierOccupancy.OCC_75_TO_100, TierOccupancy.CAND_DECOMMIT_PAGES,
                TierOccupancy.SPANS, TierOccupancy.LIVE_OBJECTS, TierOccupancy.CAPACITY_OBJECTS,
                TierOccupancy.LIVE_BYTES, TierOccupancy.TAIL_WASTE_BYTES, TierOccupancy.RESIDENT_BYTES,
                TierOccupancy.OCCUPANCY));
        m.put(PartialSizeClass.TYPE, List.of(PartialSizeClass.SEQ_LAST, PartialSizeClass.RANK,
                PartialSizeClass.SIZE_CLASS, PartialSizeClass.OBJECT_SIZE, PartialSizeClass.SPAN_PAGES,
                PartialSizeClass.TIER, PartialSizeClass.SPANS, PartialSizeClass.PAGES_UNTOUCHED,
                PartialSizeClass.PAGES_DECOMMITTED, PartialSizeClass.PAGES_EMPTY, PartialSizeClass.PAGES_FULL,
                PartialSizeClass.PAGES_PARTIAL, TierOccupancy.OCC_0, TierOccupancy.OCC_1_TO_25,
                TierOccupancy.OCC_25_TO_50, TierOccupancy.OCC_50_TO_75, TierOccupancy.OCC_75_TO_100,
                PartialSizeClass.LIVE_OBJECTS, PartialSizeClass.CAPACITY_OBJECTS, PartialSizeClass.TAIL_WASTE_BYTES,
                PartialSizeClass.CAND_DECOMMIT_PAGES, PartialSizeClass.PARTIAL_BYTES, PartialSizeClass.OCCUPANCY));
        m.put(Snapshot.TYPE, List.of(Snapshot.SEQ_FIRST, Snapshot.SEQ_LAST, Snapshot.EXACT, Snapshot.CONSISTENT,
                Snapshot.SOURCE,
                Snapshot.SEGMENTS_TOTAL, Snapshot.CAND_UNMAP_SEGS, Snapshot.LARGE_CACHED_BYTES,
                Snapshot.CENSUS_RESIDENT_BYTES));
        m.put(ProcessMemory.TYPE, List.of(ProcessMemory.RSS, ProcessMemory.JAVA_HEAP, ProcessMemory.THREAD_STACKS,
                ProcessMemory.HZ3, ProcessMemory.FILE_MAPPINGS, ProcessMemory.OTHER_MAPPINGS,
                ProcessMemory.JVM_OTHER, ProcessMemory.DIRECT_BUFFERS, ProcessMemory.CGROUP_USAGE,
                ProcessMemory.CGROUP_LIMIT));
        m.put(GlibcHeap.TYPE, List.of(GlibcHeap.ARENAS, GlibcHeap.ARENA_BYTES, GlibcHeap.IN_USE_BYTES,
                GlibcHeap.FREE_BYTES, GlibcHeap.FREE_IN_BINS_BYTES, GlibcHeap.TOP_BYTES, GlibcHeap.MMAPPED_BYTES,
                GlibcHeap.SYSTEM_BYTES));
        m.put(AllocatorInfo.TYPE, List.of(AllocatorInfo.MALLOC, AllocatorInfo.MALLOC_VERSION,
                AllocatorInfo.HZ3_STATUS, AllocatorInfo.PURGE_DELAY, AllocatorInfo.EPOCH_INTERVAL));
        m.put(Epoch.TYPE, List.of(Epoch.REASON, Epoch.EPOCH_START, Epoch.PAGES_PURGED));
        m.put(NativeSite.TYPE, List.of(NativeSite.RANK, NativeSite.SITE, NativeSite.KIND, NativeSite.ENTRY,
                NativeSite.LIVE_BYTES, NativeSite.LIVE_SAMPLES, NativeSite.OLDEST_AGE, NativeSite.GROWTH_BYTES,
                NativeSite.SAMPLE_BYTES, NativeSite.NATIVE_LIVE_BYTES, NativeSite.PINNED_PAGES,
                NativeSite.PINNED_BYTES));
        m.put(NativeAllocationSample.TYPE, List.of(NativeAllocationSample.ADDRESS, NativeAllocationSample.SIZE,
                NativeAllocationSample.WEIGHT, NativeAllocationSample.KIND, NativeAllocationSample.SITE,
                NativeAllocationSample.SOURCE, NativeAllocationSample.TIER, NativeAllocationSample.SIZE_CLASS));
        FIELDS = java.util.Collections.unmodifiableMap(m);
    }

    private Hz3Attributes() {
    }
}
