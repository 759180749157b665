package dev.hz3.jmc.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hz3.jmc.SyntheticRecording;
import dev.hz3.jmc.SyntheticRecording.Tier;

/** bin/hz3-report itself, on the packaged jar and target/lib, as a user runs it. */
class ReportScriptIT {

    static final Path SCRIPT = Path.of("../bin/hz3-report").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) throws Exception {
        Path out = Files.createTempFile("hz3-report", ".out");
        Path err = Files.createTempFile("hz3-report", ".err");
        List<String> cmd = new java.util.ArrayList<>(List.of(SCRIPT.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        try {
            Process p = pb.start();
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "hz3-report finished");
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.delete(out);
            Files.delete(err);
        }
    }

    @Test
    void writesTheReportAndASummary() throws Exception {
        Path rec;
        try (SyntheticRecording r = SyntheticRecording.start(dir)) {
            r.census(Tier.of("small", 10, 3000, 500, 2900));
            rec = r.dump();
        }
        Path html = dir.resolve("out/report.html");
        Result res = run(rec.toString(), html.toString());
        assertEquals(0, res.code(), res.err());
        assertTrue(res.out().contains("WARNING  Native heap fragmentation"), res.out());
        assertTrue(Files.readString(html).contains("hz3-report-data"));
    }

    @Test
    void aForeignFileIsOneLineAndExitOne() throws Exception {
        Path f = dir.resolve("foreign.jfr");
        Files.write(f, new byte[] {'P', 'K', 3, 4, 0, 0, 0, 0});
        Result res = run(f.toString());
        assertEquals(1, res.code(), res.out());
        assertEquals(1, res.err().lines().count(), res.err());
        assertTrue(res.err().startsWith("hz3-report: "), res.err());
    }
}
