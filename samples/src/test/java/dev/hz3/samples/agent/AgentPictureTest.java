package dev.hz3.samples.agent;

import static dev.hz3.samples.agent.AgentAttachTest.attach;
import static dev.hz3.samples.agent.AgentAttachTest.stillRuns;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import dev.hz3.samples.ChildProcess;
import jdk.jfr.Configuration;
import jdk.jfr.consumer.RecordedEvent;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A recording holds the whole picture (hz3.AllocatorInfo, hz3.ProcessMemory, a census, or
 * hz3.GlibcHeap under glibc) from its start and at its end, however it ends: {@code attach PID
 * stop}, {@code jcmd PID JFR.dump}, the JVM's exit; so a purge just before the end is seen.
 * And an attach to a JVM whose agent is loaded already does not load it again: on JDK 21 and
 * later that would print the JDK's "loaded dynamically" warning into the application's stderr.
 */
class AgentPictureTest {

    /** AttachTarget, with no -XX:+EnableDynamicAgentLoading: the JDK warns when it should. */
    static ChildProcess target(Path javaHome, Path dir, boolean hz3, String... jvmArgs)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(ChildProcess.java(javaHome), "-Xmx256m",
                "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("-cp", ChildProcess.testClasses().toString(), AttachTarget.class.getName()));
        Map<String, String> env = new HashMap<>();
        if (hz3) {
            env.put("LD_PRELOAD", ChildProcess.LIBHZ3.toString());
        }
        ChildProcess t = ChildProcess.start("target", dir, cmd, env);
        t.awaitOut("^READY pid=\\d+$");
        return t;
    }

    /** The start of the recording's first chunk, from its header (nanoseconds since the epoch at byte 32). */
    private static Instant recordingStart(Path jfr) throws IOException {
        try (InputStream in = Files.newInputStream(jfr)) {
            ByteBuffer header = ByteBuffer.wrap(in.readNBytes(40));
            assertEquals(0x464c5200, header.getInt(0), "not a JFR file: " + jfr);
            long nanos = header.getLong(32);
            return Instant.ofEpochSecond(0, nanos);
        }
    }

    /** Events of the type committed after the instant. */
    static List<RecordedEvent> after(List<RecordedEvent> all, String type, Instant t) {
        return Recordings.of(all, type).stream().filter(e -> e.getStartTime().isAfter(t)).toList();
    }

    /** The whole picture is in the recording after t: hz3's census later than the purge's epoch. */
    static void assertPictureAfter(List<RecordedEvent> all, Instant t, boolean hz3, String where) {
        assertFalse(after(all, "hz3.AllocatorInfo", t).isEmpty(), "no hz3.AllocatorInfo after " + t + " in " + where);
        assertFalse(after(all, "hz3.ProcessMemory", t).isEmpty(), "no hz3.ProcessMemory after " + t + " in " + where);
        if (!hz3) {
            assertFalse(after(all, "hz3.GlibcHeap", t).isEmpty(), "no hz3.GlibcHeap after " + t + " in " + where);
            return;
        }
        long purge = Recordings.of(all, "hz3.Epoch").stream()
                .filter(e -> e.getString("reason").equals("purge"))
                .mapToLong(e -> e.getLong("seq")).max().orElseThrow(() -> new AssertionError(
                        "no hz3.Epoch of reason purge in " + where));
        List<RecordedEvent> snaps = after(all, "hz3.Snapshot", t);
        assertTrue(snaps.stream().anyMatch(e -> e.getLong("seqFirst") > purge),
                () -> "no census after the purge's epoch " + purge + " in " + where + ": " + snaps);
        assertFalse(after(all, "hz3.Retention", t).isEmpty(), "no hz3.Retention after " + t + " in " + where);
        assertTrue(after(all, "hz3.TierOccupancy", t).size() >= Recordings.TIERS.size(), where);
    }

    /**
     * The target's stderr from offset on holds nothing from the attaches: the application's own
     * line, written after them (so that all they wrote is in), is the only one. An attach's
     * answer goes to the attaching command only; the JDK's warning would be here.
     */
    static void nothingFromAttaches(ChildProcess t, int from, String what) throws InterruptedException {
        String mark = "MARK " + (t.err().lines().filter(l -> l.startsWith("MARK ")).count() + 1);
        t.send("mark");
        t.awaitErr("^" + mark + "$");
        List<String> lines = t.err().substring(from).lines().toList();
        assertEquals(mark, lines.get(lines.size() - 1), t::toString);
        assertEquals(List.of(), lines.subList(0, lines.size() - 1).stream()
                .filter(l -> !l.startsWith("MARK ")).toList(),
                () -> what + " wrote into the application's stderr\n" + t);
    }

    /** attach PID record=jfr: the agent's own recording starts. */
    static void startRecording(Path javaHome, Path dir, ChildProcess t, Path jfr) throws Exception {
        ChildProcess a = attach(javaHome, dir, t, "record=" + jfr);
        assertEquals(0, a.exit(), a::toString);
        assertTrue(a.out().contains("hz3-agent: recording to "), a::toString);
    }

    /**
     * attach PID purge, then attach PID stop, which writes the agent's recording to jfr: the
     * end of tests (b) and (d). purgeSays is in the purge's answer (hz3's or glibc's); returns
     * when the purge was done.
     */
    static Instant purgeThenStop(Path javaHome, Path dir, ChildProcess t, Path jfr, String purgeSays)
            throws Exception {
        ChildProcess purge = attach(javaHome, dir, t, "purge");
        assertEquals(0, purge.exit(), purge::toString);
        Instant purged = Instant.now();
        ChildProcess stop = attach(javaHome, dir, t, "stop");
        assertEquals(0, stop.exit(), stop::toString);
        assertTrue(stop.out().contains("recording written to " + jfr), stop::toString);
        assertTrue(purge.out().contains(purgeSays), purge::toString);
        return purged;
    }

    /** jcmd PID JFR.dump of the recording named user, into file. */
    static void jcmdDump(Path javaHome, Path dir, ChildProcess t, Path file) throws Exception {
        String jcmd = javaHome.resolve("bin/jcmd").toString();
        ChildProcess d = ChildProcess.run("jcmd-" + file.getFileName(), dir, List.of(jcmd, Long.toString(t.pid()),
                "JFR.dump", "name=user", "filename=" + file), Map.of());
        assertEquals(0, d.exit(), d::toString);
    }

    /** (a) A recording started with the JVM has the picture within its first second. */
    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void recordingStartedAtLaunchHasThePictureAtOnce(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "picture-launch-" + javaHome.getFileName());
        Path jfr = dir.resolve("launch.jfr");
        try (ChildProcess t = target(javaHome, dir, true, "-javaagent:" + ChildProcess.AGENT_JAR,
                "-XX:StartFlightRecording:filename=" + jfr + ",settings=" + ChildProcess.HZ3_JFC)) {
            t.closeStdin();
            assertEquals(0, t.waitFor(), t::toString);
            assertFalse(t.err().contains("no recording runs"), t::toString);
        }
        List<RecordedEvent> all = Recordings.read(jfr);
        Instant start = recordingStart(jfr);
        // The process, the allocator, the census (an exact one, which takes a while on a busy
        // machine) and hz3.Retention come at the recording's start, not when their period
        // first elapses: each first event must precede the shortest period hz3.jfc sets for
        // them, the earliest a periodic emission could have brought it.
        List<String> types = List.of("hz3.ProcessMemory", "hz3.AllocatorInfo", "hz3.Snapshot", "hz3.Retention");
        Duration period = shortestPeriod(types);
        for (String type : types) {
            RecordedEvent first = Recordings.of(all, type).stream()
                    .filter(e -> !type.equals("hz3.Snapshot") || e.getString("source").equals("chunk"))
                    .findFirst().orElseThrow();
            Duration in = Duration.between(start, first.getStartTime());
            assertTrue(in.compareTo(period) < 0, () -> "the first " + type + " is " + in
                    + " after the recording's start " + start + ", not before the first period (" + period + ")");
        }
    }

    /** The shortest timed period that hz3.jfc gives the types ("everyChunk" and the like are not timed). */
    private static Duration shortestPeriod(List<String> types) throws IOException, ParseException {
        Map<String, String> settings = Configuration.create(ChildProcess.HZ3_JFC).getSettings();
        Duration shortest = null;
        for (String type : types) {
            String value = settings.get(type + "#period");
            Matcher m = value == null ? null : Pattern.compile("(\\d+) ?(ms|s|m)").matcher(value.trim());
            if (m == null || !m.matches()) {
                continue;
            }
            long n = Long.parseLong(m.group(1));
            Duration d = switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                default -> Duration.ofMinutes(n);
            };
            shortest = shortest == null || d.compareTo(shortest) < 0 ? d : shortest;
        }
        assertTrue(shortest != null, "hz3.jfc sets no timed period for " + types);
        return shortest;
    }

    /**
     * (b) attach record=, purge, stop: the agent's recording ends with the picture after the
     * purge; and every attach after the first reaches the loaded agent without loading it again
     * (no JDK warning in the target's stderr, which on JDK 21+ the first load prints).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void attachStopEndsWithThePictureAfterAPurge(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "picture-stop-" + javaHome.getFileName());
        Path jfr = dir.resolve("attached.jfr");
        Instant purged;
        try (ChildProcess t = target(javaHome, dir, true)) {
            startRecording(javaHome, dir, t, jfr);
            if (ChildProcess.feature(javaHome) >= 21) {
                // the first attach loads the agent: the JDK says so
                t.awaitErr("WARNING: A Java agent has been loaded dynamically");
            }
            stillRuns(t, 1);
            int mark = t.err().length();

            purged = purgeThenStop(javaHome, dir, t, jfr, "hz3-agent: purge: hz3 gave back");
            nothingFromAttaches(t, mark, "purge and stop");

            // And after stop: the agent is still loaded, and answers the same way.
            int mark2 = t.err().length();
            ChildProcess again = attach(javaHome, dir, t, "snapshot");
            assertEquals(0, again.exit(), again::toString);
            assertTrue(again.out().contains("hz3-agent: snapshot seq="), again::toString);
            nothingFromAttaches(t, mark2, "an attach after stop");
            stillRuns(t, 2);
            t.closeStdin();
            assertEquals(0, t.waitFor(), t::toString);
        }
        assertPictureAfter(Recordings.read(jfr), purged, true, jfr.toString());
    }

    /**
     * (c) A recording of the user's (-XX:StartFlightRecording), dumped with jcmd JFR.dump after a
     * purge: the dump ends with the picture after it; then {@code attach stop}, with no recording
     * of the agent's, commits the picture itself. Both attaches reach the agent of -javaagent
     * without loading it again.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void jcmdDumpEndsWithThePictureAfterAPurge(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "picture-dump-" + javaHome.getFileName());
        Path dump1 = dir.resolve("dump1.jfr");
        Path dump2 = dir.resolve("dump2.jfr");
        Instant purged;
        Instant stopped;
        try (ChildProcess t = target(javaHome, dir, true, "-javaagent:" + ChildProcess.AGENT_JAR,
                "-XX:StartFlightRecording:name=user,settings=" + ChildProcess.HZ3_JFC)) {
            t.awaitErr("^hz3-agent: hz3 0.1.0 is this JVM's malloc");
            int mark = t.err().length();
            ChildProcess purge = attach(javaHome, dir, t, "purge");
            assertEquals(0, purge.exit(), purge::toString);
            purged = Instant.now();
            jcmdDump(javaHome, dir, t, dump1);

            stopped = Instant.now();
            ChildProcess stop = attach(javaHome, dir, t, "stop");
            assertEquals(0, stop.exit(), stop::toString);
            jcmdDump(javaHome, dir, t, dump2);
            nothingFromAttaches(t, mark, "attaches to an agent loaded by -javaagent");
            t.closeStdin();
            assertEquals(0, t.waitFor(), t::toString);
        }
        assertPictureAfter(Recordings.read(dump1), purged, true, dump1.toString());
        List<RecordedEvent> second = Recordings.read(dump2);
        assertFalse(after(second, "hz3.AllocatorInfo", stopped).isEmpty(), "the picture at stop");
        assertFalse(after(second, "hz3.ProcessMemory", stopped).isEmpty(), "the picture at stop");
        assertFalse(after(second, "hz3.Snapshot", stopped).isEmpty(), "the picture at stop");
    }

    /** (d) Under glibc: the final hz3.GlibcHeap, after malloc_trim. */
    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void glibcRecordingEndsWithTheHeapAfterATrim(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "picture-glibc-" + javaHome.getFileName());
        Path jfr = dir.resolve("glibc.jfr");
        Instant trimmed;
        try (ChildProcess t = target(javaHome, dir, false)) {
            startRecording(javaHome, dir, t, jfr);
            trimmed = purgeThenStop(javaHome, dir, t, jfr, "ran malloc_trim(0) instead");
            t.closeStdin();
            assertEquals(0, t.waitFor(), t::toString);
        }
        assertPictureAfter(Recordings.read(jfr), trimmed, false, jfr.toString());
    }
}
