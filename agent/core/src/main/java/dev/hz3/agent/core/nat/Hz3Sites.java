package dev.hz3.agent.core.nat;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;

/**
 * hz3's sampled allocations and call sites (native-hz3/include/hz3.h, "Sampled allocations and
 * the Java call sites that made them"), bound apart from {@link Hz3Lib} and only when native
 * attribution runs under hz3, so that the rest of the agent still binds to a libhz3 without them.
 * The structs are read as arrays of 64-bit words (keep in sync with hz3.h):
 * {@code hz3_site_stat} is {@value #STAT_WORDS} words (site, live_samples, live_bytes_est,
 * oldest_age_ms, pinned_pages, pinned_bytes), {@code hz3_site_slot} two (site, sampled),
 * {@code hz3_sample_rec} {@value #REC_WORDS} (addr, size, weight, site, time_ms, then tier in the
 * low and cls in the high half of the last word), {@code hz3_sampling_stats} {@value #STATS_WORDS}.
 */
public final class Hz3Sites {

    public static final int STAT_WORDS = 6;
    public static final int STAT_SITE = 0;
    public static final int STAT_LIVE_SAMPLES = 1;
    public static final int STAT_LIVE_BYTES = 2;
    public static final int STAT_OLDEST_AGE_MS = 3;
    public static final int STAT_PINNED_PAGES = 4;
    public static final int STAT_PINNED_BYTES = 5;

    public static final int REC_WORDS = 6;
    public static final int REC_ADDR = 0;
    public static final int REC_SIZE = 1;
    public static final int REC_WEIGHT = 2;
    public static final int REC_SITE = 3;
    public static final int REC_TIME_MS = 4;
    public static final int REC_TIER_CLS = 5;
    public static final int STATS_WORDS = 6;
    public static final int STATS_RING_DROPPED = 4;

    private static boolean bound;

    private Hz3Sites() {
    }

    /** Binds to the process's hz3; UnsatisfiedLinkError when this libhz3 cannot sample. */
    public static synchronized void bind() {
        if (!bound) {
            Native.register(Hz3Sites.class, NativeLibrary.getProcess());
            bound = true;
        }
    }

    public static native int hz3_sampling_set(long meanBytes);

    public static native Pointer hz3_site_slot();

    public static native int hz3_site_rename(long from, long to);

    public static native long hz3_site_census(long[] out, long max);

    public static native long hz3_samples_take(long[] out, long max);

    public static native void hz3_sampling_stats_get(long[] out);

    /**
     * The calling thread's slot as a buffer over its two words (site at 0, sampled at 1), in
     * native order: written and read without Unsafe, valid for the thread's life. A LongBuffer
     * view, not the ByteBuffer's getLong: its get and put are a few small methods that the agent's
     * other reads compile anyway, where the ByteBuffer's go through Unsafe's unaligned accessors
     * (more methods for the JIT in every JVM with attribution on).
     */
    public static LongBuffer slot() {
        return hz3_site_slot().getByteBuffer(0, 16).order(ByteOrder.nativeOrder()).asLongBuffer();
    }

    /** Every site with live samples (STAT_WORDS words each), biggest estimate first. */
    public static long[] census() {
        int capacity = 256;
        while (true) {
            long[] buf = new long[STAT_WORDS * capacity];
            long total = hz3_site_census(buf, capacity);
            if (total <= capacity) {
                long[] out = new long[(int) (STAT_WORDS * total)];
                System.arraycopy(buf, 0, out, 0, out.length);
                return out;
            }
            capacity = (int) total + 64;
        }
    }
}
