package dev.hz3.jmc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.flightrecorder.JfrLoaderToolkit;

/**
 * Builds the arguments of {@link SiteEventsJvm}, runs it as a child JVM and loads what it
 * recorded: a real recording of site events whose values the test chose.
 */
public final class SiteRecording {

    private final List<String> events = new ArrayList<>();

    /** A site event of this round, without hz3's figures (-1: another malloc than hz3). */
    public SiteRecording site(String site, String kind, long liveBytes, long oldestAgeMillis) {
        return site(site, kind, liveBytes, oldestAgeMillis, -1, -1, -1);
    }

    public SiteRecording site(String site, String kind, long liveBytes, long oldestAgeMillis, long nativeLive,
            long pinnedPages, long pinnedBytes) {
        events.add(String.join("|", site, kind, entry(kind), Long.toString(liveBytes), Long.toString(oldestAgeMillis),
                Long.toString(nativeLive), Long.toString(pinnedPages), Long.toString(pinnedBytes)));
        return this;
    }

    public SiteRecording sample(String site, String kind, long size, long weight) {
        return sample(site, kind, size, weight, "agent");
    }

    /** A sample of the given source: "agent" (what Java saw) or "hz3" (a malloc inside the call). */
    public SiteRecording sample(String site, String kind, long size, long weight, String source) {
        events.add(String.join("|", "sample", site, kind, Long.toString(size), Long.toString(weight), source));
        return this;
    }

    /** Ends a round: the next site event is rank 1 of the next round. */
    public SiteRecording endRound() {
        events.add("--");
        return this;
    }

    static String entry(String kind) {
        return switch (kind) {
            case "deflater" -> "java.util.zip.Deflater.<init>";
            case "direct buffer" -> "java.nio.ByteBuffer.allocateDirect";
            default -> "sun.misc.Unsafe.allocateMemory";
        };
    }

    /** Runs the child JVM, recording into jfr; returns jfr. */
    public Path record(Path jfr) throws Exception {
        Path dir = jfr.toAbsolutePath().getParent();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.io.tmpdir=" + dir, "-cp", System.getProperty("java.class.path"),
                SiteEventsJvm.class.getName(), jfr.toString()));
        cmd.addAll(events);
        Path err = dir.resolve(jfr.getFileName() + ".err");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(err.toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "SiteEventsJvm did not finish in 60 s");
        String out = Files.readString(err);
        Files.delete(err);
        assertEquals(0, p.exitValue(), out);
        return jfr;
    }

    /** Records into a temporary file, loads it and deletes it. */
    public IItemCollection load() throws Exception {
        Path dir = Files.createTempDirectory("hz3-sites");
        Path jfr = record(dir.resolve("sites.jfr"));
        try {
            return JfrLoaderToolkit.loadEvents(new File(jfr.toString()));
        } finally {
            Files.delete(jfr);
            Files.delete(dir);
        }
    }
}
