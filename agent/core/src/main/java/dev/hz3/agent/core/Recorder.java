package dev.hz3.agent.core;

import com.sun.jna.CallbackThreadInitializer;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.hz3.agent.core.jfr.EpochThreads;
import dev.hz3.agent.core.jfr.GlibcHeapSampler;
import dev.hz3.agent.core.jfr.ProcessMemorySampler;
import dev.hz3.agent.core.jfr.SnapshotEvents;
import dev.hz3.agent.core.metrics.CensusFeed;
import dev.hz3.agent.core.nat.Hz3Lib;
import dev.hz3.agent.core.nat.Hz3Structs;
import dev.hz3.agent.core.nat.Jna;
import dev.hz3.agent.core.nat.Libc;
import dev.hz3.agent.core.nat.Malloc;
import dev.hz3.jfr.AllocatorInfoEvent;
import dev.hz3.jfr.EpochEvent;
import dev.hz3.jfr.GlibcHeapEvent;
import dev.hz3.jfr.Hz3Events;
import dev.hz3.jfr.ProcessMemoryEvent;
import dev.hz3.jfr.RetentionEvent;
import dev.hz3.jfr.SnapshotEvent;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import jdk.jfr.Configuration;
import jdk.jfr.Event;
import jdk.jfr.FlightRecorder;
import jdk.jfr.FlightRecorderListener;
import jdk.jfr.Recording;
import jdk.jfr.RecordingState;

/**
 * The agent at work in one JVM: it waits for a recording, then binds to the process's malloc,
 * registers the periodic hooks and hz3's listener, and commits the events.
 *
 * <p>Life cycle. {@link #install} only adds a FlightRecorderListener (premain stays cheap, and
 * events committed before a recording runs would be lost anyway). The first recording that
 * reaches RUNNING {@link #activate activates}: JNA starts, the malloc is identified, and
 * <ul>
 *   <li>hz3's listener (its maintenance thread, attached to the JVM once as the daemon thread
 *       "hz3-epoch") commits hz3.Epoch for every epoch and the snapshot events for every
 *       completed census;</li>
 *   <li>periodic hooks commit hz3.ProcessMemory, hz3.Retention, hz3.AllocatorInfo (every chunk,
 *       with an exact snapshot) and hz3.GlibcHeap, and hz3.Snapshot's hook takes a snapshot
 *       itself when the listener delivered no consistent one since its last run (the floor).</li>
 * </ul>
 * An attach activates at once; attaching again changes options; {@code stop} undoes it all.
 */
public final class Recorder implements FlightRecorderListener {

    /** The oldest libhz3 this agent reads: the hz3.h its structs mirror (HZ3_VERSION_STRING). */
    public static final String REQUIRED_HZ3 = "0.1.0";

    private static Recorder instance;

    private final Path privateDir;
    private final EpochThreads threads = new EpochThreads();
    private final ThreadLocal<Integer> osTid = new ThreadLocal<>();
    private final Map<Class<? extends Event>, Runnable> hooks = new LinkedHashMap<>();

    private volatile Options options = Options.parse("");
    private boolean jfrListenerAdded;
    private volatile boolean active;
    private volatile boolean stopped;
    private String jna = "";
    private Malloc malloc;
    private Hz3Lib.Listener listener;   // strongly held: hz3 keeps only its address
    private ProcessMemorySampler sampler;
    private Recording own;
    private boolean shutdownHookAdded;
    private volatile boolean snapshotSinceFloor;
    private volatile Hz3Structs.Snapshot last;
    private volatile boolean listenerFailed;

    private Recorder(Path privateDir) {
        this.privateDir = privateDir;
    }

    public static synchronized Recorder get(Path privateDir) {
        if (instance == null) {
            instance = new Recorder(privateDir);
        }
        return instance;
    }

    /** Whether a previous premain or attach installed the agent in this JVM. */
    public synchronized boolean installed() {
        return jfrListenerAdded && !stopped;
    }

    public Options options() {
        return options;
    }

    /**
     * Installs the agent with these options. eager activates now (attach); otherwise the first
     * running recording does. A record= option starts the agent's own recording.
     */
    public void install(Options o, boolean eager) {
        synchronized (this) {
            options = o;
            stopped = false;
            Log.setLevel(o.logLevel());
            if (!jfrListenerAdded) {
                FlightRecorder.addListener(this);   // does not start JFR
                jfrListenerAdded = true;
            }
        }
        if (eager || runningRecordings() > 0) {
            activate();
        }
        if (o.has(Options.Key.RECORD)) {
            startOwnRecording(o);
        }
    }

    /** Lays newer options over the current ones (an attach after the first). */
    public void update(Options newer) {
        Options merged;
        synchronized (this) {
            merged = options.with(newer);
            options = merged;
            Log.setLevel(merged.logLevel());
            if (active && malloc.hz3 == Malloc.Hz3Status.ACTIVE) {
                applyHz3Settings(newer);
            }
        }
        if (!newer.givenText().isEmpty()) {
            Log.info("options updated: " + newer.givenText() + " (in effect: "
                    + merged.effectiveText() + ")");
        }
        if (newer.has(Options.Key.RECORD)) {
            startOwnRecording(merged);
        }
    }

    @Override
    public void recordingStateChanged(Recording recording) {
        if (recording.getState() == RecordingState.RUNNING && !stopped && !active) {
            activate();
        }
    }

    /** Count of recordings running now; 0 without touching JFR when it has not started. */
    static int runningRecordings() {
        if (!FlightRecorder.isInitialized()) {
            return 0;
        }
        int n = 0;
        for (Recording r : FlightRecorder.getFlightRecorder().getRecordings()) {
            if (r.getState() == RecordingState.RUNNING) {
                n++;
            }
        }
        return n;
    }

    /** JNA and the malloc: done once, also for on-demand actions without events. */
    synchronized Malloc nativeState() {
        if (malloc == null) {
            jna = Jna.init(privateDir);
            Malloc m = Malloc.detect(REQUIRED_HZ3);
            if (m.hz3 == Malloc.Hz3Status.ACTIVE) {
                m = checkLayout(m);
            }
            malloc = m;
            Log.debug(jna + "; malloc: " + m.describe());
        }
        return malloc;
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

    /**
     * Starts the events: hooks, hz3's listener, the one-line status. Never throws. Returns
     * whether it started them now (false: already running, stopped, or failed).
     */
    public boolean activate() {
        Malloc m;
        synchronized (this) {
            if (active || stopped) {
                return false;
            }
            try {
                m = nativeState();
                sampler = new ProcessMemorySampler(m.hz3 == Malloc.Hz3Status.ACTIVE);
                addHook(ProcessMemoryEvent.class, sampler::commit);
                addHook(AllocatorInfoEvent.class, this::picture);
                if (m.hz3 == Malloc.Hz3Status.ACTIVE) {
                    applyHz3Settings(options);
                    addHook(SnapshotEvent.class, this::floorHook);
                    addHook(RetentionEvent.class, this::commitRetention);
                    startListener();
                } else if (m.isGlibc()) {
                    addHook(GlibcHeapEvent.class, GlibcHeapSampler::commit);
                }
                active = true;
                addShutdownHook();
            } catch (Throwable t) {
                removeHooks();
                Log.error("not started: " + Log.describe(t));
                return false;
            }
        }
        announce();
        if (runningRecordings() > 0) {
            // The recording that activated us (or one running before an attach) began its chunk
            // before the hooks were added, so JFR ran no beginChunk hook for it: the picture at
            // its start comes from here. A listener is told after JFR has applied the new
            // recording's settings, so these commits land in it.
            picture();
        }
        return true;
    }

    /** Logs which malloc this is and what the agent records: info under hz3, else a warning. */
    public void announce() {
        Malloc m = malloc;
        if (m == null) {
            return;
        }
        switch (m.hz3) {
            case ACTIVE -> Log.info(m.describe() + "; hz3 events on (" + jna + ")");
            case ABSENT, NOT_MALLOC, REFUSED -> Log.warn(m.describe() + "; only "
                    + onWithoutHz3(m) + " are on (" + jna + ")");
        }
    }

    /**
     * Whether this JVM was started with -XX:StartFlightRecording (on its command line, in
     * JAVA_TOOL_OPTIONS, an @argfile...): JFR starts that recording after premain returns.
     */
    static boolean startupRecording() {
        for (String a : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-XX:StartFlightRecording")) {
                return true;
            }
        }
        return false;
    }

    /**
     * At start-up with no recording to come: one line saying which malloc this is, what the
     * agent would record, and how to get a recording (as an attach says). log=warn hides it.
     */
    void sayHowToRecord(Path agentJar) {
        if (Log.level().compareTo(Log.Level.INFO) < 0) {
            return;   // quiet: no JNA for a line no one reads
        }
        Malloc m = nativeState();
        Path jfc = agentJar.resolveSibling("hz3.jfc");
        String settings = Files.isRegularFile(jfc) ? jfc.toString()
                : "hz3.jfc (java -jar " + agentJar + " jfc > hz3.jfc)";
        Log.info(m.describe() + "; " + (m.hz3 == Malloc.Hz3Status.ACTIVE ? "hz3 events are"
                : "only " + onWithoutHz3(m) + " are") + " on, but no recording runs: add"
                + " record=FILE.jfr to the agent's options, or -XX:StartFlightRecording:filename=FILE.jfr,settings=default,settings=" + settings
                + " (log=warn: no such line)");
    }

    /** The events the agent records when hz3 is not the malloc. */
    private static String onWithoutHz3(Malloc m) {
        return (m.isGlibc() ? "hz3.GlibcHeap, " : "") + "hz3.ProcessMemory and hz3.AllocatorInfo";
    }

    /**
     * Stops everything the agent does; an attach starts it again. Returns the attach exit
     * code: 1 when the agent's recording could not be written, else 0.
     */
    public int stop() {
        Recording r;
        boolean wasActive;
        synchronized (this) {
            stopped = true;
            if (listener != null) {
                Hz3Lib.hz3_obs_set_listener(null, null);
            }
            wasActive = active;
            r = own;
            own = null;
            // The recording is written at this stop: a later attach that does not name record=
            // again must not start one that would overwrite it at exit.
            options = options.without(Options.Key.RECORD);
        }
        // The whole picture last, so that what happened just before the stop (a purge, say) is
        // recorded. Stopping the agent's recording ends a chunk of every recording running, and
        // JFR runs the everyChunk hook (picture()) for it while the hooks are still there; with
        // no recording of its own, the agent commits the picture itself into the others.
        if (wasActive && r == null && runningRecordings() > 0) {
            picture();
        }
        int exit = r != null ? stopOwn(r) : 0;
        synchronized (this) {
            removeHooks();
            active = false;
        }
        Log.info("stopped: no more hz3 events from this agent (attach again to restart)");
        return exit;
    }

    private void addHook(Class<? extends Event> type, Runnable body) {
        Runnable hook = () -> {
            try {
                body.run();
            } catch (Throwable t) {
                Log.debug("periodic " + type.getSimpleName() + ": " + Log.describe(t));
            }
        };
        FlightRecorder.addPeriodicEvent(type, hook);
        hooks.put(type, hook);
    }

    private void removeHooks() {
        for (Runnable h : hooks.values()) {
            FlightRecorder.removePeriodicEvent(h);
        }
        hooks.clear();
    }

    private void startListener() {
        if (listener == null) {
            listener = this::onNative;
            // One Java thread for hz3's maintenance thread, attached once, a daemon, named.
            Native.setCallbackThreadInitializer(listener,
                    new CallbackThreadInitializer(true, false, "hz3-epoch"));
        }
        if (Hz3Lib.hz3_obs_set_listener(listener, null) != 0) {
            Log.warn("hz3 could not start its maintenance thread: no hz3.Epoch events, and"
                    + " snapshots only from the periodic floor");
        }
    }

    /** At exit hz3's thread must not call into a JVM that is going away. */
    private void addShutdownHook() {
        if (shutdownHookAdded) {
            return;
        }
        shutdownHookAdded = true;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (listener != null) {
                Hz3Lib.hz3_obs_set_listener(null, null);
            }
        }, "hz3-agent-shutdown"));
    }

    /** Sets hz3's settings for the options given (others keep hz3's HZ3_* values). */
    private static void applyHz3Settings(Options o) {
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

    // ---- hz3's listener: its maintenance thread ----

    private void onNative(Pointer ctx, int kind, Pointer data) {
        try {
            if (stopped) {
                return;
            }
            if (kind == Hz3Lib.EVENT_EPOCH) {
                EpochEvent e = new EpochEvent();
                if (e.isEnabled()) {
                    commitEpoch(e, new Hz3Structs.EpochInfo(data));
                }
            } else if (kind == Hz3Lib.EVENT_SNAPSHOT) {
                if (SnapshotEvents.enabled() || new RetentionEvent().isEnabled() || CensusFeed.wanted()) {
                    Hz3Structs.Snapshot s = new Hz3Structs.Snapshot(data);
                    commitSnapshot(s, Hz3Events.SOURCE_LISTENER);
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

    private final Object snapshotLock = new Object();

    private void commitSnapshot(Hz3Structs.Snapshot s, String source) {
        synchronized (snapshotLock) {
            last = s;
            CensusFeed.publish(s);   // the metrics endpoint reads the same census
            // Only a consistent or exact census satisfies the floor: while a busy heap makes
            // every budgeted sweep inconsistent, the floor's exact census keeps one consistent
            // snapshot per floor period in the recording for the rules to read.
            if (s.consistent != 0 || s.exact != 0) {
                snapshotSinceFloor = true;
            }
            SnapshotEvents.commit(s, source, options.integer(Options.Key.TOP));
        }
    }

    /** An exact census now, committed; null when hz3 refused. */
    private Hz3Structs.Snapshot takeSnapshot(String source) {
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

    // ---- periodic hooks ----

    private void floorHook() {
        synchronized (snapshotLock) {
            if (!snapshotSinceFloor && SnapshotEvents.enabled()) {
                takeSnapshot(Hz3Events.SOURCE_PERIODIC);
            }
            snapshotSinceFloor = false;
        }
    }

    /**
     * The whole picture: the allocator's identity (hz3.AllocatorInfo) and, whatever their
     * periods, an exact snapshot, hz3.Retention and hz3.ProcessMemory (or hz3.GlibcHeap).
     * hz3.AllocatorInfo's period is everyChunk, so JFR runs this at the start and end of every
     * chunk: when a recording starts (or rotates), stops, or is dumped (JFR.dump, and the dump
     * at exit, end a chunk). The agent runs it itself where JFR does not: on activation, for a
     * recording already running, and on {@code stop} without a recording of its own.
     */
    private void picture() {
        commitInfo();
        sampler.commit();   // first: the process as the picture starts, before the census runs
        if (malloc.hz3 == Malloc.Hz3Status.ACTIVE) {
            if (SnapshotEvents.enabled()) {
                takeSnapshot(Hz3Events.SOURCE_CHUNK);
            }
            commitRetention();
        } else if (malloc.isGlibc()) {
            GlibcHeapSampler.commit();
        }
    }

    private void commitInfo() {
        AllocatorInfoEvent e = new AllocatorInfoEvent();
        if (!e.isEnabled()) {
            return;
        }
        Malloc m = malloc;
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
        e.options = options.effectiveText();
        e.commit();
    }

    private void commitRetention() {
        RetentionEvent e = new RetentionEvent();
        if (!e.isEnabled()) {
            return;
        }
        Hz3Structs.Snapshot s = last;
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
        long[] ranges = Hz3Lib.mappings();
        long resident = 0;
        for (int i = 0; i + 1 < ranges.length; i += 2) {
            long pages = Libc.residentPages(ranges[i], ranges[i + 1], Hz3Events.PAGE_SIZE);
            resident += Math.max(0, pages) * Hz3Events.PAGE_SIZE;
        }
        e.mappingsRss = resident;
        e.commit();
    }

    // ---- on demand (attach) ----

    /** attach PID snapshot: returns the exit code for the attach command. */
    public int snapshotNow() {
        Malloc m = nativeState();
        int running = runningRecordings();
        String where = running > 0 && active ? "recorded in " + running + " running recording(s)"
                : "not recorded: " + (active ? "no recording is running" : "the agent is not started (attach PID to start it)");
        if (m.hz3 == Malloc.Hz3Status.ACTIVE) {
            Hz3Structs.Snapshot s = active ? takeSnapshot(Hz3Events.SOURCE_ON_DEMAND)
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
    public int purgeNow() {
        Malloc m = nativeState();
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

    /** Whether the agent's own recording (record=) is running. */
    public synchronized boolean ownRecordingRunning() {
        return own != null;
    }

    /** One line about recordings, for the attach reply. */
    public String recordingStatus() {
        int n = runningRecordings();
        if (own != null) {
            return "the agent's recording is running, written to " + own.getDestination()
                    + " when it stops or the JVM exits";
        }
        if (n > 0) {
            return n + " recording(s) running: the hz3 events go to them";
        }
        return "no recording is running: start one (jcmd PID JFR.start settings=default"
                + " settings=/path/to/hz3.jfc) or attach again with record=FILE.jfr";
    }

    // ---- the agent's own recording (record=) ----

    private void startOwnRecording(Options o) {
        synchronized (this) {
            if (own != null) {
                Log.info("the agent's recording is already running (" + own.getDestination() + ")");
                return;
            }
        }
        Path dest = Path.of(o.get(Options.Key.RECORD)).toAbsolutePath();
        try {
            Map<String, String> settings = new HashMap<>();
            String jfc = o.get(Options.Key.JFC);
            if (!jfc.equals("none")) {
                settings.putAll(RecordFiles.jfc(jfc).getSettings());
            }
            settings.putAll(hz3Configuration().getSettings());
            Recording r = new Recording(settings);
            r.setName("hz3-agent");
            r.setToDisk(true);
            r.setDestination(dest);
            r.setDumpOnExit(true);
            synchronized (this) {
                own = r;
            }
            r.start();
            Log.info("recording to " + dest + " (settings " + (jfc.equals("none") ? "" : jfc + "+")
                    + "hz3), written when it stops or the JVM exits");
        } catch (IOException | ParseException | RuntimeException e) {
            synchronized (this) {
                own = null;
            }
            Log.error("bad option " + Log.quote("record=" + o.get(Options.Key.RECORD))
                    + ": JFR did not start the recording: " + Log.describe(e));
        }
    }

    /**
     * Stops the agent's recording, which JFR writes to its destination now; says "written"
     * only when the file is there with some bytes (JFR does not say when writing failed).
     * Returns the attach exit code: 0, or 1 when it was not written.
     */
    private static int stopOwn(Recording r) {
        Path dest = r.getDestination();
        try {
            r.stop();
            r.close();
        } catch (RuntimeException e) {
            Log.error("recording not written to " + dest + ": " + Log.describe(e));
            return 1;
        }
        String problem = RecordFiles.writtenProblem(dest);
        if (problem != null) {
            Log.error("recording not written to " + dest + ": " + problem);
            return 1;
        }
        Log.info("recording written to " + dest);
        return 0;
    }

    /** hz3.jfc from the events jar. */
    public static Configuration hz3Configuration() throws IOException, ParseException {
        try (Reader r = new InputStreamReader(
                SnapshotEvent.class.getResourceAsStream("hz3.jfc"), StandardCharsets.UTF_8)) {
            return Configuration.create(r);
        }
    }

    /** hz3.jfc's text. */
    public static String hz3JfcText() throws IOException {
        try (var in = SnapshotEvent.class.getResourceAsStream("hz3.jfc")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
