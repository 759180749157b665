package dev.hz3.agent.core;

import dev.hz3.agent.core.metrics.CensusFeed;
import com.sun.jna.CallbackThreadInitializer;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.hz3.agent.core.jfr.EpochThreads;
import dev.hz3.agent.core.jfr.Mincore;
import dev.hz3.agent.core.jfr.SnapshotEvents;
import dev.hz3.agent.core.nat.Hz3Lib;
import dev.hz3.agent.core.nat.Hz3Structs;
import dev.hz3.agent.core.nat.Jna;
import dev.hz3.agent.core.nat.Libc;
import dev.hz3.agent.core.nat.Malloc;
import dev.hz3.agent.core.nat.StructReader;
import dev.hz3.jfr.AllocatorInfoEvent;
import dev.hz3.jfr.EpochEvent;
import dev.hz3.jfr.Hz3Events;
import dev.hz3.jfr.RetentionEvent;
import java.util.function.Supplier;

/**
 * The allocator's events as the agent commits them: hz3.Epoch and the snapshot events from
 * hz3's listener (its maintenance thread), the exact census of the periodic floor and of a
 * chunk's end, hz3.Retention and hz3.AllocatorInfo. {@link Recorder} decides when; this class
 * reads hz3 and fills the events.
 */
final class AllocatorEvents {

    private final Supplier<Options> options;
    private final EpochThreads threads = new EpochThreads();
    /**
     * Made at the first hz3.Retention, not with this object: a Mincore holds JNA memory, and this
     * object is made before {@link MallocBinding} starts the agent's JNA with the application's
     * jna.* properties set aside (made here, JNA would read them and load the wrong library).
     */
    private Mincore mincore;
    private final Object mincoreLock = new Object();
    private final ThreadLocal<Integer> osTid = new ThreadLocal<>();
    private final Object snapshotLock = new Object();
    private Hz3Lib.Listener listener;   // strongly held: hz3 keeps only its address
    private volatile boolean listening;
    private volatile boolean snapshotSinceFloor;
    private volatile Hz3Structs.Snapshot last;
    /**
     * The listener's latest census, as hz3's bytes, when newer than {@link #last} (under
     * snapshotLock): made into a Snapshot only when asked for ({@link #lastSnapshot}). A JNA
     * Structure is costly to make (each of the 70 nested in a Snapshot derives its layout by
     * reflection and allocates native memory): about 115 us of CPU a census against 11 for the
     * kept one, where hz3.Retention (every 5 s) is the only reader of most censuses.
     */
    private byte[] lastRaw;
    /** The listener's events are committed from this one, filled again for each census. */
    private Hz3Structs.Snapshot scratch;
    private volatile boolean listenerFailed;
    /** hz3's thread reads every epoch record into this one (made there: JNA is bound by then). */
    private Hz3Structs.EpochInfo epochRecord;

    AllocatorEvents(Supplier<Options> options) {
        this.options = options;
    }

    // ---- hz3's listener: its maintenance thread ----

    void startListener() {
        if (listener == null) {
            listener = this::onNative;
            // One Java thread for hz3's maintenance thread, attached once, a daemon, named.
            Native.setCallbackThreadInitializer(listener,
                    new CallbackThreadInitializer(true, false, "hz3-epoch"));
        }
        listening = true;
        if (Hz3Lib.hz3_obs_set_listener(listener, null) != 0) {
            Log.warn("hz3 could not start its maintenance thread: no hz3.Epoch events, and"
                    + " snapshots only from the periodic floor");
        }
    }

    /** hz3's thread stops calling: on stop, and at exit (it must not call into a dying JVM). */
    void stopListener() {
        listening = false;
        if (listener != null) {
            Hz3Lib.hz3_obs_set_listener(null, null);
        }
    }

    private void onNative(Pointer ctx, int kind, Pointer data) {
        try {
            if (!listening) {
                return;
            }
            if (kind == Hz3Lib.EVENT_EPOCH) {
                EpochEvent e = new EpochEvent();
                if (e.isEnabled()) {
                    if (epochRecord == null) {
                        epochRecord = new Hz3Structs.EpochInfo();
                    }
                    commitEpoch(e, StructReader.read(epochRecord, data));
                }
            } else if (kind == Hz3Lib.EVENT_SNAPSHOT) {
                if (SnapshotEvents.enabled() || new RetentionEvent().isEnabled() || CensusFeed.wanted()) {
                    commitListenerSnapshot(data);
                }
            }
        } catch (Throwable t) {
            if (!listenerFailed) {
                listenerFailed = true;
                Log.warn("hz3 listener: " + Log.describe(t) + " (said once)");
            }
        }
    }

    private void commitEpoch(EpochEvent e, Hz3Structs.EpochInfo info) {
        Integer me = osTid.get();
        if (me == null) {
            me = Libc.gettid();
            osTid.set(me);
        }
        String osName = info.threadName();
        Object[] java = threads.lookup(info.os_tid, osName, me);
        e.seq = info.seq;
        e.reason = Hz3Events.reasonName(info.reason);
        e.osThreadId = info.os_tid;
        e.osThreadName = osName;
        e.javaThreadId = (Long) java[0];
        e.javaThreadName = (String) java[1];
        e.epochStart = info.start_ms;
        e.epochDuration = info.duration_ns;
        e.pagesPurged = info.pages_purged;
        e.bytesPurged = info.pages_purged * Hz3Events.PAGE_SIZE;
        e.madviseCalls = info.madvise_calls;
        e.segmentsUnmapped = info.segments_unmapped;
        e.segmentsScanned = info.segments_scanned;
        e.spansReclaimed = info.spans_reclaimed;
        e.largeUnmapped = info.large_unmapped;
        e.commit();
    }

    // ---- censuses ----

    private void commitSnapshot(Hz3Structs.Snapshot s, String source) {
        synchronized (snapshotLock) {
            last = s;
            lastRaw = null;
            CensusFeed.publish(s);   // the metrics endpoint reads the same census
            commitEvents(s, source);
        }
    }

    /** Under snapshotLock. */
    private void commitEvents(Hz3Structs.Snapshot s, String source) {
        // Only a consistent or exact census satisfies the floor: while a busy heap makes
        // every budgeted sweep inconsistent, the floor's exact census keeps one consistent
        // snapshot per floor period in the recording for the rules to read.
        if (s.consistent != 0 || s.exact != 0) {
            snapshotSinceFloor = true;
        }
        SnapshotEvents.commit(s, source, options.get().integer(Options.Key.TOP));
    }

    /** The listener's census: events from the scratch copy, the bytes kept for later readers. */
    private void commitListenerSnapshot(Pointer data) {
        synchronized (snapshotLock) {
            if (scratch == null) {
                scratch = new Hz3Structs.Snapshot();
            }
            byte[] raw = StructReader.bytes(scratch, data);
            Hz3Structs.Snapshot s = StructReader.read(scratch, raw);
            last = null;
            lastRaw = raw;
            if (CensusFeed.wanted()) {
                CensusFeed.publish(lastSnapshot());   // a scrape may read it any time: its own copy
            }
            commitEvents(s, Hz3Events.SOURCE_LISTENER);
        }
    }

    /** The latest census received or taken, or null. */
    private Hz3Structs.Snapshot lastSnapshot() {
        synchronized (snapshotLock) {
            if (lastRaw != null) {
                last = StructReader.read(new Hz3Structs.Snapshot(), lastRaw);
                lastRaw = null;
            }
            return last;
        }
    }

    /** An exact census now, committed; null when hz3 refused. */
    Hz3Structs.Snapshot takeSnapshot(String source) {
        // The census a chunk ends with is named for hz3's exit report: the last one a recording
        // holds is then the very census the report prints (same seq, same numbers). Taken and
        // committed under snapshotLock, so that the floor (JFR's periodic thread) cannot slip a
        // census in after it while a recording ends on another thread.
        synchronized (snapshotLock) {
            Hz3Structs.Snapshot s = Hz3Events.SOURCE_CHUNK.equals(source) ? Hz3Lib.snapshotForReport()
                    : Hz3Lib.snapshot();
            if (s != null) {
                commitSnapshot(s, source);
            }
            return s;
        }
    }

    /** hz3.Snapshot's periodic hook: a census only when none consistent came since the last. */
    void floor() {
        synchronized (snapshotLock) {
            if (!snapshotSinceFloor && SnapshotEvents.enabled()) {
                takeSnapshot(Hz3Events.SOURCE_PERIODIC);
            }
            snapshotSinceFloor = false;
        }
    }

    // ---- the allocator's identity and what it keeps ----

    void commitInfo(Malloc m, String jna) {
        AllocatorInfoEvent e = new AllocatorInfoEvent();
        if (!e.isEnabled()) {
            return;
        }
        e.malloc = m.name;
        e.mallocVersion = m.version;
        e.mallocLibrary = m.library;
        e.hz3Status = m.hz3.text;
        e.hz3Version = m.hz3Version;
        String preload = System.getenv("LD_PRELOAD");
        e.preload = preload == null ? "" : preload;
        if (m.hz3 == Malloc.Hz3Status.ACTIVE) {
            e.scanSegBudget = Hz3Lib.hz3_config_get("scan_seg_budget");
            e.purgeDelay = Hz3Lib.hz3_config_get("purge_delay_ms");
            e.epochInterval = Hz3Lib.hz3_config_get("epoch_interval_ms");
            e.snapshotMin = Hz3Lib.hz3_config_get("snapshot_min_ms");
            e.obs = Hz3Lib.hz3_config_get("obs") == 1;
        }
        e.agentVersion = AgentCore.version();
        e.jnaVersion = Jna.jnaVersion();
        e.options = options.get().effectiveText();
        e.commit();
    }

    void commitRetention() {
        RetentionEvent e = new RetentionEvent();
        if (!e.isEnabled()) {
            return;
        }
        Hz3Structs.Snapshot s = lastSnapshot();
        if (s == null) {
            s = takeSnapshot(Hz3Events.SOURCE_PERIODIC);
            if (s == null) {
                return;
            }
        }
        long freeBlocks = 0;
        for (int c = 0; c < Math.min(s.num_classes, Hz3Structs.Snapshot.CLASSES); c++) {
            Hz3Structs.ClassCensus cc = s.classes[c];
            freeBlocks += Math.max(0, cc.capacity_objects - cc.live_objects)
                    * Integer.toUnsignedLong(cc.object_size);
        }
        long emptyPages = 0;
        long live = s.large_bytes;
        for (Hz3Structs.TierCensus t : s.tier) {
            emptyPages += t.pages[2];
            live += t.live_bytes;
        }
        e.snapshotSeq = s.seq_last;
        e.freeBlockBytes = freeBlocks;
        e.emptyPageBytes = emptyPages * Hz3Events.PAGE_SIZE;
        e.largeCachedBytes = s.large_cached_bytes;
        e.cachedBytes = e.freeBlockBytes + e.emptyPageBytes + e.largeCachedBytes;
        e.liveBytes = live;
        e.censusResidentBytes = s.census_resident_bytes;
        Hz3Structs.Stats st = Hz3Lib.stats();
        if (st != null) {
            e.segmentBytes = st.segment_bytes;
            e.reservedBytes = st.reserved_bytes;
            e.metaBytes = st.meta_bytes;
            e.epochs = st.epochs;
            e.pagesPurged = st.pages_purged;
        }
        synchronized (mincoreLock) {   // the periodic thread and a picture may both be here
            if (mincore == null) {
                mincore = new Mincore();
            }
            e.mappingsRss = mincore.resident(Hz3Lib.mappings());
        }
        e.commit();
    }
}
