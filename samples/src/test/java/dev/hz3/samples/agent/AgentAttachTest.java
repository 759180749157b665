package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import dev.hz3.samples.ChildProcess;
import jdk.jfr.consumer.RecordedEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code java -jar hz3-agent.jar attach PID ...} against running JVMs, with and without hz3 as
 * their malloc, on each JDK: attaching twice, the on-demand commands, bad options, stop.
 */
class AgentAttachTest {

    static ChildProcess target(Path javaHome, Path dir, String name, boolean hz3,
            String... jvmArgs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(ChildProcess.java(javaHome), "-Xmx256m",
                "--enable-native-access=ALL-UNNAMED"));
        if (ChildProcess.feature(javaHome) >= 21) {
            cmd.add("-XX:+EnableDynamicAgentLoading");   // no warning for the attached agent
        }
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("-cp", ChildProcess.testClasses().toString(), AttachTarget.class.getName()));
        Map<String, String> env = new HashMap<>();
        if (hz3) {
            env.put("LD_PRELOAD", ChildProcess.LIBHZ3.toString());
        }
        ChildProcess t = ChildProcess.start(name, dir, cmd, env);
        t.awaitOut("^READY pid=\\d+$");
        return t;
    }

    private static int attachNo;

    static ChildProcess attach(Path javaHome, Path dir, ChildProcess target, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(ChildProcess.java(javaHome), "-jar",
                ChildProcess.AGENT_JAR.toString(), "attach", Long.toString(target.pid())));
        cmd.addAll(List.of(args));
        String name = ("attach-" + ++attachNo + "-" + String.join("_", args))
                .replaceAll("[^A-Za-z0-9=.,_-]", "_");   // a directory's name: safe, short
        return ChildProcess.run(name.substring(0, Math.min(name.length(), 80)), dir, cmd, Map.of());
    }

    /** The target still serves requests: it went on running. */
    static void stillRuns(ChildProcess target, int n) throws InterruptedException {
        target.send("work");
        target.awaitOut("^WORKED " + n + "$");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void withHz3(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "attach-hz3-" + javaHome.getFileName());
        Path jfr = dir.resolve("attached.jfr");
        try (ChildProcess t = target(javaHome, dir, "target", true)) {
            ChildProcess a1 = attach(javaHome, dir, t, "top=3");
            assertEquals(0, a1.exit(), a1::toString);
            assertTrue(a1.out().contains("hz3-agent: hz3 0.1.0 is this JVM's malloc ("
                    + ChildProcess.LIBHZ3 + "); hz3 events on"), a1::toString);
            assertTrue(a1.out().contains("no recording is running"), a1::toString);

            // Again: options change, nothing fails; record= starts the agent's own recording.
            ChildProcess a2 = attach(javaHome, dir, t, "top=7,record=" + jfr);
            assertEquals(0, a2.exit(), a2::toString);
            assertTrue(a2.out().contains("hz3-agent: options updated: top=7,record=" + jfr), a2::toString);
            assertTrue(a2.out().contains("hz3-agent: recording to " + jfr), a2::toString);
            stillRuns(t, 1);

            ChildProcess snap = attach(javaHome, dir, t, "snapshot");
            assertEquals(0, snap.exit(), snap::toString);
            assertTrue(snap.out().matches("(?s)hz3-agent: snapshot seq=\\d+ small=\\d+ pages .*"
                    + "recorded in \\d+ running recording\\(s\\)\n"), snap::toString);

            ChildProcess purge = attach(javaHome, dir, t, "purge");
            assertEquals(0, purge.exit(), purge::toString);
            assertTrue(purge.out().matches("hz3-agent: purge: hz3 gave back \\d+ pages \\(\\d+ KiB\\) to the OS\n"),
                    purge::toString);

            ChildProcess bad = attach(javaHome, dir, t, "top=x");
            assertEquals(2, bad.exit(), bad::toString);
            assertTrue(bad.out().startsWith("hz3-agent: bad option 'top=x': expected a whole number 1..64\n"),
                    bad::toString);
            stillRuns(t, 2);

            ChildProcess stop = attach(javaHome, dir, t, "stop");
            assertEquals(0, stop.exit(), stop::toString);
            assertTrue(stop.out().contains("hz3-agent: stopped"), stop::toString);
            assertTrue(stop.out().contains("recording written to " + jfr), stop::toString);
            stillRuns(t, 3);
            byte[] written = Files.readAllBytes(jfr);

            // Started again without record=: no recording of its own, so the one written at the
            // stop is still the same file after the JVM exits.
            ChildProcess again = attach(javaHome, dir, t, "top=5");
            assertEquals(0, again.exit(), again::toString);
            assertFalse(again.out().contains("recording to"), again::toString);

            t.closeStdin();
            assertEquals(0, t.waitFor(), t::toString);
            assertTrue(t.out().contains("BYE"));
            assertArrayEquals(written, Files.readAllBytes(jfr), "the stopped recording was written over");
            // What the attaching command heard is its own: none of it in the application's stderr.
            assertFalse(t.err().contains("hz3-agent: hz3 0.1.0 is this JVM's malloc"), t::toString);
            assertFalse(t.err().contains("hz3-agent: bad option 'top=x'"), t::toString);
            assertFalse(t.err().contains("Exception"), t::toString);
        }
        List<RecordedEvent> all = Recordings.read(jfr);
        for (String type : List.of("hz3.Snapshot", "hz3.TierOccupancy", "hz3.PartialSizeClass",
                "hz3.AllocatorInfo", "hz3.ProcessMemory", "hz3.Retention")) {
            assertFalse(Recordings.of(all, type).isEmpty(), "no " + type);
        }
        Recordings.assertTierInvariants(all);
        Recordings.assertEpochsIncrease(all);
        assertTrue(Recordings.of(all, "hz3.Snapshot").stream()
                .anyMatch(e -> e.getString("source").equals("on demand")), "the snapshot command's");
        assertTrue(Recordings.of(all, "hz3.PartialSizeClass").stream()
                .allMatch(e -> e.getInt("rank") <= 7), "top=7");
        assertTrue(Recordings.of(all, "hz3.AllocatorInfo").get(0).getString("options")
                .contains("top=7"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void withoutHz3(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "attach-glibc-" + javaHome.getFileName());
        Path jfr = dir.resolve("glibc.jfr");
        try (ChildProcess t = target(javaHome, dir, "target", false)) {
            ChildProcess a1 = attach(javaHome, dir, t, "record=" + jfr);
            assertEquals(0, a1.exit(), a1::toString);
            assertTrue(a1.out().startsWith("hz3-agent: hz3 is not this JVM's malloc: malloc is glibc "),
                    a1::toString);
            assertTrue(a1.out().contains("only hz3.GlibcHeap, hz3.ProcessMemory and hz3.AllocatorInfo are on"),
                    a1::toString);

            ChildProcess a2 = attach(javaHome, dir, t);   // again, no options: says it again
            assertEquals(0, a2.exit(), a2::toString);
            assertTrue(a2.out().contains("hz3 is not this JVM's malloc: malloc is glibc"), a2::toString);

            ChildProcess snap = attach(javaHome, dir, t, "snapshot");
            assertEquals(0, snap.exit(), snap::toString);
            assertTrue(snap.out().matches("(?s).*glibc heap: \\d+ arenas, in use .*recorded in .*"),
                    snap::toString);

            ChildProcess purge = attach(javaHome, dir, t, "purge");
            assertEquals(0, purge.exit(), purge::toString);
            assertTrue(purge.out().contains("ran malloc_trim(0) instead"), purge::toString);
            stillRuns(t, 1);

            t.closeStdin();
            assertEquals(0, t.waitFor(), t::toString);
            assertFalse(t.err().contains("hz3-agent: hz3 is not this JVM's malloc"), t::toString);
        }
        List<RecordedEvent> all = Recordings.read(jfr);
        assertFalse(Recordings.of(all, "hz3.GlibcHeap").isEmpty(), "no hz3.GlibcHeap");
        assertTrue(Recordings.of(all, "hz3.TierOccupancy").isEmpty());
        assertTrue(Recordings.of(all, "hz3.Epoch").isEmpty());
        RecordedEvent g = Recordings.of(all, "hz3.GlibcHeap").get(0);
        assertTrue(g.getInt("arenas") >= 1 && g.getLong("inUseBytes") > 0, g::toString);
        RecordedEvent info = Recordings.of(all, "hz3.AllocatorInfo").get(0);
        assertEquals("glibc", info.getString("malloc"));
        assertEquals("absent", info.getString("hz3Status"));
        assertFalse(Recordings.of(all, "hz3.ProcessMemory").isEmpty());
    }

    /** Started with -javaagent, then attached: the attach changes the options. */
    @Test
    void attachAfterPremainChangesOptions() throws Exception {
        Path javaHome = Path.of(System.getProperty("java.home"));
        Path dir = ChildProcess.dir("agent-tests", "attach-after-premain");
        Path jfr = dir.resolve("premain.jfr");
        try (ChildProcess t = target(javaHome, dir, "target", true,
                "-javaagent:" + ChildProcess.AGENT_JAR + "=top=2",
                "-XX:StartFlightRecording:filename=" + jfr + ",settings=" + ChildProcess.HZ3_JFC)) {
            ChildProcess a = attach(javaHome, dir, t, "top=4");
            assertEquals(0, a.exit(), a::toString);
            assertTrue(a.out().contains("options updated: top=4"), a::toString);
            assertTrue(a.out().contains("1 recording(s) running"), a::toString);
            t.send("work");
            t.awaitOut("^WORKED 1$");
            t.closeStdin();
            assertEquals(0, t.waitFor(), t::toString);
        }
        // The recording began with the options of -javaagent; it ends with those of the attach.
        List<RecordedEvent> infos = Recordings.of(Recordings.read(jfr), "hz3.AllocatorInfo");
        assertTrue(infos.get(0).getString("options").contains("top=2"), infos::toString);
        RecordedEvent last = infos.get(infos.size() - 1);
        assertTrue(last.getString("options").contains("top=4"), last::toString);
    }

    @Test
    void noSuchProcess() throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "attach-nobody");
        ChildProcess a = ChildProcess.run("attach", dir,
                List.of(ChildProcess.java(Path.of(System.getProperty("java.home"))), "-jar",
                        ChildProcess.AGENT_JAR.toString(), "attach", "999999999"), Map.of());
        assertEquals(1, a.exit(), a::toString);
        assertEquals("hz3-agent attach: no process 999999999\n", a.err());
    }
}
