package dev.hz3.jfr;

import java.util.List;
import java.util.Map;

/**
 * Names shared by every hz3 JFR event, defined once: event type ids, the category, the names of
 * hz3's enums, and how the fields of hz3's C structs become event fields.
 *
 * <p>An event class uses the category as {@code @Category({Hz3Events.CATEGORY_ROOT,
 * Hz3Events.CATEGORY_HZ3})} (an annotation needs the constants themselves, not an array field)
 * and its name as {@code @Name(Hz3Events.EPOCH)}.
 *
 * <p>Keep in sync with native-hz3/include/hz3.h. {@code HeaderMirrorTest} parses that header
 * and checks every list and mirror table here against it: enum order, struct fields, and that
 * each mirrored field exists on its event with a label and a description.
 *
 * <h2>From a C field to an event field</h2>
 * A C field {@code a_b_c} becomes {@code aBC} ({@link #javaName}); an array field indexed by
 * an enum becomes one event field per enum member, named after the member without its prefix
 * ({@code pages[HZ3_PS_EMPTY]} is {@code pages_empty}, so {@code pagesEmpty}); digits following
 * digits are joined by "to" ({@code occ[HZ3_OCC_1_25]} is {@code occ1to25}). The few C names
 * that would read badly in Java, or clash with JFR's own fields (every event already has
 * {@code startTime} and {@code duration}), are renamed in the tables below.
 */
public final class Hz3Events {

    /** First level of the JFR category path: where JMC lists native-memory events. */
    public static final String CATEGORY_ROOT = "Native Memory";

    /** Second level of the JFR category path. */
    public static final String CATEGORY_HZ3 = "hz3";

    /** Every hz3 event type id starts with this; the JMC page filters on it. */
    public static final String NAME_PREFIX = "hz3.";

    public static final String EPOCH = NAME_PREFIX + "Epoch";
    public static final String SNAPSHOT = NAME_PREFIX + "Snapshot";
    public static final String TIER_OCCUPANCY = NAME_PREFIX + "TierOccupancy";
    public static final String PARTIAL_SIZE_CLASS = NAME_PREFIX + "PartialSizeClass";
    public static final String RETENTION = NAME_PREFIX + "Retention";
    public static final String PROCESS_MEMORY = NAME_PREFIX + "ProcessMemory";
    public static final String ALLOCATOR_INFO = NAME_PREFIX + "AllocatorInfo";
    public static final String GLIBC_HEAP = NAME_PREFIX + "GlibcHeap";
    public static final String NATIVE_ALLOCATION_SAMPLE = NAME_PREFIX + "NativeAllocationSample";
    public static final String NATIVE_SITE = NAME_PREFIX + "NativeSite";

    /** Every hz3 event type id. */
    public static final List<String> ALL = List.of(EPOCH, SNAPSHOT, TIER_OCCUPANCY,
            PARTIAL_SIZE_CLASS, RETENTION, PROCESS_MEMORY, ALLOCATOR_INFO, GLIBC_HEAP,
            NATIVE_ALLOCATION_SAMPLE, NATIVE_SITE);

    /** The event classes, in the order of {@link #ALL}. */
    public static final List<Class<? extends jdk.jfr.Event>> CLASSES = List.of(EpochEvent.class,
            SnapshotEvent.class, TierOccupancyEvent.class, PartialSizeClassEvent.class,
            RetentionEvent.class, ProcessMemoryEvent.class, AllocatorInfoEvent.class,
            GlibcHeapEvent.class, NativeAllocationSampleEvent.class, NativeSiteEvent.class);

    /** The events that carry a stack trace: the code that commits them is what they describe. */
    public static final List<String> WITH_STACK_TRACE = List.of(NATIVE_ALLOCATION_SAMPLE);

    /**
     * The {@code kind} of hz3.NativeAllocationSample and hz3.NativeSite, by the agent's kind
     * number (keep in sync with dev.hz3.agent.boot.NativeAllocHooks).
     */
    public static final List<String> NATIVE_KINDS = List.of(
            "unsafe", "direct buffer", "memory segment", "deflater", "inflater", "jna memory",
            "native call");

    /** The page size hz3 is built for (and refuses to run without). */
    public static final long PAGE_SIZE = 4096;

    /**
     * enum hz3_tier plus HZ3_TIER_FREE, by value. The large tier's pages are those of runs (large
     * objects inside segments); large objects in mappings of their own are counted in
     * hz3.Snapshot (largeCount, largeBytes).
     */
    public static final List<String> TIERS = List.of("small", "sub4k", "medium", "large", "free");

    /** Index of the large tier (HZ3_TIER_LARGE). */
    public static final int TIER_LARGE = 3;

    /** enum hz3_epoch_reason, by value. */
    public static final List<String> EPOCH_REASONS = List.of(
            "slow_path", "thread_exit", "forced", "timer", "purge", "snapshot", "exit");

    /** enum hz3_page_state_census, by value (HZ3_PS_COUNT excluded). */
    public static final List<String> PAGE_STATES = List.of(
            "untouched", "decommitted", "empty", "full", "partial");

    /** enum hz3_occupancy, by value (HZ3_OCC_COUNT excluded), as "occ_" suffixes. */
    public static final List<String> OCCUPANCY_BUCKETS = List.of(
            "0", "1_25", "25_50", "50_75", "75_100");

    /*
     * The JFR ids of the occupancy-bucket fields of hz3.TierOccupancy and hz3.PartialSizeClass
     * (their Java fields keep the C names, occ0 ... occ75to100). JMC draws each line of a chart in
     * a colour it derives from the field's id alone (ColorToolkit.getDistinguishableColor: the
     * String hash picks one of 29 hues), and pages.xml cannot set one: the ids occ1to25, occ25to50
     * and occ50to75 gave three yellow-greens. These five are 62 degrees of hue apart (olive, red,
     * green, blue, purple); a rename must keep them apart (BucketHuesTest in jmc-plugin).
     */
    public static final String BUCKET_0 = "residentPagesOccupancy0";
    public static final String BUCKET_1_25 = "residentPagesOccupancyUpto25";
    public static final String BUCKET_25_50 = "residentPagesOccupancy25to50";
    public static final String BUCKET_50_75 = "residentPagesOccupancy50to75";
    public static final String BUCKET_75_100 = "residentPagesOccupancyOver75";

    /** The bucket fields' ids, low to high, in the order of {@link #OCCUPANCY_BUCKETS}. */
    public static final List<String> BUCKET_FIELDS = List.of(
            BUCKET_0, BUCKET_1_25, BUCKET_25_50, BUCKET_50_75, BUCKET_75_100);

    /**
     * The ids the bucket fields had until 2026-12-02 (the Java field names): recordings made
     * before carry these, and every reader falls back on them.
     */
    public static final List<String> BUCKET_FIELDS_BEFORE = List.of(
            "occ0", "occ1to25", "occ25to50", "occ50to75", "occ75to100");

    /** Classes in struct hz3_snapshot (HZ3_CENSUS_CLASSES), the most {@code top=} may ask for. */
    public static final int CENSUS_CLASSES = 64;

    /** Tiers in struct hz3_snapshot (HZ3_CENSUS_TIERS). */
    public static final int CENSUS_TIERS = 5;

    /** Where a snapshot came from: the {@code source} field of hz3.Snapshot. */
    public static final String SOURCE_LISTENER = "listener";
    public static final String SOURCE_PERIODIC = "periodic";
    public static final String SOURCE_CHUNK = "chunk";
    public static final String SOURCE_ON_DEMAND = "on demand";

    /**
     * struct hz3_epoch_info mirrored by hz3.Epoch: C field to event field, where the event
     * field is not {@link #javaName} of the C field.
     */
    public static final Map<String, String> EPOCH_RENAMES = Map.of(
            "os_tid", "osThreadId",
            "thread_name", "osThreadName",
            "start_ms", "epochStart",
            "duration_ns", "epochDuration");

    /** struct hz3_tier_census mirrored by hz3.TierOccupancy: no renames. */
    public static final Map<String, String> TIER_CENSUS_RENAMES = Map.of();

    /** struct hz3_class_census mirrored by hz3.PartialSizeClass. */
    public static final Map<String, String> CLASS_CENSUS_RENAMES = Map.of();

    /**
     * struct hz3_snapshot's scalar fields mirrored by hz3.Snapshot. size and version describe
     * the struct, tier[], top_*_sc[] and classes[] become the other events.
     */
    public static final Map<String, String> SNAPSHOT_RENAMES = Map.of(
            "time_ms", "snapshotTime");

    /** Fields of struct hz3_snapshot that hz3.Snapshot does not mirror, and why. */
    public static final Map<String, String> SNAPSHOT_NOT_MIRRORED = Map.of(
            "size", "describes the struct",
            "version", "describes the struct",
            "tier", "one hz3.TierOccupancy per tier",
            "top_partial_sc", "hz3.PartialSizeClass (the agent ranks all classes, top=N)",
            "top_tail_waste_sc", "the tailWasteBytes of hz3.PartialSizeClass",
            "classes", "hz3.PartialSizeClass");

    private Hz3Events() {
    }

    /** The category path {"Native Memory", "hz3"}, as a fresh array. */
    public static String[] category() {
        return new String[] {CATEGORY_ROOT, CATEGORY_HZ3};
    }

    /**
     * The event field name for a C field name (see the class comment): {@code live_objects} is
     * {@code liveObjects}, {@code occ_1_25} is {@code occ1to25}.
     */
    public static String javaName(String cName) {
        String[] parts = cName.split("_");
        StringBuilder b = new StringBuilder(parts[0]);
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i];
            if (p.isEmpty()) {
                continue;
            }
            boolean digits = Character.isDigit(p.charAt(0));
            boolean prevDigits = Character.isDigit(parts[i - 1].isEmpty() ? 'x'
                    : parts[i - 1].charAt(0));
            if (digits && prevDigits) {
                b.append("to").append(p);
            } else if (digits) {
                b.append(p);
            } else {
                b.append(Character.toUpperCase(p.charAt(0))).append(p.substring(1));
            }
        }
        return b.toString();
    }

    /** The event field mirroring C field cName, given a struct's rename table. */
    public static String javaName(String cName, Map<String, String> renames) {
        String renamed = renames.get(cName);
        return renamed != null ? renamed : javaName(cName);
    }

    /** Name of tier t as hz3's exit report writes it; "tier-N" outside the enum. */
    public static String tierName(int t) {
        return t >= 0 && t < TIERS.size() ? TIERS.get(t) : "tier-" + t;
    }

    /** Name of epoch reason r; "reason-N" outside the enum. */
    public static String reasonName(int r) {
        return r >= 0 && r < EPOCH_REASONS.size() ? EPOCH_REASONS.get(r) : "reason-" + r;
    }
}
