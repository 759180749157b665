package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import dev.hz3.samples.ChildProcess;
import jdk.jfr.consumer.RecordedEvent;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * hz3.NativeSite at every chunk's end, in child JVMs under glibc, on each JDK: a recording whose
 * hz3.NativeSite period (1 h here) never comes still has its sites in each jcmd JFR.dump, and each
 * time the sites named are the union of the top {@code sites} by live bytes and by growth: with
 * sites=1, a site that grew since the previous hz3.NativeSite is named beside the one holding most.
 */
class NativeSitesAtChunkTest {

    static final String APP = NativeSitesApp.class.getName();

    static Map<String, RecordedEvent> lastSites(Path jfr) throws IOException {
        return Recordings.lastSites(jfr, APP);
    }

    static void assertNear(long expected, RecordedEvent e) {
        double ratio = e.getLong("liveBytes") / (double) expected;
        assertTrue(ratio > 0.8 && ratio < 1.2, () -> "estimated " + e.getLong("liveBytes")
                + " live bytes, the app holds " + expected + ": " + e);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void everyDumpHasTheTopSitesByLiveBytesAndByGrowth(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "sites-at-chunk-" + javaHome.getFileName());
        Path dump1 = dir.resolve("dump1.jfr");
        Path dump2 = dir.resolve("dump2.jfr");
        String jcmd = javaHome.resolve("bin/jcmd").toString();
        List<String> cmd = NativeAttributionTest.java(javaHome,
                "-javaagent:" + ChildProcess.AGENT_JAR + "=attribution=on,sites=1",
                "-XX:StartFlightRecording:name=user,settings=" + NativeAttributionTest.jfc(dir, "1 h"),
                "-cp", ChildProcess.testClasses().toString(), APP, "serve");
        try (ChildProcess t = ChildProcess.start("app", dir, cmd, Map.of())) {
            t.awaitOut("^READY pid=\\d+$");
            t.send("keepB");
            t.awaitOut("^DONE keepB$");
            ChildProcess d1 = ChildProcess.run("jcmd-dump1", dir, List.of(jcmd, Long.toString(t.pid()), "JFR.dump",
                    "name=user", "filename=" + dump1), Map.of());
            assertEquals(0, d1.exit(), d1::toString);
            t.send("growF");
            t.awaitOut("^DONE growF$");
            ChildProcess d2 = ChildProcess.run("jcmd-dump2", dir, List.of(jcmd, Long.toString(t.pid()), "JFR.dump",
                    "name=user", "filename=" + dump2), Map.of());
            assertEquals(0, d2.exit(), d2::toString);
            t.closeStdin();
            assertEquals(0, t.waitFor(), t::toString);
        }
        long keepB = (long) NativeSitesApp.KEEP_B_COUNT * NativeSitesApp.KEEP_B_BYTES;
        long growF = (long) NativeSitesApp.GROW_F_COUNT * NativeSitesApp.GROW_F_BYTES;

        // The first dump: keepB, all of it grown since the recording began.
        Map<String, RecordedEvent> first = lastSites(dump1);
        assertEquals(List.of("keepB"), List.copyOf(first.keySet()), () -> "sites: " + first);
        RecordedEvent b1 = first.get("keepB");
        assertNear(keepB, b1);
        assertEquals(1, b1.getInt("rank"));
        assertEquals(b1.getLong("liveBytes"), b1.getLong("growthBytes"), b1::toString);

        // The second: keepB, unchanged, as the top by live bytes; growF, a quarter of keepB's
        // bytes (the 20% bounds cannot swap them), as the top by growth.
        Map<String, RecordedEvent> second = lastSites(dump2);
        assertEquals(List.of("growF", "keepB"), List.copyOf(second.keySet()), () -> "sites: " + second);
        RecordedEvent b2 = second.get("keepB");
        RecordedEvent f2 = second.get("growF");
        assertEquals(b1.getLong("liveBytes"), b2.getLong("liveBytes"), 1, b2::toString);
        assertEquals(0, b2.getLong("growthBytes"), 1, b2::toString);
        assertNear(growF, f2);
        assertEquals(2, f2.getInt("rank"), f2::toString);
        assertEquals(f2.getLong("liveBytes"), f2.getLong("growthBytes"), 1, f2::toString);
    }
}
