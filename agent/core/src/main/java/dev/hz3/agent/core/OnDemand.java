package dev.hz3.agent.core;

import dev.hz3.agent.core.jfr.GlibcHeapSampler;
import dev.hz3.agent.core.jfr.SnapshotEvents;
import dev.hz3.agent.core.nat.Hz3Lib;
import dev.hz3.agent.core.nat.Hz3Structs;
import dev.hz3.agent.core.nat.Libc;
import dev.hz3.agent.core.nat.Malloc;
import dev.hz3.jfr.GlibcHeapEvent;
import dev.hz3.jfr.Hz3Events;

/**
 * The actions an attach asks for ({@code attach PID snapshot}, {@code purge}): each runs once,
 * says what it did in one line and returns the attach command's exit code. They work whether
 * or not the agent's events are started; a census taken while they are is also recorded.
 */
final class OnDemand {

    private OnDemand() {
    }

    /** attach PID snapshot. */
    static int snapshot(Recorder r) {
        Malloc m = r.nativeState();
        boolean active = r.active();
        int running = Recorder.runningRecordings();
        String where = running > 0 && active ? "recorded in " + running + " running recording(s)"
                : "not recorded: " + (active ? "no recording is running" : "the agent is not started (attach PID to start it)");
        if (m.hz3 == Malloc.Hz3Status.ACTIVE) {
            Hz3Structs.Snapshot s = active ? r.events().takeSnapshot(Hz3Events.SOURCE_ON_DEMAND)
                    : Hz3Lib.snapshot();
            if (s == null) {
                Log.error("snapshot: hz3 refused the census");
                return 1;
            }
            Log.info(SnapshotEvents.summary(s) + "; " + where);
            return 0;
        }
        if (m.isGlibc()) {
            GlibcHeapEvent e = GlibcHeapSampler.sample();
            if (active) {
                e.commit();
            }
            Log.info(m.describe() + "; " + GlibcHeapSampler.summary(e) + "; " + where);
            return 0;
        }
        Log.warn("snapshot: " + m.describe() + ", which the agent cannot read");
        return 3;
    }

    /** attach PID purge. */
    static int purge(Recorder r) {
        Malloc m = r.nativeState();
        if (m.hz3 == Malloc.Hz3Status.ACTIVE) {
            long pages = Hz3Lib.hz3_purge_now();
            Log.info("purge: hz3 gave back " + pages + " pages (" + pages * Hz3Events.PAGE_SIZE / 1024
                    + " KiB) to the OS");
            return 0;
        }
        if (m.isGlibc()) {
            int rc = Libc.mallocTrim();
            Log.info("purge: " + m.describe() + "; ran malloc_trim(0) instead: "
                    + (rc == 1 ? "memory was given back" : "nothing to give back"));
            return 0;
        }
        Log.warn("purge: " + m.describe() + ", which the agent cannot purge");
        return 3;
    }
}
