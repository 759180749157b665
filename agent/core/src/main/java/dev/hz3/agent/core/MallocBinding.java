package dev.hz3.agent.core;

import dev.hz3.agent.core.nat.Hz3Lib;
import dev.hz3.agent.core.nat.Hz3Structs;
import dev.hz3.agent.core.nat.Jna;
import dev.hz3.agent.core.nat.Malloc;
import java.nio.file.Path;

/**
 * JNA and the process's malloc, bound once for the JVM's life: on activation, or earlier for an
 * on-demand action or a line about the malloc, none of which needs the events. Under hz3 it also
 * checks that hz3's structs are the ones this agent reads, and sets hz3's settings from the
 * agent's options.
 */
final class MallocBinding {

    private final Path privateDir;
    private volatile String jna = "";
    private volatile Malloc malloc;

    MallocBinding(Path privateDir) {
        this.privateDir = privateDir;
    }

    /** The malloc, bound now if it was not yet. */
    synchronized Malloc get() {
        if (malloc == null) {
            jna = Jna.init(privateDir);
            Malloc m = Malloc.detect(Recorder.REQUIRED_HZ3);
            if (m.hz3 == Malloc.Hz3Status.ACTIVE) {
                m = checkLayout(m);
            }
            malloc = m;
            Log.debug(jna + "; malloc: " + m.describe());
        }
        return malloc;
    }

    /** The malloc if it is bound, else null: for a line that is not worth binding for. */
    Malloc ifBound() {
        return malloc;
    }

    /** "JNA VERSION (native NATIVE_VERSION)", for the status line and hz3.AllocatorInfo. */
    String jna() {
        return jna;
    }

    /** Binds hz3's API and checks that its structs are the size this agent reads. */
    private static Malloc checkLayout(Malloc m) {
        Hz3Lib.bind();
        Hz3Structs.Snapshot s = Hz3Lib.snapshot();
        Hz3Structs.Stats st = Hz3Lib.stats();
        int want = new Hz3Structs.Snapshot().size();
        if (s == null || st == null || s.size != want
                || s.version != Hz3Structs.Snapshot.VERSION) {
            return m.refused("libhz3 " + m.hz3Version + " (" + m.hz3Library + ") has a struct"
                    + " hz3_snapshot this agent cannot read (size " + (s == null ? "?" : s.size)
                    + ", version " + (s == null ? "?" : s.version) + "; expected " + want
                    + ", version " + Hz3Structs.Snapshot.VERSION + ")");
        }
        return m;
    }

    /** Sets hz3's settings for the options given (others keep hz3's HZ3_* values). */
    static void applyHz3Settings(Options o) {
        set(o, Options.Key.PERIOD, "snapshot_min_ms");
        set(o, Options.Key.SCAN_BUDGET, "scan_seg_budget");
        set(o, Options.Key.PURGE_DELAY, "purge_delay_ms");
        set(o, Options.Key.EPOCH_INTERVAL, "epoch_interval_ms");
    }

    private static void set(Options o, Options.Key k, String hz3Name) {
        if (!o.has(k)) {
            return;
        }
        long v = k == Options.Key.SCAN_BUDGET ? o.integer(k) : o.ms(k);
        if (Hz3Lib.hz3_config_set(hz3Name, v) != 0) {
            Log.warn("hz3 refused " + hz3Name + "=" + v + " (option " + k.key + "); kept "
                    + Hz3Lib.hz3_config_get(hz3Name));
        }
    }
}
