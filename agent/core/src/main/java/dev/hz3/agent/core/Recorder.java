package dev.hz3.agent.core;

import dev.hz3.agent.core.nat.Malloc;
import java.io.IOException;
import java.nio.file.Path;
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
 *
 * <p>This class is that life cycle and {@link AgentCore}'s one handle on the agent; each job is
 * in a file of its own: the malloc and JNA, bound once ({@link MallocBinding}); the periodic
 * hooks and the whole picture ({@link PeriodicHooks}); the events, filled in
 * ({@link AllocatorEvents}); the agent's own recording ({@link OwnRecording}); attach's one-off
 * actions ({@link OnDemand}); the lines about the malloc and the recordings ({@link StatusLines}).
 */
public final class Recorder implements FlightRecorderListener {

    /** The oldest libhz3 this agent reads: the hz3.h its structs mirror (HZ3_VERSION_STRING). */
    public static final String REQUIRED_HZ3 = "0.1.0";

    private static Recorder instance;

    private volatile Options options = Options.parse("");
    private boolean jfrListenerAdded;
    private volatile boolean active;
    private volatile boolean stopped;
    private boolean shutdownHookAdded;
    private final MallocBinding binding;
    private final AllocatorEvents events = new AllocatorEvents(this::options);
    private final PeriodicHooks hooks;
    private final OwnRecording own = new OwnRecording();

    private Recorder(Path privateDir) {
        binding = new MallocBinding(privateDir);
        hooks = new PeriodicHooks(events, binding);
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
            if (active && binding.ifBound().hz3 == Malloc.Hz3Status.ACTIVE) {
                MallocBinding.applyHz3Settings(newer);
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
    Malloc nativeState() {
        return binding.get();
    }

    /** The malloc if JNA is set up already, else null (nothing is bound for asking). */
    Malloc nativeStateIfBound() {
        return binding.ifBound();
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
                m = binding.get();
                boolean hz3 = m.hz3 == Malloc.Hz3Status.ACTIVE;
                if (hz3) {
                    MallocBinding.applyHz3Settings(options);   // before a hook reads them
                }
                hooks.add(m);
                // Attribution's event classes in the same moment: JFR rewrites its metadata at
                // the next flush after any event class registers, once for all registered since.
                AgentCore.nativeEventsWithAgents();
                if (hz3) {
                    events.startListener();
                }
                active = true;
                addShutdownHook();
            } catch (Throwable t) {
                hooks.removeAll();
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
            hooks.picture();
        }
        return true;
    }

    /** Logs which malloc this is and what the agent records (nothing before it is bound). */
    public void announce() {
        Malloc m = binding.ifBound();
        if (m != null) {
            StatusLines.announce(m, binding.jna());
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

    /** At start-up with no recording to come: how to get one (see {@link StatusLines}). */
    void sayHowToRecord(Path agentJar) {
        StatusLines.howToRecord(binding, agentJar);
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
            hooks.picture();
        }
        int exit = r != null ? OwnRecording.stop(r) : 0;
        synchronized (this) {
            hooks.removeAll();
            active = false;
        }
        Log.info("stopped: no more hz3 events from this agent (attach again to restart)");
        return exit;
    }

    /** At exit hz3's thread must not call into a JVM that is going away. */
    private void addShutdownHook() {
        if (shutdownHookAdded) {
            return;
        }
        shutdownHookAdded = true;
        Runtime.getRuntime().addShutdownHook(new Thread(events::stopListener, "hz3-agent-shutdown"));
    }

    // ---- attach's actions: AgentCore asks here, the work is done elsewhere ----

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
        return StatusLines.recordings(own.destination(), runningRecordings());
    }

    /** hz3.jfc's text. */
    public static String hz3JfcText() throws IOException {
        return OwnRecording.hz3JfcText();
    }
}
