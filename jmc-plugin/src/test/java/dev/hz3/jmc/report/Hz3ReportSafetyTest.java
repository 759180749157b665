package dev.hz3.jmc.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hz3.jfr.AllocatorInfoEvent;
import dev.hz3.jmc.SyntheticRecording;
import dev.hz3.jmc.SyntheticRecording.Tier;
import dev.hz3.jmc.report.Hz3ReportCliTest.Outcome;

/**
 * What hz3-report writes and prints when its arguments or the recording are hostile: it never
 * writes over its own recording or through a symbolic link, and no control character from the
 * recording reaches the terminal or the page.
 */
class Hz3ReportSafetyTest {

    /** ESC[2J clears the screen, BEL rings, CR rewrites the line, ESC]0; sets the title, CSI (C1). */
    static final String HOSTILE = "\u001b[2J\u0007bad\rline\b\u001b]0;title\u0007\u009b31m\u202eevil";

    @TempDir
    Path dir;

    Path recording() throws Exception {
        try (SyntheticRecording r = SyntheticRecording.start(dir)) {
            r.census(Tier.of("small", 10, 3000, 500, 2900));
            return r.dump();
        }
    }

    static void assertRefusedAndUntouched(Path rec, byte[] before, Outcome o, String mentions) throws Exception {
        assertEquals(2, o.code(), o.toString());
        assertEquals(1, o.err().lines().count(), o.err());
        assertTrue(o.err().startsWith("hz3-report: ") && o.err().contains(mentions), o.err());
        assertEquals("", o.out());
        assertArrayEquals(before, Files.readAllBytes(rec), "the recording is left as it was");
    }

    @Test
    void refusesToWriteTheReportOverItsRecording() throws Exception {
        Path rec = recording();
        byte[] before = Files.readAllBytes(rec);
        assertRefusedAndUntouched(rec, before, Hz3ReportCliTest.run(rec.toString(), rec.toString()), "itself");
        // The same file by another name: ./, a symbolic link, a hard link, the default output.
        Path dotted = dir.resolve(".").resolve(rec.getFileName());
        assertRefusedAndUntouched(rec, before, Hz3ReportCliTest.run(rec.toString(), dotted.toString()), "itself");
        Path symlink = Files.createSymbolicLink(dir.resolve("link.html"), rec);
        assertRefusedAndUntouched(rec, before, Hz3ReportCliTest.run(rec.toString(), symlink.toString()), "itself");
        Path hardlink = Files.createLink(dir.resolve("hard.html"), rec);
        assertRefusedAndUntouched(rec, before, Hz3ReportCliTest.run(rec.toString(), hardlink.toString()), "itself");
        Files.createSymbolicLink(Hz3Report.defaultOutput(rec), rec);
        assertRefusedAndUntouched(rec, before, Hz3ReportCliTest.run(rec.toString()), "itself");
        assertEquals(List.of(), leftovers(), "no temporary file is left");
    }

    @Test
    void neverWritesThroughASymbolicLink() throws Exception {
        Path rec = recording();
        Path victim = Files.writeString(dir.resolve("victim.txt"), "keep me");
        Path link = Files.createSymbolicLink(dir.resolve("out.html"), victim);
        Outcome o = Hz3ReportCliTest.run(rec.toString(), link.toString());
        assertEquals(1, o.code(), o.toString());
        assertTrue(o.err().contains("symbolic link"), o.err());
        assertEquals("keep me", Files.readString(victim));
        assertTrue(Files.isSymbolicLink(link));
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling.html"), dir.resolve("nowhere.html"));
        assertEquals(1, Hz3ReportCliTest.run(rec.toString(), dangling.toString()).code());
        assertFalse(Files.exists(dir.resolve("nowhere.html")));
        assertEquals(List.of(), leftovers());
    }

    @Test
    void replacesAnOlderReportWithoutTruncatingItInPlace() throws Exception {
        Path rec = recording();
        Path html = dir.resolve("r.html");
        Path old = Files.writeString(html, "old report");
        Path otherName = Files.createLink(dir.resolve("old-copy.html"), old);
        Outcome o = Hz3ReportCliTest.run(rec.toString(), html.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(Files.readString(html).contains(HtmlReport.DATA_ID));
        // A file replaced by rename: a second name for the old one still holds the old text.
        assertEquals("old report", Files.readString(otherName));
        assertEquals(List.of(), leftovers());
    }

    @Test
    void noControlCharacterFromTheRecordingReachesTheTerminalOrThePage() throws Exception {
        Path rec;
        try (SyntheticRecording r = SyntheticRecording.start(dir)) {
            AtomicReference<Exception> failed = new AtomicReference<>();
            // Events committed by a thread with a hostile name, with hostile strings in them.
            Thread t = new Thread(() -> {
                try {
                    AllocatorInfoEvent info = new AllocatorInfoEvent();
                    info.malloc = "hz3" + HOSTILE;
                    info.mallocVersion = "0.1" + HOSTILE;
                    info.commit();
                    r.census(Tier.of("small" + HOSTILE, 10, 3000, 500, 2900));
                } catch (RuntimeException e) {
                    failed.set(e);
                }
            }, "worker" + HOSTILE);
            t.start();
            t.join();
            assertEquals(null, failed.get());
            rec = r.dump();
        }
        Path named = Files.move(rec, dir.resolve("rec\u001b[2J.jfr"));
        Path html = dir.resolve("page.html");
        Outcome o = Hz3ReportCliTest.run(named.toString(), html.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("\\x1b[2J"), "shown, escaped: " + o.out());
        assertTrue(o.out().contains("evil") && o.out().contains("\\u202e"), o.out());
        assertNoControlCharacters(o.out().replace("\n", ""), "terminal");
        String page = Files.readString(html, StandardCharsets.UTF_8);
        assertTrue(page.contains("bad"), "the hostile text is on the page, made harmless");
        assertNoControlCharacters(page.replace("\n", "").replace("\t", "").replace("\r", ""), "page");
    }

    static void assertNoControlCharacters(String s, String where) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            assertFalse(c < 0x20 || (c >= 0x7f && c <= 0x9f), where + ": U+" + Integer.toHexString(c) + " at " + i
                    + " in ..." + s.substring(Math.max(0, i - 40), Math.min(s.length(), i + 40)));
        }
    }

    @Test
    void printableEscapesControlAndBidiCharactersAndKeepsTheRest() {
        assertEquals("a\\x1b[2Jb\\x07c\\x0dd\\x08e\\x9b\\u202ef",
                Terminal.printable("a\u001b[2Jb\u0007c\rd\be\u009b\u202ef"));
        assertEquals("plain ütf-8 ✓", Terminal.printable("plain ütf-8 ✓"));
    }

    @Test
    void readingEndsAtTheDeadlineWithOneLine() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        try {
            Hz3Report.Refusal r = assertThrows(Hz3Report.Refusal.class,
                    () -> Hz3Report.withDeadline(Path.of("slow.jfr"), () -> {
                        // Stands for JMC's parser, which does not stop when interrupted.
                        while (true) {
                            try {
                                never.await();
                                return null;
                            } catch (InterruptedException e) {
                                continue;
                            }
                        }
                    }, 1));
            assertEquals(1, r.code);
            assertEquals("slow.jfr: reading it took more than 1 s (a damaged recording, or a very large one: "
                    + "HZ3_REPORT_TIMEOUT=SECONDS allows more)", r.getMessage());
        } finally {
            never.countDown();
        }
    }

    @Test
    void runningOutOfMemoryIsOneLine() {
        Hz3Report.Refusal r = assertThrows(Hz3Report.Refusal.class,
                () -> Hz3Report.withDeadline(Path.of("big.jfr"), () -> {
                    throw new OutOfMemoryError("Java heap space");
                }, 60));
        assertEquals(1, r.code);
        assertTrue(r.getMessage().startsWith("big.jfr: reading it needed more than the report's ")
                && r.getMessage().contains("HZ3_REPORT_HEAP"), r.getMessage());
    }

    @Test
    void theDeadlineGrowsWithTheFile() {
        assertEquals(30, Hz3Report.timeoutSeconds(233_000));
        assertEquals(30 + 512, Hz3Report.timeoutSeconds(512L << 20));
    }

    List<Path> leftovers() throws Exception {
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList();
        }
    }
}
