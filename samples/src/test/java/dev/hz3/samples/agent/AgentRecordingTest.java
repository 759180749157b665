package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static dev.hz3.jmc.Hz3Attributes.TierOccupancy.OCC_1_TO_25;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import dev.hz3.samples.ChildProcess;
import jdk.jfr.consumer.RecordedEvent;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The samples Fragment and Steady under the launchers (bin/hz3-java, and
 * {@code java -jar hz3-agent.jar run}) with -XX:StartFlightRecording and HZ3_OBS=1, on each JDK;
 * the recordings are read back with RecordingFile and compared with hz3's exit report.
 */
class AgentRecordingTest {

    /** hz3.jfc with periods short enough for a few seconds' run. */
    static Path fastJfc(Path dir) throws IOException {
        String jfc = Files.readString(ChildProcess.HZ3_JFC).replaceAll(">\\d+ s<", ">1 s<");
        return Files.writeString(dir.resolve("hz3-fast.jfc"), jfc);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void fragmentShowsMorePartialPagesThanSteady(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "recording-" + javaHome.getFileName());
        Path jfc = fastJfc(dir);
        Path fragJfr = dir.resolve("fragment.jfr");
        Path steadyJfr = dir.resolve("steady.jfr");

        // Fragment through bin/hz3-java, with the JDK's default settings and hz3's together.
        List<String> frag = new ArrayList<>(List.of(ChildProcess.HZ3_JAVA.toString(), "-Xmx256m",
                "-XX:StartFlightRecording:filename=" + fragJfr + ",settings=default,settings=" + jfc,
                "-cp", ChildProcess.sampleClasses().toString(), "dev.hz3.samples.Fragment",
                "--size", "32", "--seconds", "3", "--threads", "2"));
        ChildProcess f = ChildProcess.run("fragment", dir, frag,
                Map.of("JAVA_HOME", javaHome.toString(), "HZ3_OBS", "1"));
        assertEquals(0, f.exit(), () -> "Fragment failed\n" + f);

        // Steady through java -jar hz3-agent.jar run, hz3's settings alone.
        List<String> steady = List.of(ChildProcess.java(javaHome), "-jar", ChildProcess.AGENT_JAR.toString(),
                "run", "--", "-Xmx256m",
                "-XX:StartFlightRecording:filename=" + steadyJfr + ",settings=" + jfc,
                "-cp", ChildProcess.sampleClasses().toString(), "dev.hz3.samples.Steady",
                "--size", "32", "--seconds", "3");
        ChildProcess s = ChildProcess.run("steady", dir, steady, Map.of("HZ3_OBS", "1"));
        assertEquals(0, s.exit(), () -> "Steady failed\n" + s);

        for (ChildProcess c : List.of(f, s)) {
            assertTrue(c.err().contains("hz3-agent: hz3 0.1.0 is this JVM's malloc"),
                    () -> "the agent did not find hz3\n" + c);
            assertFalse(c.err().contains("WARNING"), () -> "a JDK warning\n" + c);
        }
        List<RecordedEvent> fe = check(fragJfr, f, javaHome);
        List<RecordedEvent> se = check(steadyJfr, s, javaHome);

        double[] fragWorst = worst(fe);
        double[] steadyWorst = worst(se);
        assertTrue(fragWorst[0] > steadyWorst[0], "Fragment's most partial pages ("
                + fragWorst[0] + ") should exceed Steady's (" + steadyWorst[0] + ")");
        assertTrue(fragWorst[1] < steadyWorst[1], "Fragment's occupancy of its in-use pages ("
                + fragWorst[1] + ") should be below Steady's (" + steadyWorst[1] + ")");
    }

    /** [partial pages, occupancy] of the snapshot with the most partial small/sub4k pages. */
    private static double[] worst(List<RecordedEvent> all) {
        double[] worst = {-1, 1};
        for (Map<String, RecordedEvent> snap : Recordings.tiersBySnapshot(all).values()) {
            double[] v = Recordings.fragmentation(snap);
            if (v[0] > worst[0]) {
                worst = v;
            }
        }
        return worst;
    }

    /** Every check on one recording of a run with HZ3_OBS=1. */
    private static List<RecordedEvent> check(Path jfr, ChildProcess c, Path javaHome) throws Exception {
        List<RecordedEvent> all = Recordings.read(jfr);
        for (String type : Recordings.HZ3_TYPES) {
            assertFalse(Recordings.of(all, type).isEmpty(), () -> "no " + type + " in " + jfr);
        }
        assertTrue(Recordings.of(all, "hz3.GlibcHeap").isEmpty(), "hz3.GlibcHeap under hz3?");
        Recordings.assertTierInvariants(all);
        Recordings.assertEpochsIncrease(all);

        RecordedEvent info = Recordings.of(all, "hz3.AllocatorInfo").get(0);
        assertEquals("hz3", info.getString("malloc"));
        assertEquals("active", info.getString("hz3Status"));
        assertTrue(info.getBoolean("obs"), "HZ3_OBS=1 is hz3's obs setting");
        assertEquals("5.19.1", info.getString("jnaVersion"));

        for (RecordedEvent pm : Recordings.of(all, "hz3.ProcessMemory")) {
            long sum = pm.getLong("javaHeap") + pm.getLong("threadStacks") + pm.getLong("hz3")
                    + pm.getLong("fileMappings") + pm.getLong("otherMappings");
            assertEquals(pm.getLong("rss"), sum, () -> "buckets do not add up to rss: " + pm);
            assertTrue(pm.getLong("hz3") > 0 && pm.getLong("javaHeap") > 0
                    && pm.getLong("threadStacks") > 0, () -> pm.toString());
        }
        for (RecordedEvent r : Recordings.of(all, "hz3.Retention")) {
            assertEquals(r.getLong("cachedBytes"), r.getLong("freeBlockBytes")
                    + r.getLong("emptyPageBytes") + r.getLong("largeCachedBytes"));
            assertTrue(r.getLong("mappingsRss") > 0);
        }
        if (ChildProcess.feature(javaHome) >= 21) {
            // JDK 17 records no eventThread for events from a native callback thread.
            RecordedEvent epoch = Recordings.of(all, "hz3.Epoch").get(0);
            assertEquals("hz3-epoch", epoch.getThread().getJavaName());
        }

        // The last snapshot and hz3's exit report: the agent names the census each chunk ends
        // with for the report (hz3_obs_snapshot_for_report), so the recording's last snapshot is
        // the census the report prints: the same seq, and the same numbers in every tier.
        Map<String, Map<String, Long>> report = Recordings.exitReport(c.err());
        assertEquals(Recordings.TIERS, Recordings.TIERS.stream().filter(report::containsKey).toList(),
                () -> "HZ3_OBS=1: expected a [HZ3_S135_FRAG_OBS] line per tier\n" + c);
        assertTrue(c.err().contains(" taken=named"), () -> "the report prints the named census\n" + c);
        long exitSeq = report.get("small").get("seq");
        TreeMap<Long, Map<String, RecordedEvent>> snaps = Recordings.tiersBySnapshot(all);
        long lastSeq = snaps.lastKey();
        RecordedEvent lastSnapshot = Recordings.of(all, "hz3.Snapshot").stream()
                .filter(e -> e.getLong("seqLast") == lastSeq).findFirst().orElseThrow();
        assertEquals("chunk", lastSnapshot.getString("source"),
                "the recording ends with the snapshot taken at its last chunk's end");
        assertEquals(lastSeq, exitSeq, "the exit report names the recording's last snapshot");
        for (String t : Recordings.TIERS) {
            Map<String, Long> line = report.get(t);
            RecordedEvent ev = snaps.get(lastSeq).get(t);
            assertEquals(exitSeq, line.get("seq"), "one census in the exit report");
            assertEquals(line.get("pages_total"), line.get("pages_untouched")
                    + line.get("pages_decommitted") + line.get("pages_empty") + line.get("pages_full")
                    + line.get("pages_partial"), "exit report tier " + t);
            assertEquals(line.get("pages_total"), ev.getLong("pagesTotal"), "pages_total, tier " + t);
            assertEquals(line.get("pages_partial"), ev.getLong("pagesPartial"), "partial, tier " + t);
            assertEquals(line.get("pages_empty"), ev.getLong("pagesEmpty"), "empty, tier " + t);
            assertEquals(line.get("pages_full"), ev.getLong("pagesFull"), "full, tier " + t);
            assertEquals(line.get("pages_decommitted"), ev.getLong("pagesDecommitted"),
                    "decommitted, tier " + t);
            assertEquals(line.get("pages_untouched"), ev.getLong("pagesUntouched"), "untouched, tier " + t);
            assertEquals(line.get("occ_1_25"), ev.getLong(OCC_1_TO_25), "occ_1_25, tier " + t);
            assertEquals(line.get("cand_decommit_pages"), ev.getLong("candDecommitPages"), "cand, tier " + t);
            assertEquals(line.get("live_objects"), ev.getLong("liveObjects"), "live objects, tier " + t);
        }

        // jfr print and jfr summary read the events readably.
        Path jfrTool = javaHome.resolve("bin/jfr");
        ChildProcess print = ChildProcess.run("jfr-print-" + jfr.getFileName(), jfr.getParent(),
                List.of(jfrTool.toString(), "print", "--events", "hz3.TierOccupancy", jfr.toString()),
                Map.of());
        assertEquals(0, print.exit(), print::toString);
        assertTrue(print.out().contains("hz3.TierOccupancy {")
                && print.out().contains("tier = \"small\"")
                && print.out().matches("(?s).*liveBytes = [0-9.]+ (bytes|kB|MB|GB).*")
                && print.out().matches("(?s).*occupancy = [0-9.]+%.*"), print::toString);
        ChildProcess summary = ChildProcess.run("jfr-summary-" + jfr.getFileName(), jfr.getParent(),
                List.of(jfrTool.toString(), "summary", jfr.toString()), Map.of());
        assertEquals(0, summary.exit(), summary::toString);
        for (String type : Recordings.HZ3_TYPES) {
            assertTrue(summary.out().contains(" " + type + " "), () -> type + "\n" + summary);
        }
        return all;
    }
}
