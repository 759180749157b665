package dev.hz3.jmc.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hz3.jmc.SyntheticRecording;
import dev.hz3.jmc.SyntheticRecording.Tier;
import jdk.jfr.Recording;

/** hz3-report's command line: exit codes, one-line errors, the default output file. */
class Hz3ReportCliTest {

    @TempDir
    Path dir;

    record Outcome(int code, String out, String err) {
    }

    static Outcome run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Hz3Report.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static void assertOneLineError(Outcome o, String mentions) {
        assertEquals(1, o.code(), o.toString());
        assertEquals(1, o.err().lines().count(), "one line: " + o.err());
        assertTrue(o.err().startsWith("hz3-report: ") && o.err().contains(mentions), o.err());
        assertFalse(o.err().contains("\tat ") || o.err().contains("Exception in"), o.err());
    }

    Path recording() throws Exception {
        try (SyntheticRecording r = SyntheticRecording.start(dir)) {
            r.census(Tier.of("small", 10, 3000, 500, 2900));
            r.processMemory(200 << 20, 50 << 20, 1 << 20, 80 << 20, 30 << 20);
            return r.dump();
        }
    }

    @Test
    void writesTheReportBesideTheRecording() throws Exception {
        Path rec = recording();
        Outcome o = run(rec.toString());
        assertEquals(0, o.code(), o.err());
        Path html = Hz3Report.defaultOutput(rec);
        assertTrue(html.getFileName().toString().endsWith(".html") && Files.size(html) > 10_000);
        assertTrue(o.out().contains("Native heap fragmentation") && o.out().contains("small"), o.out());
        assertEquals("", o.err());
    }

    /*
     * A consistent census, then a later sweep taken while pages changed hands that claims far
     * more partial pages: the report's tables show the consistent one (by most partial pages
     * alone they would show the other), and its header says one snapshot was set aside.
     */
    @Test
    void theTablesShowTheConsistentCensusAndSayWhatWasSetAside() throws Exception {
        Path rec;
        long quiet;
        long mixed;
        try (SyntheticRecording r = SyntheticRecording.start(dir)) {
            quiet = r.census(Tier.of("small", 0, 410, 3686, 0));
            mixed = r.consistent(false).census(Tier.of("small", 0, 3072, 1024, 3072));
            rec = r.dump();
        }
        Outcome o = run(rec.toString(), dir.resolve("c.html").toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("2 hz3 snapshots (1 inconsistent set aside)"), o.out());
        assertTrue(o.out().contains("snapshot " + quiet + " ") && !o.out().contains("snapshot " + mixed + " "),
                o.out());
        assertTrue(Files.readString(dir.resolve("c.html")).contains("(1 inconsistent set aside)"));
    }

    @Test
    void aForeignFileIsOneLine() throws Exception {
        Path f = dir.resolve("notes.jfr");
        Files.writeString(f, "this is not a flight recording\n".repeat(100));
        assertOneLineError(run(f.toString(), dir.resolve("x.html").toString()), "notes.jfr");
        assertFalse(Files.exists(dir.resolve("x.html")));
    }

    @Test
    void aTruncatedRecordingIsOneLine() throws Exception {
        Path rec = recording();
        byte[] all = Files.readAllBytes(rec);
        Path cut = dir.resolve("cut.jfr");
        Files.write(cut, Arrays.copyOf(all, all.length / 2));
        assertOneLineError(run(cut.toString(), dir.resolve("cut.html").toString()), "cut.jfr");
        Path header = dir.resolve("header.jfr");
        Files.write(header, Arrays.copyOf(all, 40));
        assertOneLineError(run(header.toString()), "header.jfr");
    }

    @Test
    void anEmptyOrMissingFileIsOneLine() throws Exception {
        Path empty = Files.createFile(dir.resolve("empty.jfr"));
        assertOneLineError(run(empty.toString()), "empty.jfr");
        assertOneLineError(run(dir.resolve("missing.jfr").toString()), "no such file");
    }

    @Test
    void aRecordingWithoutHz3EventsStillGetsAReport() throws Exception {
        Path rec = dir.resolve("plain.jfr");
        try (Recording r = new Recording()) {
            r.enable("jdk.JVMInformation");
            r.start();
            r.stop();
            r.dump(rec);
        }
        Outcome o = run(rec.toString(), dir.resolve("plain.html").toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("N/A"), o.out());
        assertTrue(o.out().contains("JDK "), "JVM version from jdk.JVMInformation: " + o.out());
    }

    @Test
    void badArgumentsPrintTheUsage() {
        Outcome o = run();
        assertEquals(2, o.code());
        assertTrue(o.err().contains("usage: hz3-report"));
        assertEquals(2, run("a.jfr", "b.html", "c").code());
        assertEquals(0, run("--help").code());
    }
}
