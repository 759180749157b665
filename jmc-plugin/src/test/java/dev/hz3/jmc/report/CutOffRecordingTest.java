package dev.hz3.jmc.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hz3.jmc.SyntheticRecording;
import dev.hz3.jmc.SyntheticRecording.Tier;
import dev.hz3.jmc.report.Hz3ReportCliTest.Outcome;

/**
 * A recording whose last chunk is cut off (copied while the JVM was writing it) is reported from
 * its complete chunks, with one line on stderr and a note on the page saying the last chunk was
 * left out; a recording whose only chunk is cut off is refused.
 */
class CutOffRecordingTest {

    /** Generous for a loaded 2-core machine: a JVM starting and recording a census. */
    static final long BOUND_SECONDS = 60;

    @TempDir
    Path dir;

    /** Where the chunks of a recording start, by the sizes in their headers. */
    static List<Long> chunkStarts(byte[] rec) {
        List<Long> starts = new ArrayList<>();
        for (long at = 0; at < rec.length; at += ByteBuffer.wrap(rec).getLong((int) at + 8)) {
            starts.add(at);
        }
        return starts;
    }

    static byte[] concat(List<byte[]> parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        parts.forEach(b::writeBytes);
        return b.toByteArray();
    }

    /** The summary without its first and last lines, which name the files. */
    static String figures(Outcome o) {
        List<String> lines = o.out().lines().toList();
        return String.join("\n", lines.subList(1, lines.size() - 1));
    }

    static void assertCutOffNote(Outcome o, long from, long at) {
        String line = String.format(Locale.ROOT, "the last chunk, from byte %,d, is cut off at byte %,d", from, at);
        assertEquals(1, o.err().lines().count(), "one line on stderr: " + o.err());
        assertTrue(o.err().startsWith("hz3-report: ") && o.err().contains(line) && o.err().contains("left out"),
                o.err());
    }

    @Test
    void aRecordingCutInItsLastChunkIsReportedFromTheChunksBeforeIt() throws Exception {
        // Two real recordings, the second with a census of other figures: their files joined are
        // one recording, the second's census in its last chunk.
        byte[] first;
        byte[] second;
        try (SyntheticRecording r = SyntheticRecording.start(dir)) {
            r.census(Tier.of("small", 10, 3000, 500, 2900));
            first = Files.readAllBytes(r.dump());
        }
        try (SyntheticRecording r = SyntheticRecording.start(dir)) {
            r.census(Tier.of("small", 20, 7000, 700, 100));
            second = Files.readAllBytes(r.dump());
        }
        byte[] whole = concat(List.of(first, second));
        List<Long> starts = chunkStarts(whole);
        long last = starts.get(starts.size() - 1);
        assertTrue(starts.size() >= 2 && last >= first.length, "the last chunk is the second recording's: " + starts);
        int cut = (int) (last + (whole.length - last) / 2);
        Path rec = Files.write(dir.resolve("cut.jfr"), Arrays.copyOf(whole, cut));
        Path html = dir.resolve("cut.html");

        Outcome o = Hz3ReportCliTest.run(rec.toString(), html.toString());

        assertEquals(0, o.code(), o.err());
        assertCutOffNote(o, last, cut);
        // The figures are those of the complete chunks alone: the first census (3,510 resident
        // pages), not the second (7,720), and the same as a report of the bytes before the last chunk.
        assertTrue(o.out().contains("3,510") && !o.out().contains("7,720"), o.out());
        Path complete = Files.write(dir.resolve("complete.jfr"), Arrays.copyOf(whole, (int) last));
        Outcome c = Hz3ReportCliTest.run(complete.toString(), dir.resolve("complete.html").toString());
        assertEquals(0, c.code(), c.err());
        assertEquals("", c.err());
        assertEquals(figures(c), figures(o));
        String page = Files.readString(html, StandardCharsets.UTF_8);
        int header = page.indexOf("</header>");
        int note = page.indexOf("id=\"hz3-cut\"");
        assertTrue(note > 0 && note < header, "the note is in the page's header");
        assertTrue(page.substring(note, header).contains(String.format(Locale.ROOT, "cut off at byte %,d", cut)),
                page.substring(note, header));
        assertFalse(Files.readString(dir.resolve("complete.html")).contains("hz3-cut"), "no note when all is read");

        // The whole recording is read whole, with no note; its second census shows.
        Path full = Files.write(dir.resolve("full.jfr"), whole);
        Outcome f = Hz3ReportCliTest.run(full.toString(), dir.resolve("full.html").toString());
        assertEquals(0, f.code(), f.err());
        assertEquals("", f.err());
        assertTrue(f.out().contains("7,720"), f.out());
    }

    /**
     * A running JVM's recording so far: the chunks in its disk repository, the finished ones and the
     * one being written (never flushed: flush-interval=1h, so its header still says 68 bytes with
     * no constant pool and no metadata, as JFR writes it when the chunk begins), joined as
     * {@code cat repository/*.jfr} would. The last chunk is left out; the chunk being written alone
     * is a recording whose only chunk is cut off.
     */
    @Test
    void theRecordingSoFarOfARunningJvmIsReported() throws Exception {
        Path repository = dir.resolve("repository");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Djava.io.tmpdir=" + dir,
                "-XX:FlightRecorderOptions:repository=" + repository, "-XX:StartFlightRecording:flush-interval=1h",
                "-cp", System.getProperty("java.class.path"), RunningJvm.class.getName(), dir.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            CompletableFuture<Boolean> ready = CompletableFuture.supplyAsync(() -> {
                try {
                    for (String line; (line = out.readLine()) != null;) {
                        if (line.equals(RunningJvm.READY)) {
                            return true;
                        }
                    }
                    return false;
                } catch (java.io.IOException e) {
                    return false;
                }
            });
            assertTrue(ready.get(BOUND_SECONDS, TimeUnit.SECONDS), "the JVM recorded its census");
            List<byte[]> finished = new ArrayList<>();
            byte[] writing = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_SECONDS);
            // Poll the repository until it holds finished chunks and the one being written.
            while (writing == null || finished.isEmpty()) {
                if (System.nanoTime() > deadline) {
                    fail("no finished chunk and chunk being written in " + repository + " after "
                            + BOUND_SECONDS + " s");
                }
                finished.clear();
                writing = null;
                for (Path chunk : chunkFiles(repository)) {
                    byte[] b = Files.readAllBytes(chunk);
                    if (b.length < ChunkCheck.HEADER_SIZE) {
                        finished.clear();
                        break; // a chunk file JFR has just made: look again
                    } else if (b[64] == 0) {
                        finished.add(b);
                    } else {
                        writing = b;
                    }
                }
                Thread.sleep(20);
            }
            assertEquals(1, writing[64], "the chunk being written was never flushed: generation 1");
            assertEquals(ChunkCheck.HEADER_SIZE, ByteBuffer.wrap(writing).getLong(8), "its size says the header alone");
            List<byte[]> parts = new ArrayList<>(finished);
            parts.add(writing);
            byte[] soFar = concat(parts);
            long complete = soFar.length - writing.length;
            Path rec = Files.write(dir.resolve("so-far.jfr"), soFar);
            Path html = dir.resolve("so-far.html");

            Outcome o = Hz3ReportCliTest.run(rec.toString(), html.toString());

            assertEquals(0, o.code(), o.err());
            assertCutOffNote(o, complete, soFar.length);
            assertTrue(o.err().contains(String.format(Locale.ROOT, "the %d complete chunk", finished.size())), o.err());
            assertTrue(o.out().contains(", 1 hz3 snapshots") && o.out().contains("3,510"), o.out());
            assertTrue(Files.readString(html).contains("id=\"hz3-cut\""));

            Path alone = Files.write(dir.resolve("writing.jfr"), writing);
            Outcome a = Hz3ReportCliTest.run(alone.toString(), dir.resolve("writing.html").toString());
            Hz3ReportCliTest.assertOneLineError(a, "its only chunk is cut off at byte " + String.format(Locale.ROOT,
                    "%,d", writing.length));
            assertFalse(Files.exists(dir.resolve("writing.html")));
        } finally {
            p.getOutputStream().close();
            if (!p.waitFor(BOUND_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            p.waitFor();
        }
    }

    /** The chunk files of the repository (one directory per JVM), in the order JFR names them. */
    static List<Path> chunkFiles(Path repository) throws Exception {
        if (!Files.isDirectory(repository)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(repository)) {
            return s.filter(f -> f.getFileName().toString().endsWith(".jfr") && Files.isRegularFile(f)).sorted()
                    .toList();
        }
    }
}
