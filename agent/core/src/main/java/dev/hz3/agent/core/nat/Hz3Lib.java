package dev.hz3.agent.core.nat;

import com.sun.jna.Callback;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * libhz3's C API (native-hz3/include/hz3.h), bound by JNA direct mapping to the symbols already
 * in the process: the library is never loaded from here. {@link #bind()} succeeds only when hz3
 * is loaded (the preloaded malloc); {@link Malloc#detect()} decides whether to call it.
 */
public final class Hz3Lib {

    /** The listener: {@code void (*)(void *ctx, int kind, const void *data)}. */
    public interface Listener extends Callback {
        void invoke(Pointer ctx, int kind, Pointer data);
    }

    public static final int EVENT_EPOCH = 1;      // HZ3_EVENT_EPOCH
    public static final int EVENT_SNAPSHOT = 2;   // HZ3_EVENT_SNAPSHOT

    private static boolean bound;

    private Hz3Lib() {
    }

    /** Binds every function below to the process's hz3_* symbols; UnsatisfiedLinkError if absent. */
    public static synchronized void bind() {
        if (!bound) {
            Native.register(Hz3Lib.class, NativeLibrary.getProcess());
            bound = true;
        }
    }

    public static native String hz3_version();

    public static native int hz3_stats_get(Hz3Structs.Stats out);

    public static native long hz3_mappings(long[] startEnd, long maxPairs);

    public static native int hz3_obs_snapshot(Hz3Structs.Snapshot out);

    public static native int hz3_obs_snapshot_for_report(Hz3Structs.Snapshot out);

    public static native long hz3_epoch_force();

    public static native long hz3_purge_now();

    public static native int hz3_obs_set_listener(Listener fn, Pointer ctx);

    public static native int hz3_config_set(String name, long value);

    public static native long hz3_config_get(String name);

    public static native long hz3_debug_validate();

    /** hz3_stats_get with size set; null if hz3 refuses the size. */
    public static Hz3Structs.Stats stats() {
        Hz3Structs.Stats s = new Hz3Structs.Stats();
        s.size = s.size();
        return hz3_stats_get(s) == 0 ? s : null;
    }

    /** An exact census now (an epoch of reason snapshot); null if hz3 refuses the size. */
    public static Hz3Structs.Snapshot snapshot() {
        return snapshot(false);
    }

    /** The same, and hz3's exit report will print this census (hz3_obs_snapshot_for_report). */
    public static Hz3Structs.Snapshot snapshotForReport() {
        return snapshot(true);
    }

    private static Hz3Structs.Snapshot snapshot(boolean forReport) {
        Hz3Structs.Snapshot s = new Hz3Structs.Snapshot();
        s.size = s.size();
        s.writeField("size");
        if ((forReport ? hz3_obs_snapshot_for_report(s) : hz3_obs_snapshot(s)) != 0) {
            return null;
        }
        s.read();
        return s;
    }

    /** Every mapping hz3 owns as [start, end) pairs. */
    public static long[] mappings() {
        int capacity = 256;
        while (true) {
            long[] buf = new long[2 * capacity];
            long total = hz3_mappings(buf, capacity);
            if (total <= capacity) {
                long[] out = new long[(int) (2 * total)];
                System.arraycopy(buf, 0, out, 0, out.length);
                return out;
            }
            capacity = (int) total + 64;   // room for mappings made meanwhile
        }
    }
}
