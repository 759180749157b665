package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import dev.hz3.samples.ChildProcess;
import jdk.jfr.consumer.RecordedEvent;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Start-up paths that must not hurt the application: bad options, a libhz3.so that is missing
 * or older than the agent, and the launchers' one-line refusals.
 */
class AgentStartupTest {

    private static final Path JAVA_HOME = Path.of(System.getProperty("java.home"));

    /** In the agent's start-up line when no recording is to come (how to get one). */
    static final String NO_RECORDING = "but no recording runs: add record=FILE.jfr to the agent's options";

    /** stderr's lines less the agent's start-up line about getting a recording. */
    static List<String> linesButHowToRecord(String stderr) {
        return stderr.lines().filter(l -> !l.contains(NO_RECORDING)).toList();
    }

    private static List<String> targetWith(String... jvmArgs) {
        List<String> cmd = new java.util.ArrayList<>(List.of(ChildProcess.java(JAVA_HOME), "-Xmx256m",
                "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("-cp", ChildProcess.testClasses().toString(), AttachTarget.class.getName()));
        return cmd;
    }

    @Test
    void badOptionsAreOneLineEachAndTheJvmRuns() throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "startup-bad-options");
        ChildProcess c = ChildProcess.run("bad", dir, targetWith(
                "-javaagent:" + ChildProcess.AGENT_JAR + "=top=x,period=soon,frob=1"),
                Map.of("LD_PRELOAD", ChildProcess.LIBHZ3.toString(), "HZ3_AGENT_OPTIONS", "scanBudget=-5"));
        assertEquals(0, c.exit(), c::toString);
        assertTrue(c.out().contains("BYE"), c::toString);
        assertEquals(List.of(
                "hz3-agent: bad option 'scanBudget=-5': expected a whole number 0..1048576 (segments"
                        + " the census reads per epoch; 0: no sweeps) (in HZ3_AGENT_OPTIONS)",
                "hz3-agent: bad option 'top=x': expected a whole number 1..64",
                "hz3-agent: bad option 'period=soon': expected a duration 0ms..1h, e.g. 500ms, 2s or 1m",
                "hz3-agent: unknown option 'frob=1': known options are period, top, scanBudget,"
                        + " purgeDelay, epochInterval, record, jfc, log, attribution, sampleBytes, sites,"
                        + " nativeMethods, maxage, maxsize, dump, metrics"),
                linesButHowToRecord(c.err()), c::toString);
        assertTrue(c.err().lines().toList().get(4).startsWith("hz3-agent: hz3 0.1.0 is this JVM's malloc"),
                c::toString);
    }

    /**
     * Started with the agent and no recording to come (the container recipe: LD_PRELOAD and
     * JAVA_TOOL_OPTIONS): one line says which malloc this is, what is on and how to get a
     * recording; log=warn hides it; a recording to come (-XX:StartFlightRecording, in
     * JAVA_TOOL_OPTIONS too) makes it needless.
     */
    @Test
    void sayHowToGetARecordingWhenNoneIsToCome() throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "startup-how-to-record");
        String agent = "-javaagent:" + ChildProcess.AGENT_JAR + " --enable-native-access=ALL-UNNAMED";
        List<String> plain = targetWith();
        ChildProcess hz3 = ChildProcess.run("container", dir, plain, Map.of("LD_PRELOAD",
                ChildProcess.LIBHZ3.toString(), "JAVA_TOOL_OPTIONS", agent));
        assertEquals(0, hz3.exit(), hz3::toString);
        assertEquals(List.of("Picked up JAVA_TOOL_OPTIONS: " + agent,
                "hz3-agent: hz3 0.1.0 is this JVM's malloc (" + ChildProcess.LIBHZ3 + "); hz3 events are on, "
                        + NO_RECORDING + ", or -XX:StartFlightRecording:filename=FILE.jfr,"
                        + "settings=default,settings=" + ChildProcess.HZ3_JFC + " (log=warn: no such line)"),
                hz3.err().lines().toList(), hz3::toString);

        ChildProcess glibc = ChildProcess.run("glibc", dir, plain, Map.of("JAVA_TOOL_OPTIONS", agent));
        assertEquals(0, glibc.exit(), glibc::toString);
        assertTrue(glibc.err().contains("hz3-agent: hz3 is not this JVM's malloc: malloc is glibc "),
                glibc::toString);
        assertTrue(glibc.err().contains("; only hz3.GlibcHeap, hz3.ProcessMemory and"
                + " hz3.AllocatorInfo are on, " + NO_RECORDING), glibc::toString);

        ChildProcess quiet = ChildProcess.run("quiet", dir, plain, Map.of("LD_PRELOAD",
                ChildProcess.LIBHZ3.toString(), "JAVA_TOOL_OPTIONS", agent, "HZ3_AGENT_OPTIONS", "log=warn"));
        assertEquals(0, quiet.exit(), quiet::toString);
        assertEquals(List.of("Picked up JAVA_TOOL_OPTIONS: " + agent), quiet.err().lines().toList(),
                quiet::toString);

        Path jfr = dir.resolve("rec.jfr");
        String recording = agent + " -XX:StartFlightRecording:filename=" + jfr + ",settings=" + ChildProcess.HZ3_JFC;
        ChildProcess rec = ChildProcess.run("recording", dir, plain, Map.of("LD_PRELOAD",
                ChildProcess.LIBHZ3.toString(), "JAVA_TOOL_OPTIONS", recording));
        assertEquals(0, rec.exit(), rec::toString);
        assertFalse(rec.err().contains(NO_RECORDING), rec::toString);
        assertTrue(rec.err().contains("hz3-agent: hz3 0.1.0 is this JVM's malloc ("
                + ChildProcess.LIBHZ3 + "); hz3 events on"), rec::toString);
    }

    /** LD_PRELOAD names a file that is not there: ld.so says so, the agent finds glibc. */
    @Test
    void missingPreloadFallsBackToGlibc() throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "startup-missing-preload");
        Path jfr = dir.resolve("rec.jfr");
        ChildProcess c = ChildProcess.run("missing", dir, targetWith("-javaagent:" + ChildProcess.AGENT_JAR,
                "-XX:StartFlightRecording:filename=" + jfr + ",settings=" + ChildProcess.HZ3_JFC),
                Map.of("LD_PRELOAD", dir.resolve("no/libhz3.so").toString()));
        assertEquals(0, c.exit(), c::toString);
        assertTrue(c.err().contains("hz3-agent: hz3 is not this JVM's malloc: malloc is glibc"),
                c::toString);
        List<RecordedEvent> all = Recordings.read(jfr);
        assertFalse(Recordings.of(all, "hz3.GlibcHeap").isEmpty());
        assertEquals("absent", Recordings.of(all, "hz3.AllocatorInfo").get(0).getString("hz3Status"));
    }

    /** Another malloc preloaded (when its Debian package is installed): named, never a crash. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"jemalloc:libjemalloc.so.2", "tcmalloc:libtcmalloc_minimal.so.4",
        "mimalloc:libmimalloc.so.2"})
    void otherMallocsAreNamed(String peer) throws Exception {
        String name = peer.substring(0, peer.indexOf(':'));
        Path lib = Path.of("/usr/lib/x86_64-linux-gnu", peer.substring(peer.indexOf(':') + 1));
        assumeTrue(Files.isRegularFile(lib), lib + " is not installed");
        Path dir = ChildProcess.dir("agent-tests", "startup-" + name);
        Path jfr = dir.resolve("rec.jfr");
        ChildProcess c = ChildProcess.run(name, dir, targetWith("-javaagent:" + ChildProcess.AGENT_JAR,
                "-XX:StartFlightRecording:filename=" + jfr + ",settings=" + ChildProcess.HZ3_JFC),
                Map.of("LD_PRELOAD", lib.toString()));
        assertEquals(0, c.exit(), c::toString);
        assertTrue(c.err().contains("hz3-agent: hz3 is not this JVM's malloc: malloc is " + name),
                c::toString);
        assertTrue(c.err().contains("only hz3.ProcessMemory and hz3.AllocatorInfo are on"),
                c::toString);
        List<RecordedEvent> all = Recordings.read(jfr);
        assertEquals(name, Recordings.of(all, "hz3.AllocatorInfo").get(0).getString("malloc"));
        assertTrue(Recordings.of(all, "hz3.GlibcHeap").isEmpty());
        assertFalse(Recordings.of(all, "hz3.ProcessMemory").isEmpty());
    }

    @Test
    void launchersRefuseAMissingLibraryInOneLine() throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "startup-launcher-missing");
        String missing = dir.resolve("nowhere/libhz3.so").toString();
        ChildProcess sh = ChildProcess.run("hz3-java", dir, List.of(ChildProcess.HZ3_JAVA.toString(), "-version"),
                Map.of("HZ3_LIB", missing));
        assertEquals(1, sh.exit(), sh::toString);
        assertEquals("hz3-java: HZ3_LIB=" + missing + ": no such file\n", sh.err());

        ChildProcess run = ChildProcess.run("run", dir, List.of(ChildProcess.java(JAVA_HOME), "-jar",
                ChildProcess.AGENT_JAR.toString(), "run", "--", "-version"), Map.of("HZ3_LIB", missing));
        assertEquals(1, run.exit(), run::toString);
        assertEquals("hz3-agent run: HZ3_LIB=" + missing + ": no such file\n", run.err());
    }

    /** A libhz3 whose hz3_version is older than the agent's: refused in one line, no crash. */
    @Test
    void olderLibhz3IsRefused() throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "startup-old-libhz3");
        Path src = Files.writeString(dir.resolve("old.c"),
                "const char *hz3_version(void) { return \"0.0.9\"; }\n");
        Path shim = dir.resolve("libhz3-old.so");
        ChildProcess cc = ChildProcess.run("gcc", dir, List.of("gcc", "-shared", "-fPIC", "-o", shim.toString(),
                src.toString()), Map.of());
        assertEquals(0, cc.exit(), cc::toString);
        Path jfr = dir.resolve("rec.jfr");
        // The shim's hz3_version comes first in the global scope; malloc is still libhz3's.
        ChildProcess c = ChildProcess.run("old", dir, targetWith("-javaagent:" + ChildProcess.AGENT_JAR,
                "-XX:StartFlightRecording:filename=" + jfr + ",settings=" + ChildProcess.HZ3_JFC),
                Map.of("LD_PRELOAD", shim + ":" + ChildProcess.LIBHZ3));
        assertEquals(0, c.exit(), c::toString);
        List<String> agentLines = c.err().lines().filter(l -> l.startsWith("hz3-agent:")).toList();
        assertEquals(1, agentLines.size(), c::toString);
        assertTrue(agentLines.get(0).startsWith("hz3-agent: libhz3 0.0.9 (" + shim
                + ") is older than this agent, which needs 0.1.0 or newer; hz3 events are off"),
                c::toString);
        List<RecordedEvent> all = Recordings.read(jfr);
        assertTrue(Recordings.of(all, "hz3.TierOccupancy").isEmpty());
        assertEquals("refused", Recordings.of(all, "hz3.AllocatorInfo").get(0).getString("hz3Status"));
    }
}
