package dev.hz3.agent.core.nat;

import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import java.nio.charset.StandardCharsets;

/**
 * hz3.h's structs as JNA structures. Field names and order are exactly the C ones (a test
 * compares them with the parsed header, and the sizes with what libhz3 reports), so the
 * structures read hz3's memory as C does. Keep in sync with native-hz3/include/hz3.h.
 * C's uint64_t is read as long, uint32_t as int, uint16_t as short: callers widen the unsigned
 * ones where it matters.
 */
public final class Hz3Structs {

    private Hz3Structs() {
    }

    /** struct hz3_stats. */
    @Structure.FieldOrder({"size", "version", "reservations", "reserved_bytes",
        "segments_active", "segments_free", "segment_bytes", "span_pages", "free_pages",
        "large_count", "large_bytes", "large_cached", "large_cached_bytes", "heaps_live",
        "heaps_created", "threads_exited", "meta_bytes", "epochs", "pages_purged",
        "madvise_calls", "segments_unmapped"})
    public static class Stats extends Structure {
        public int size;
        public int version;
        public long reservations;
        public long reserved_bytes;
        public long segments_active;
        public long segments_free;
        public long segment_bytes;
        public long span_pages;
        public long free_pages;
        public long large_count;
        public long large_bytes;
        public long large_cached;
        public long large_cached_bytes;
        public long heaps_live;
        public long heaps_created;
        public long threads_exited;
        public long meta_bytes;
        public long epochs;
        public long pages_purged;
        public long madvise_calls;
        public long segments_unmapped;
    }

    /** struct hz3_tier_census. */
    @Structure.FieldOrder({"pages_total", "pages", "occ", "cand_decommit_pages", "spans",
        "live_objects", "capacity_objects", "live_bytes", "tail_waste_bytes"})
    public static class TierCensus extends Structure {
        public long pages_total;
        public long[] pages = new long[5];   // HZ3_PS_COUNT, by enum hz3_page_state_census
        public long[] occ = new long[5];     // HZ3_OCC_COUNT, by enum hz3_occupancy
        public long cand_decommit_pages;
        public long spans;
        public long live_objects;
        public long capacity_objects;
        public long live_bytes;
        public long tail_waste_bytes;
    }

    /** struct hz3_class_census. */
    @Structure.FieldOrder({"object_size", "span_pages", "tier", "spans", "pages", "occ",
        "live_objects", "capacity_objects", "tail_waste_bytes", "cand_decommit_pages"})
    public static class ClassCensus extends Structure {
        public int object_size;
        public short span_pages;
        public short tier;
        public long spans;
        public long[] pages = new long[5];
        public long[] occ = new long[5];
        public long live_objects;
        public long capacity_objects;
        public long tail_waste_bytes;
        public long cand_decommit_pages;
    }

    /** struct hz3_snapshot. */
    @Structure.FieldOrder({"size", "version", "seq_first", "seq_last", "time_ms", "exact",
        "num_classes", "segments_scanned", "segments_total", "tier", "cand_unmap_segs",
        "header_resident_bytes", "meta_bytes", "large_count", "large_bytes",
        "large_resident_bytes", "large_cached", "large_cached_bytes", "census_resident_bytes",
        "top_partial_sc", "top_tail_waste_sc", "classes", "consistent", "pages_moved",
        "held_empty_pages", "cand_header_pages"})
    public static class Snapshot extends Structure {
        public static final int TIERS = 5;     // HZ3_CENSUS_TIERS
        public static final int CLASSES = 64;  // HZ3_CENSUS_CLASSES
        public static final int TOP_N = 5;     // HZ3_TOP_N
        public static final int VERSION = 2;   // HZ3_SNAPSHOT_VERSION

        public int size;
        public int version;
        public long seq_first;
        public long seq_last;
        public long time_ms;
        public int exact;
        public int num_classes;
        public long segments_scanned;
        public long segments_total;
        public TierCensus[] tier = array(new TierCensus[TIERS], TierCensus::new);
        public long cand_unmap_segs;
        public long header_resident_bytes;
        public long meta_bytes;
        public long large_count;
        public long large_bytes;
        public long large_resident_bytes;
        public long large_cached;
        public long large_cached_bytes;
        public long census_resident_bytes;
        public int[] top_partial_sc = new int[TOP_N];
        public int[] top_tail_waste_sc = new int[TOP_N];
        public ClassCensus[] classes = array(new ClassCensus[CLASSES], ClassCensus::new);
        public int consistent;
        public int pages_moved;
        public long held_empty_pages;
        public long cand_header_pages;

        public Snapshot() {
        }

        /** A copy of the snapshot at p (the listener's data, valid only during the call). */
        public Snapshot(Pointer p) {
            super(p);
            read();
        }
    }

    /** struct hz3_epoch_info. */
    @Structure.FieldOrder({"seq", "reason", "os_tid", "thread_name", "start_ms", "duration_ns",
        "pages_purged", "madvise_calls", "segments_unmapped", "segments_scanned",
        "spans_reclaimed", "large_unmapped"})
    public static class EpochInfo extends Structure {
        public long seq;
        public int reason;
        public int os_tid;
        public byte[] thread_name = new byte[16];
        public long start_ms;
        public long duration_ns;
        public long pages_purged;
        public long madvise_calls;
        public long segments_unmapped;
        public long segments_scanned;
        public long spans_reclaimed;
        public long large_unmapped;

        public EpochInfo() {
        }

        public EpochInfo(Pointer p) {
            super(p);
            read();
        }

        public String threadName() {
            int n = 0;
            while (n < thread_name.length && thread_name[n] != 0) {
                n++;
            }
            return new String(thread_name, 0, n, StandardCharsets.UTF_8);
        }
    }

    private static <T> T[] array(T[] a, java.util.function.Supplier<T> make) {
        for (int i = 0; i < a.length; i++) {
            a[i] = make.get();
        }
        return a;
    }
}
