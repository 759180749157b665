package dev.hz3.jmc.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * hz3-report on damaged and hostile recordings: mutants of a real recording, each read by the
 * report's main in its own JVM with the heap bin/hz3-report gives it, must end within a bound with
 * exit status 0 or 1 and at most one line on stderr.
 *
 * <p>The recording is fragment-jdk17.jfr.gz (233 KB unpacked), made on JDK 17.0.15 by the
 * project's Fragment sample with the agent: {@code bin/hz3-java -Xmx128m
 * -XX:StartFlightRecording:filename=fragment.jfr,settings=agent/target/hz3.jfc -cp
 * samples/target/classes dev.hz3.samples.Fragment --seconds 2}. One chunk: checkpoints at byte 68
 * and 7,408, a metadata event at 8,131, a checkpoint at 114,431, the metadata the header names at
 * 114,526, then the hz3 events and their checkpoints from 227,913 to the end (232,899).
 *
 * <p>The mutants are fixed (seeded), so a failure names one that can be made again.
 */
class HostileRecordingTest {

    static final Path SCRIPT = Path.of("../bin/hz3-report").toAbsolutePath().normalize();

    /** Generous for a loaded 2-core machine: the report's own deadline for this file is 30 s. */
    static final long BOUND_SECONDS = 90;

    @TempDir
    static Path dir;

    static byte[] recording;
    static String heap;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = new GZIPInputStream(
                HostileRecordingTest.class.getResourceAsStream("fragment-jdk17.jfr.gz"))) {
            recording = in.readAllBytes();
        }
        assertEquals(232_899, recording.length);
        // The heap the script starts the report's JVM with: heap="${HZ3_REPORT_HEAP:-1g}".
        Matcher m = Pattern.compile("HZ3_REPORT_HEAP:-([0-9]+[kKmMgG]?)\\}").matcher(Files.readString(SCRIPT));
        assertTrue(m.find(), "bin/hz3-report names its default heap");
        heap = m.group(1);
    }

    /** A mutant and its exit status: 0 or 1 when both are right (exit is null), else the one. */
    record Mutant(String name, byte[] bytes, Integer exit) {

        Mutant(String name, byte[] bytes) {
            this(name, bytes, null);
        }
    }

    @TestFactory
    Stream<DynamicTest> everyMutantEndsInBoundedTimeWithAtMostOneLine() {
        return mutants().stream().map(mu -> DynamicTest.dynamicTest(mu.name(), () -> check(mu)));
    }

    /** The unchanged recording still gets its report. */
    @TestFactory
    Stream<DynamicTest> theRecordingItselfIsRead() {
        return Stream.of(DynamicTest.dynamicTest("original", () -> {
            Result r = report("original", recording);
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().contains("hz3 snapshots") && r.out().contains("report: "), r.out());
        }));
    }

    static void check(Mutant mu) throws Exception {
        Result r = report(mu.name(), mu.bytes());
        assertTrue(r.code() == 0 || r.code() == 1, mu.name() + ": exit " + r.code() + ", " + r.err());
        List<String> lines = r.err().lines().toList();
        assertTrue(lines.size() <= 1, mu.name() + ": at most one line on stderr: " + r.err());
        if (r.code() == 1) {
            assertEquals(1, lines.size(), mu.name() + ": says why: " + r.out());
            assertTrue(lines.get(0).startsWith("hz3-report: "), lines.get(0));
        }
        if (mu.exit() != null) {
            assertEquals(mu.exit(), r.code(), mu.name() + ": " + r.err());
        }
        if (mu.exit() != null && mu.exit() == 0 && mu.bytes().length > recording.length) {
            // A last chunk cut off after the recording's chunk: reported from that one, and said.
            assertEquals(1, lines.size(), mu.name() + ": " + r.err());
            assertTrue(lines.get(0).contains(String.format(java.util.Locale.ROOT,
                    "the last chunk, from byte %,d, is cut off at byte %,d", recording.length, mu.bytes().length))
                    && lines.get(0).contains("left out"), lines.get(0));
        }
    }

    record Result(int code, String out, String err) {
    }

    /** Runs Hz3Report.main on bytes in a JVM of its own, as bin/hz3-report does (same heap). */
    static Result report(String name, byte[] bytes) throws Exception {
        Path rec = dir.resolve(name + ".jfr");
        Path html = dir.resolve(name + ".html");
        Path out = dir.resolve(name + ".out");
        Path err = dir.resolve(name + ".err");
        Files.write(rec, bytes);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"),
                "-Xmx" + heap, "-cp", System.getProperty("java.class.path"),
                Hz3Report.class.getName(), rec.toString(), html.toString())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("HZ3_REPORT_TIMEOUT");
        pb.environment().remove("HZ3_REPORT_DEBUG");
        Process p = pb.start();
        try {
            if (!p.waitFor(BOUND_SECONDS, TimeUnit.SECONDS)) {
                fail(name + ": still running after " + BOUND_SECONDS + " s");
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly().waitFor();
            for (Path f : List.of(rec, html, out, err)) {
                Files.deleteIfExists(f);
            }
        }
    }

    static List<Mutant> mutants() {
        List<Mutant> all = new ArrayList<>();
        int n = recording.length;
        // The issue's kind: 11 bytes set to 0xff, anywhere (mostly metadata, by size) ...
        Random random = new Random(9);
        for (int i = 0; i < 4; i++) {
            all.add(ff("ff11-anywhere-" + i, random, 0, n));
        }
        // ... and among the events and constant pools, before the first metadata and after the last.
        for (int i = 0; i < 4; i++) {
            all.add(ff("ff11-early-" + i, random, 68, 8_131));
            all.add(ff("ff11-late-" + i, random, 227_913, n));
        }
        // Truncations. The recording's only chunk cut off: refused (exit 1), there is nothing
        // complete to report. A second chunk (the recording again) cut off anywhere, in its
        // header, after it, in its events, one byte short: the report of the first (exit 0), with
        // one line saying the last chunk was left out.
        for (int cut : new int[] {0, 40, 68, 8_131, n / 2, n - 1}) {
            all.add(new Mutant("truncated-" + cut, Arrays.copyOf(recording, cut), 1));
        }
        byte[] twice = concat(recording, recording);
        for (int cut : new int[] {1, 6, 40, 68, 8_131, n / 2, n - 1}) {
            all.add(new Mutant("two-chunks-second-truncated-" + cut, Arrays.copyOf(twice, n + cut), 0));
        }
        // A chunk being written, as JDK 17 and 25 write it: byte 64 of the header a generation (1
        // when the chunk begins, 0 once finished), the size 68 and no constant pool or metadata
        // until the first flush, while the file already holds the metadata event. After the
        // recording's chunk it is left out (exit 0); alone it is refused (exit 1).
        byte[] begun = Arrays.copyOf(recording, 8_131);
        ByteBuffer.wrap(begun).putLong(8, 68).putLong(16, 0).putLong(24, 0).put(64, (byte) 1);
        all.add(new Mutant("second-chunk-being-written", concat(recording, begun), 0));
        all.add(new Mutant("only-chunk-being-written", begun, 1));
        // Flushed (generation 2, sound up to its size), then events written since the flush: the
        // same.
        byte[] flushed = recording.clone();
        flushed[64] = 2;
        byte[] tail = Arrays.copyOfRange(recording, 227_913, 229_000);
        all.add(new Mutant("second-chunk-flushed-then-written", concat(recording, concat(flushed, tail)), 0));
        all.add(new Mutant("only-chunk-flushed-then-written", concat(flushed, tail), 1));
        // Not a cut: bytes that are no chunk header after the chunk, and a header whose size no
        // chunk has (more than 2 GiB): refused as before.
        all.add(new Mutant("appended-garbage",
                concat(recording, "FLR\0 and then nothing".getBytes(StandardCharsets.ISO_8859_1)), 1));
        all.add(new Mutant("two-chunks-second-damaged", concat(recording, header(Long.MAX_VALUE, 8, 16)), 1));
        // Damage inside a complete chunk that is not the last: refused, whatever follows.
        byte[] damagedFirst = recording.clone();
        ByteBuffer.wrap(damagedFirst).putLong(16, 0x00ff_0000_0000_0000L);
        all.add(new Mutant("first-of-two-damaged-second-truncated",
                concat(damagedFirst, Arrays.copyOf(recording, n / 2)), 1));
        // A damaged chunk whose header says it is being written, a sound one after it: damage.
        byte[] damagedWriting = damagedFirst.clone();
        damagedWriting[64] = 2;
        all.add(new Mutant("middle-of-three-damaged-being-written",
                concat(recording, concat(damagedWriting, recording)), 1));
        // Header fields (chunk size at 8, constant pool offset at 16, metadata offset at 24).
        all.add(field("chunk-size-huge", 8, Long.MAX_VALUE));
        all.add(field("chunk-size-negative", 8, -1));
        all.add(field("chunk-size-tiny", 8, 68));
        all.add(field("constant-pool-offset-huge", 16, 0x00ff_0000_0000_0000L));
        all.add(field("constant-pool-offset-metadata", 16, 114_526));
        all.add(field("metadata-offset-huge", 24, 0x00ff_0000_0000_0000L));
        all.add(field("metadata-offset-checkpoint", 24, 68));
        all.add(field("ticks-per-second-zero", 56, 0));
        all.add(ffAt("version-ff", 4, 5, 6, 7));
        // The first checkpoint's pool count (byte 81: 19 pools) and the first pool's constant
        // count (byte 84) set huge, the bytes after them too.
        all.add(ffAt("constant-pool-count-huge", 81, 82, 83, 84));
        all.add(ffAt("constant-count-huge", 84, 85, 86, 87));
        // The metadata's string count (bytes 114,538-9, 2,255 strings) set huge.
        all.add(ffAt("metadata-string-count-huge", 114_538, 114_539, 114_540, 114_541));
        all.add(ffAt("metadata-string-count-1g", 114_538, 114_539, 114_540));
        // A checkpoint's delta to the one before it (byte 114,442) off by 14 bytes, and the
        // first checkpoint's delta (0: "no earlier one") made to point forwards.
        all.add(ffAt("checkpoint-delta-damaged", 114_442));
        all.add(ffAt("first-checkpoint-delta-forward", 79));
        return all;
    }

    /** The runaways are refused before the parser runs: by the chunk check, naming the event. */
    @TestFactory
    Stream<DynamicTest> runawaysAreRefusedBeforeParsing() {
        return regressions().stream().map(mu -> DynamicTest.dynamicTest(mu.name(), () -> {
            Result r = report(mu.name(), mu.bytes());
            assertEquals(1, r.code(), r.err());
            String at = mu.name().substring(mu.name().lastIndexOf('-') + 1);
            String byteAt = at.substring(0, 3) + "," + at.substring(3);
            assertTrue(r.err().matches("hz3-report: .*: not a JFR recording that can be read \\(the event at byte "
                    + byteAt + " of the chunk has size [0-9,]+, outside the chunk\\)\\R"), r.err());
        }));
    }

    /**
     * Mutants that made the report run without end and grow before the fix (issue 9): five bytes
     * set to 0xff from the start of an hz3 event (its size, type and start time) make JMC's parser
     * read that event's size as -1 and its loop over the events go back a byte at a time and round
     * again, keeping every event it reads. With the JVM's default heap the report ran past 45 s
     * and 2.7 GB before it was stopped. Found by simulating the parser's event loop over runs of
     * 0xff bytes at every event of this recording; the events at 228,204 and 229,614 are hz3's.
     */
    static List<Mutant> regressions() {
        return List.of(ffAt("runaway-event-size-228204", 228_204, 228_205, 228_206, 228_207, 228_208),
                ffAt("runaway-event-size-229614", 229_614, 229_615, 229_616, 229_617, 229_618));
    }

    static Mutant ff(String name, Random random, int from, int to) {
        byte[] b = recording.clone();
        for (int i = 0; i < 11; i++) {
            b[from + random.nextInt(to - from)] = (byte) 0xff;
        }
        return new Mutant(name, b);
    }

    static Mutant ffAt(String name, int... at) {
        byte[] b = recording.clone();
        for (int i : at) {
            b[i] = (byte) 0xff;
        }
        return new Mutant(name, b);
    }

    static Mutant field(String name, int at, long value) {
        byte[] b = recording.clone();
        ByteBuffer.wrap(b).putLong(at, value);
        return new Mutant(name, b);
    }

    /** A chunk header with these sizes, then nothing. */
    static byte[] header(long size, long cp, long meta) {
        ByteBuffer b = ByteBuffer.allocate(ChunkCheck.HEADER_SIZE);
        b.put("FLR\0".getBytes(StandardCharsets.ISO_8859_1)).putShort((short) 2).putShort((short) 1);
        b.putLong(size).putLong(cp).putLong(meta).putLong(0).putLong(0).putLong(0).putLong(1_000_000_000L).putInt(3);
        return b.array();
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
