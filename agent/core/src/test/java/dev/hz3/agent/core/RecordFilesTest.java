package dev.hz3.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecordFilesTest {

    @TempDir
    Path dir;

    @Test
    void recordNeedsAFileThatCanBeWritten() throws Exception {
        assertNull(RecordFiles.recordProblem(dir.resolve("a.jfr").toString()));
        Path existing = Files.writeString(dir.resolve("old.jfr"), "x");
        assertNull(RecordFiles.recordProblem(existing.toString()));
        assertEquals("it is on a proc file system, where no recording can be written",
                RecordFiles.recordProblem("/proc/version"));
        assertEquals("it is a character device, not a regular file",
                RecordFiles.recordProblem("/dev/full"));
        assertEquals("it is a directory; name a file in it, e.g. record=" + dir.resolve("app.jfr"),
                RecordFiles.recordProblem(dir.toString()));
        assertEquals("the directory '" + dir.resolve("no") + "' does not exist",
                RecordFiles.recordProblem(dir.resolve("no/x.jfr").toString()));
        assertEquals("'" + existing + "' is a regular file, not a directory",
                RecordFiles.recordProblem(existing.resolve("x.jfr").toString()));
        try (var s = Files.list(dir)) {
            assertEquals(List.of(existing), s.toList(), "the probe file is removed");
        }
    }

    @Test
    void dumpNeedsANewFile() throws Exception {
        assertNull(RecordFiles.dumpProblem(dir.resolve("d.jfr").toString()));
        Path existing = Files.writeString(dir.resolve("old.jfr"), "x");
        assertEquals("it exists (a regular file): a dump is written only to a new file",
                RecordFiles.dumpProblem(existing.toString()));
        Path link = Files.createSymbolicLink(dir.resolve("link.jfr"), dir.resolve("nowhere.jfr"));
        assertEquals("it exists (a symbolic link): a dump is written only to a new file",
                RecordFiles.dumpProblem(link.toString()));
        assertEquals("it is a directory; name a new file in it", RecordFiles.dumpProblem(dir.toString()));
        assertEquals("the directory '" + dir.resolve("no") + "' does not exist",
                RecordFiles.dumpProblem(dir.resolve("no/x.jfr").toString()));
    }

    @Test
    void jfcNeedsJdkSettingsOrAJfrSettingsFile() throws Exception {
        assertNull(RecordFiles.jfcProblem("default"));
        assertNull(RecordFiles.jfcProblem("profile"));
        assertNull(RecordFiles.jfcProblem("none"));
        assertEquals("the JDK has no settings named 'loud'; expected default, profile, none or a .jfc file",
                RecordFiles.jfcProblem("loud"));
        Path missing = dir.resolve("missing.jfc");
        assertEquals("it does not exist", RecordFiles.jfcProblem(missing.toString()));
        Path notXml = Files.writeString(dir.resolve("a.jfc"), "not xml");
        assertEquals("it is not a JFR settings file (not XML: line 1: Content is not allowed in prolog.)",
                RecordFiles.jfcProblem(notXml.toString()));
        Path other = Files.writeString(dir.resolve("b.jfc"), "<foo/>");
        assertEquals("it is not a JFR settings file (its root element is <foo>, not <configuration>)",
                RecordFiles.jfcProblem(other.toString()));
        Path good = Files.writeString(dir.resolve("c.jfc"), Recorder.hz3JfcText());
        assertNull(RecordFiles.jfcProblem(good.toString()));
    }

    @Test
    void badFilesAreRejectedAndKeepTheirDefaults() {
        Options o = RecordFiles.check(Options.parse("top=3,record=/dev/full,jfc=" + dir.resolve("no.jfc")));
        assertEquals(List.of(
                "bad option 'record=/dev/full': it is a character device, not a regular file",
                "bad option 'jfc=" + dir.resolve("no.jfc") + "': it does not exist"), o.errors());
        assertFalse(o.has(Options.Key.RECORD));
        assertEquals("default", o.get(Options.Key.JFC));
        assertEquals(3, o.integer(Options.Key.TOP));
    }
}
