package dev.hz3.agent.core;

import dev.hz3.agent.core.jfr.GlibcHeapSampler;
import dev.hz3.agent.core.jfr.ProcessMemorySampler;
import dev.hz3.agent.core.jfr.SnapshotEvents;
import dev.hz3.agent.core.nat.Hz3Lib;
import dev.hz3.agent.core.nat.Hz3Structs;
import dev.hz3.agent.core.nat.Jna;
import dev.hz3.agent.core.nat.Malloc;
import dev.hz3.jfr.AllocatorInfoEvent;
import dev.hz3.jfr.GlibcHeapEvent;
import dev.hz3.jfr.Hz3Events;
import dev.hz3.jfr.ProcessMemoryEvent;
import dev.hz3.jfr.RetentionEvent;
import dev.hz3.jfr.SnapshotEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
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
 * The events themselves are filled in {@link AllocatorEvents}; the agent's own recording is
 * {@link OwnRecording}; attach's one-off actions are {@link OnDemand}.
 */
public final class Recorder implements FlightRecorderListener {

    /** The oldest libhz3 this agent reads: the hz3.h its structs mirror (HZ3_VERSION_STRING). */
    public static final String REQUIRED_HZ3 = "0.1.0";

    private static Recorder instance;

    private final Path privateDir;
    private final Map<Class<? extends Event>, Runnable> hooks = new LinkedHashMap<>();

    private volatile Options options = Options.parse("");
    private boolean jfrListenerAdded;
    private volatile boolean active;
    private volatile boolean stopped;
    private String jna = "";
    private Malloc malloc;
    private ProcessMemorySampler sampler;
    private boolean shutdownHookAdded;
    private final AllocatorEvents events = new AllocatorEvents(this::options);
    private final OwnRecording own = new OwnRecording();

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
        own.rebound(o);
        if (o.has(Options.Key.RECORD)) {
            own.start(o);
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
        own.rebound(newer);
        if (newer.has(Options.Key.RECORD)) {
            own.start(merged);
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
                    addHook(SnapshotEvent.class, events::floor);
                    addHook(RetentionEvent.class, events::commitRetention);
                    events.startListener();
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
            events.stopListener();
            wasActive = active;
            r = own.take();
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
        int exit = r != null ? OwnRecording.stop(r) : 0;
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

    /** At exit hz3's thread must not call into a JVM that is going away. */
    private void addShutdownHook() {
        if (shutdownHookAdded) {
            return;
        }
        shutdownHookAdded = true;
        Runtime.getRuntime().addShutdownHook(new Thread(events::stopListener, "hz3-agent-shutdown"));
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

    // ---- periodic hooks ----

    /**
     * The whole picture: the allocator's identity (hz3.AllocatorInfo) and, whatever their
     * periods, an exact snapshot, hz3.Retention and hz3.ProcessMemory (or hz3.GlibcHeap).
     * hz3.AllocatorInfo's period is everyChunk, so JFR runs this at the start and end of every
     * chunk: when a recording starts (or rotates), stops, or is dumped (JFR.dump, and the dump
     * at exit, end a chunk). The agent runs it itself where JFR does not: on activation, for a
     * recording already running, and on {@code stop} without a recording of its own.
     */
    private void picture() {
        events.commitInfo(malloc, jna);
        sampler.commit();   // first: the process as the picture starts, before the census runs
        if (malloc.hz3 == Malloc.Hz3Status.ACTIVE) {
            if (SnapshotEvents.enabled()) {
                events.takeSnapshot(Hz3Events.SOURCE_CHUNK);
            }
            events.commitRetention();
        } else if (malloc.isGlibc()) {
            GlibcHeapSampler.commit();
        }
        AgentCore.nativeSitesAtChunk();
    }

    // ---- on demand (attach) ----

    /** Whether the events are started. */
    boolean active() {
        return active;
    }

    AllocatorEvents events() {
        return events;
    }

    /** attach PID snapshot: returns the exit code for the attach command. */
    public int snapshotNow() {
        return OnDemand.snapshot(this);
    }

    /** attach PID purge. */
    public int purgeNow() {
        return OnDemand.purge(this);
    }

    /** attach PID dump=FILE. */
    public int dumpNow(String file) {
        return own.dump(file);
    }

    /** Whether the agent's own recording (record=) is running. */
    public boolean ownRecordingRunning() {
        return own.running();
    }

    /** One line about recordings, for the attach reply. */
    public String recordingStatus() {
        int n = runningRecordings();
        Path dest = own.destination();
        if (dest != null) {
            return "the agent's recording is running, written to " + dest
                    + " when it stops or the JVM exits";
        }
        if (n > 0) {
            return n + " recording(s) running: the hz3 events go to them";
        }
        return "no recording is running: start one (jcmd PID JFR.start settings=default"
                + " settings=/path/to/hz3.jfc) or attach again with record=FILE.jfr";
    }

    /** hz3.jfc's text. */
    public static String hz3JfcText() throws IOException {
        return OwnRecording.hz3JfcText();
    }
}
