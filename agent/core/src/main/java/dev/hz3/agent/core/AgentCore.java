package dev.hz3.agent.core;

import dev.hz3.agent.core.cli.Attacher;
import dev.hz3.agent.core.cli.Launcher;
import dev.hz3.agent.core.nat.Malloc;
import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.Instrumentation;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

/**
 * The core's entry points, called reflectively by the bootstrap (dev.hz3.agent.Hz3Agent) from
 * the agent's own class loader. Each gets the agent jar and the private directory the
 * bootstrap prepared. None throws: the JVM the agent is in goes on whatever happens here.
 */
public final class AgentCore {

    /** Environment variable read by premain, then overridden by -javaagent's own options. */
    public static final String OPTIONS_ENV = "HZ3_AGENT_OPTIONS";

    private static String version;

    private AgentCore() {
    }

    /** -javaagent: parse, report bad options, add a FlightRecorderListener, return. */
    public static void premain(String agentJar, String privateDir, String args,
            Instrumentation inst) {
        try {
            // A bad option, record= and jfc= files included, is one line; the rest goes on.
            Options env = RecordFiles.check(Options.parse(System.getenv(OPTIONS_ENV)));
            Options given = RecordFiles.check(Options.parse(args));
            Options o = env.with(given);
            Log.setLevel(o.logLevel());
            env.errors().forEach(e -> Log.error(e + " (in " + OPTIONS_ENV + ")"));
            given.errors().forEach(Log::error);
            if (o.action() != Options.Action.START) {
                Log.warn("'" + o.action().name().toLowerCase() + "' is for attach; ignored at start-up");
            }
            Recorder r = Recorder.get(Path.of(privateDir));
            r.install(o, false);
            attribution(o, o, inst, privateDir);
            metrics(o, o, r);
            if (Recorder.startupRecording()) {
                r.nativeState();   // JNA now, not in the recording's first second
            }
            listen(agentJar, privateDir, inst);   // after JNA, if any: then hz3 can serve it
            if (!Recorder.startupRecording() && !o.has(Options.Key.RECORD) && !metricsUsed) {
                r.sayHowToRecord(Path.of(agentJar));
            }
        } catch (Throwable t) {
            Log.error("not started: " + Log.describe(t));
        }
    }

    /**
     * Attach: start, or change options when started already, or run an action. With reply=FILE
     * (the attach command always sets it) the messages go to the attaching command only, whose
     * exit code is the file's last line ("exit=N"); without it, to the target's stderr.
     */
    public static void agentmain(String agentJar, String privateDir, String args,
            Instrumentation inst) {
        Options o = Options.parse(args);
        Options.Action asked = o.action();   // dump=FILE is the action even when FILE will not do
        if (o.has(Options.Key.REPLY)) {
            Log.beginReply();   // the lines go to the attaching command only
        }
        RecordFiles.check(o);   // before anything starts: a bad file is exit 2, the rest goes on
        int exit = 0;
        try {
            if (o.has(Options.Key.LOG)) {
                Log.setLevel(o.logLevel());
            }
            o.errors().forEach(Log::error);
            if (!o.errors().isEmpty()) {
                exit = 2;
            }
            Recorder r = Recorder.get(Path.of(privateDir));
            int code = switch (asked) {
                case START -> {
                    if (r.installed()) {
                        r.update(o);
                        if (!r.activate()) {
                            r.announce();   // the attaching command hears the malloc again
                        }
                    } else {
                        r.install(r.options().with(o), true);
                    }
                    attribution(o, r.options(), inst, privateDir);
                    metrics(o, r.options(), r);
                    Log.info(r.recordingStatus());
                    // record= passed the checks, yet JFR refused it: as bad as a bad record=
                    yield o.has(Options.Key.RECORD) && !r.ownRecordingRunning() ? 2 : 0;
                }
                case SNAPSHOT -> r.snapshotNow();
                case PURGE -> r.purgeNow();
                case DUMP -> o.has(Options.Key.DUMP) ? r.dumpNow(o.get(Options.Key.DUMP)) : 2;
                case STOP -> {
                    if (attributionUsed) {
                        dev.hz3.agent.core.sites.Attribution.off(inst);
                    }
                    if (metricsUsed) {
                        dev.hz3.agent.core.metrics.MetricsEndpoint.stop();
                    }
                    if (r.installed()) {
                        yield r.stop();
                    }
                    Log.info("not running in this JVM: nothing to stop");
                    yield 0;
                }
            };
            exit = Math.max(exit, code);
        } catch (Throwable t) {
            Log.error("attach failed in the target: " + Log.describe(t));
            exit = 1;
        } finally {
            // After the action, which may have set up JNA (hz3 can then serve the socket); its
            // warning, if any, goes into the reply too.
            listen(agentJar, privateDir, inst);
            List<String> lines = new ArrayList<>(Log.endReply());
            lines.add("exit=" + exit);
            String reply = o.has(Options.Key.REPLY) ? o.get(Options.Key.REPLY) : null;
            if (reply != null) {
                try {
                    Files.write(Path.of(reply), lines, StandardCharsets.UTF_8);
                } catch (IOException | RuntimeException e) {
                    Log.warn("cannot write the attach reply " + reply + ": " + Log.describe(e));
                }
            }
        }
    }

    /** Whether native attribution was ever asked for: until then its classes stay unloaded. */
    private static volatile boolean attributionUsed;

    /**
     * Native attribution (dev.hz3.agent.core.sites), only when given asks for it: with it off,
     * none of its classes, nor Byte Buddy, is loaded. inEffect holds the options after given.
     */
    private static void attribution(Options given, Options inEffect, Instrumentation inst,
            String privateDir) {
        if (attributionUsed || given.has(Options.Key.ATTRIBUTION)
                || given.has(Options.Key.SAMPLE_BYTES) || given.has(Options.Key.SITES)
                || given.has(Options.Key.NATIVE_METHODS)) {
            attributionUsed = true;
            boolean hz3 = inEffect.get(Options.Key.ATTRIBUTION).equalsIgnoreCase("on")
                    && Recorder.get(Path.of(privateDir)).nativeState().hz3 == Malloc.Hz3Status.ACTIVE;
            dev.hz3.agent.core.sites.Attribution.apply(inEffect, inst, Path.of(privateDir), hz3);
        }
    }

    /**
     * The whole picture (PeriodicHooks.picture, at every chunk's start and end) calls this:
     * hz3.NativeSite then, when attribution was ever turned on; otherwise nothing of it is loaded.
     */
    static void nativeSitesAtChunk() {
        if (attributionUsed) {
            dev.hz3.agent.core.sites.Attribution.atChunk();
        }
    }

    /**
     * Recorder.activate calls this as it registers the agent's events: attribution's, when it is
     * on and a recording runs, register with them (one metadata rewrite for all, not two).
     */
    static void nativeEventsWithAgents() {
        if (attributionUsed) {
            dev.hz3.agent.core.sites.Attribution.eventsWithAgents();
        }
    }

    /** Whether the metrics endpoint was ever asked for: until then no Prometheus class is loaded. */
    private static boolean metricsUsed;

    /**
     * The metrics endpoint (dev.hz3.agent.core.metrics), when an option asks for it or changes
     * what it serves. It activates the agent, recording or not: the census it serves comes from
     * hz3's listener, which activation starts.
     */
    private static void metrics(Options given, Options inEffect, Recorder r) {
        if (!given.has(Options.Key.METRICS) && !(metricsUsed && inEffect.has(Options.Key.METRICS))) {
            return;
        }
        metricsUsed = true;
        r.activate();
        dev.hz3.agent.core.metrics.MetricsEndpoint.start(inEffect.get(Options.Key.METRICS),
                r.nativeState(), inEffect.integer(Options.Key.TOP), inEffect.ms(Options.Key.PERIOD));
    }

    /** Later attaches reach this agent through its control socket, not by loading it again. */
    private static void listen(String agentJar, String privateDir, Instrumentation inst) {
        Malloc m = Recorder.get(Path.of(privateDir)).nativeStateIfBound();
        Control.start(Path.of(privateDir), request -> agentmain(agentJar, privateDir, request, inst),
                m != null && m.hz3 == Malloc.Hz3Status.ACTIVE);
    }

    /**
     * java -jar hz3-agent.jar COMMAND ...: returns the exit code. The convention of every hz3
     * command (README, "Command lines"): --help prints the usage on stdout and exits 0; a usage
     * error (no command, an unknown one, a bad argument) is one line and the usage on stderr,
     * exit 2, and starts nothing.
     */
    public static int main(String agentJar, String privateDir, String[] args) {
        if (args.length == 0) {
            return usageError("hz3-agent: no command", usage());
        }
        String cmd = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            return switch (cmd) {
                case "run" -> Launcher.run(Path.of(agentJar), rest);
                case "attach" -> Attacher.attach(Path.of(agentJar), Path.of(privateDir), rest);
                case "jfc" -> noArguments(cmd, rest, () -> System.out.print(Recorder.hz3JfcText()));
                case "version", "--version" -> noArguments(cmd, rest, () -> System.out.println(
                        "hz3-agent " + version() + " (needs libhz3 " + Recorder.REQUIRED_HZ3 + " or newer)"));
                case "help", "-h", "--help" -> noArguments(cmd, rest, () -> System.out.print(usage()));
                default -> usageError("hz3-agent: unknown command " + Log.quote(cmd), usage());
            };
        } catch (Throwable t) {
            System.err.println(Log.escape("hz3-agent " + cmd + ": " + Log.describe(t)));
            return 1;
        }
    }

    /** Whether an argument asks for help. */
    public static boolean isHelp(String arg) {
        return arg.equals("-h") || arg.equals("--help");
    }

    /** A usage error: the line (it names its command) and the usage on stderr; returns 2. */
    public static int usageError(String line, String usage) {
        System.err.println(Log.escape(line));
        System.err.print(usage);
        return 2;
    }

    /** A command that takes no arguments: --help is the usage, anything else a usage error. */
    private static int noArguments(String cmd, String[] rest, Action action) throws Exception {
        if (rest.length == 1 && isHelp(rest[0])) {
            System.out.print(usage());
            return 0;
        }
        if (rest.length > 0) {
            return usageError("hz3-agent " + cmd + ": takes no arguments, got "
                    + Log.quote(String.join(" ", rest)), usage());
        }
        action.run();
        return 0;
    }

    private interface Action {
        void run() throws Exception;
    }

    /** The usage of every command; `COMMAND --help` prints that command's own. */
    public static String usage() {
        return """
                usage: java -jar hz3-agent.jar COMMAND
                  run [OPTIONS] -- JAVA-ARGS   start java with libhz3.so preloaded and this agent
                  attach PID [OPTIONS]         start the hz3 events in a running JVM (again: change options)
                  attach PID snapshot          a census now (a hz3.GlibcHeap sample under glibc)
                  attach PID purge             give free memory back now (malloc_trim under glibc)
                  attach PID dump=FILE         copy the agent's recording (record=) into a new FILE now
                  attach PID stop              stop the agent's events in that JVM
                  jfc                          print hz3.jfc (JFR settings for the hz3 events)
                  version                      print the agent's version
                  help                         print this (also -h, --help; COMMAND --help for one command)
                as an agent: -javaagent:hz3-agent.jar[=OPTIONS]
                OPTIONS: comma-separated key=value: period=1s top=5 scanBudget=64 purgeDelay=500ms
                  epochInterval=200ms record=FILE.jfr maxage=6h maxsize=250m jfc=default|profile|none|FILE log=info
                  metrics=[HOST:]PORT (a Prometheus endpoint, 127.0.0.1 unless a host is given)
                  (see docs/agent.md)
                exit status: 0 done (run: java's own status), 1 failed, 2 usage error (nothing started)
                """;
    }

    /** The agent's version (the Maven project version). */
    public static synchronized String version() {
        if (version == null) {
            Properties p = new Properties();
            try (InputStream in = AgentCore.class.getResourceAsStream("agent.properties")) {
                p.load(in);
            } catch (IOException | RuntimeException e) {
                // unknown
            }
            version = p.getProperty("version", "unknown");
        }
        return version;
    }
}
