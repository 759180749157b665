package dev.hz3.samples.agent;

import static dev.hz3.samples.agent.AgentAttachTest.attach;
import static dev.hz3.samples.agent.AgentPictureTest.assertPictureAfter;
import static dev.hz3.samples.agent.AgentPictureTest.target;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import dev.hz3.samples.ChildProcess;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The agent's continuous recording (record= with maxage= and maxsize=): JFR's repository stays
 * within maxsize however much is recorded; {@code attach PID dump=FILE} and the exit each write
 * a recording that ends with the whole picture; a dump never writes over a file or through a
 * link; bad values are named on one line and the JVM goes on; and the attaches' answers reach
 * the attaching command only, never the application's stderr.
 */
class AgentContinuousTest {

    private static final long MIB = 1 << 20;

    /** JFR's chunk files under the repository, each with its size now (gone ones left out). */
    private static Map<Path, Long> chunks(Path repo) throws IOException {
        Map<Path, Long> sizes = new HashMap<>();
        if (!Files.isDirectory(repo)) {
            return sizes;
        }
        try (Stream<Path> s = Files.walk(repo)) {
            for (Path p : s.filter(f -> f.toString().endsWith(".jfr")).toList()) {
                try {
                    sizes.put(p, Files.size(p));
                } catch (NoSuchFileException e) {
                    // JFR removed it meanwhile: not on disk any more
                }
            }
        } catch (UncheckedIOException e) {
            if (!(e.getCause() instanceof NoSuchFileException)) {
                throw e;
            }
        }
        return sizes;
    }

    /**
     * maxsize=2m with 1 MiB chunks: bursts of known size go into the recording until JFR has
     * dropped at least three chunks and the recording has written three times maxsize. JFR ends
     * the chunk being written once it passes maxchunksize (how far past depends on how fast
     * events come and how soon JFR looks), and when a chunk ends it drops the oldest ended
     * chunks until they hold at most maxsize or one is left. So at every sample of the
     * repository, the ended chunks other than the last one to end (JFR may not have dropped
     * any for it yet) are one chunk, or hold at most maxsize: the repository holds at most
     * maxsize (or one chunk) + the chunk just ended + the chunk being written. Without the
     * bound, ended chunks pile up and this fails once two of them pass maxsize.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void maxsizeBoundsTheRepository(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "continuous-size-" + javaHome.getFileName());
        Path repo = dir.resolve("repo");
        long maxsize = 2 * MIB;
        Map<Path, Long> seen = new HashMap<>();
        long written = 0;
        int dropped = 0;
        int samples = 0;
        try (ChildProcess t = target(javaHome, dir, true,
                "-XX:FlightRecorderOptions:repository=" + repo + ",maxchunksize=1m",
                "-javaagent:" + ChildProcess.AGENT_JAR + "=record=" + dir.resolve("r.jfr") + ",maxsize=2m")) {
            t.awaitErr("^hz3-agent: recording to .*keeps at most 2 MiB in " + repo);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(ChildProcess.TIMEOUT_SECONDS);
            int n = 0;
            while (dropped < 3 || written < 3 * maxsize) {
                if (System.nanoTime() > deadline) {
                    fail("JFR dropped " + dropped + " chunks after " + written + " bytes\n" + t);
                }
                t.send("burst");
                t.awaitOut("^BURST " + ++n + "$");
                TreeMap<Path, Long> now = new TreeMap<>(chunks(repo));   // by name: by start time
                now.forEach((p, size) -> seen.merge(p, size, Math::max));
                written = seen.values().stream().mapToLong(Long::longValue).sum();
                dropped = seen.size() - now.size();
                if (now.size() < 2) {
                    continue;
                }
                samples++;
                List<Long> ended = List.copyOf(now.headMap(now.lastKey()).values());
                List<Long> older = ended.subList(0, ended.size() - 1);
                long olderBytes = older.stream().mapToLong(Long::longValue).sum();
                assertTrue(older.size() <= 1 || olderBytes <= maxsize, () -> older.size()
                        + " ended chunks before the last hold " + olderBytes + " bytes, more than"
                        + " maxsize " + maxsize + "; repository " + now);
            }
            t.closeStdin();
            assertEquals(0, t.waitFor(), t::toString);
        }
        assertTrue(samples > 0, "the repository was sampled with ended chunks in it");
        // The recording written at exit holds what was kept: maxsize and the last chunk at most.
        long exitSize = Files.size(dir.resolve("r.jfr"));
        long largest = seen.values().stream().mapToLong(Long::longValue).max().orElse(0);
        assertTrue(exitSize > 0 && exitSize <= maxsize + 2 * largest,
                () -> "r.jfr is " + exitSize + " bytes; chunks seen " + seen);
    }

    /**
     * attach dump=FILE after a purge: FILE ends with the picture after the purge; the target's
     * stderr has no line of the attaches'; a dump to an existing file or a planted link is
     * refused, and what is there is left as it was; at exit, record='s file ends with the
     * picture after the last purge.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void dumpsOnDemandAndAtExitEndWithThePicture(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "continuous-dump-" + javaHome.getFileName());
        Path atExit = dir.resolve("exit.jfr");
        Path dump = dir.resolve("dump.jfr");
        Path victim = Files.writeString(dir.resolve("victim.txt"), "not the agent's\n");
        Path link = Files.createSymbolicLink(dir.resolve("planted.jfr"), victim);
        Instant purged;
        Instant purgedAgain;
        try (ChildProcess t = target(javaHome, dir, true,
                "-XX:FlightRecorderOptions:repository=" + dir.resolve("repo"),
                "-javaagent:" + ChildProcess.AGENT_JAR + "=record=" + atExit + ",maxage=10m,maxsize=100m")) {
            t.awaitErr("^hz3-agent: recording to .*keeps the last 10m and at most 100 MiB");
            int mark = t.err().length();

            ChildProcess purge = attach(javaHome, dir, t, "purge");
            assertEquals(0, purge.exit(), purge::toString);
            assertTrue(purge.out().contains("hz3-agent: purge: hz3 gave back"), purge::toString);
            purged = Instant.now();
            ChildProcess d = attach(javaHome, dir, t, "dump=" + dump);
            assertEquals(0, d.exit(), d::toString);
            assertTrue(d.out().contains("hz3-agent: dump: the agent's recording (the last 10m and at"
                    + " most 100 MiB) copied to " + dump), d::toString);

            ChildProcess again = attach(javaHome, dir, t, "dump=" + dump);
            assertEquals(2, again.exit(), again::toString);
            assertEquals(List.of("hz3-agent: bad option 'dump=" + dump + "': it exists (a regular"
                    + " file): a dump is written only to a new file"), again.out().lines().toList(),
                    again::toString);
            ChildProcess planted = attach(javaHome, dir, t, "dump=" + link);
            assertEquals(2, planted.exit(), planted::toString);
            assertTrue(planted.out().contains("exists (a symbolic link)"), planted::toString);
            assertEquals("not the agent's\n", Files.readString(victim));

            AgentPictureTest.nothingFromAttaches(t, mark, "attach purge and dump");

            ChildProcess purge2 = attach(javaHome, dir, t, "purge");
            assertEquals(0, purge2.exit(), purge2::toString);
            purgedAgain = Instant.now();
            t.closeStdin();
            assertEquals(0, t.waitFor(), t::toString);
        }
        assertPictureAfter(Recordings.read(dump), purged, true, dump.toString());
        assertPictureAfter(Recordings.read(atExit), purgedAgain, true, atExit.toString());
    }

    /**
     * Bad bounds at start-up: each named on one line, the recording starts with the default
     * bound, the JVM goes on. A dump with no recording of the agent's, or to a directory, is
     * refused with one line; the JVM goes on.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void badValuesAreNamed(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "continuous-bad-" + javaHome.getFileName());
        Path jfr = dir.resolve("r.jfr");
        try (ChildProcess t = target(javaHome, dir, true,
                "-XX:FlightRecorderOptions:repository=" + dir.resolve("repo"),
                "-javaagent:" + ChildProcess.AGENT_JAR + "=record=" + jfr + ",maxsize=lots,maxage=5")) {
            t.awaitErr("^hz3-agent: recording to .*keeps at most 250 MiB");
            assertTrue(t.err().contains("hz3-agent: bad option 'maxsize=lots': expected a byte count"),
                    t::toString);
            assertTrue(t.err().contains("hz3-agent: bad option 'maxage=5': expected a duration"),
                    t::toString);
            AgentAttachTest.stillRuns(t, 1);
            t.closeStdin();
            assertEquals(0, t.waitFor(), t::toString);
        }
        assertTrue(Files.size(jfr) > 0, "the recording was written");

        try (ChildProcess t = target(javaHome, dir, true, "-javaagent:" + ChildProcess.AGENT_JAR)) {
            ChildProcess none = attach(javaHome, dir, t, "dump=" + dir.resolve("d.jfr"));
            assertEquals(1, none.exit(), none::toString);
            assertEquals(List.of("hz3-agent: dump: the agent's recording is not running: start it"
                    + " with record=FILE (e.g. attach PID record=app.jfr,maxage=6h,maxsize=500m)"),
                    none.out().lines().toList(), none::toString);
            assertFalse(Files.exists(dir.resolve("d.jfr")));
            ChildProcess toDir = attach(javaHome, dir, t, "dump=" + dir);
            assertEquals(2, toDir.exit(), toDir::toString);
            assertTrue(toDir.out().contains("is a directory"), toDir::toString);
            ChildProcess badSize = attach(javaHome, dir, t, "maxsize=1k");
            assertEquals(2, badSize.exit(), badSize::toString);
            assertTrue(badSize.out().contains("bad option 'maxsize=1k': expected a byte count 1m..1024g"),
                    badSize::toString);
            AgentAttachTest.stillRuns(t, 1);
            t.closeStdin();
            assertEquals(0, t.waitFor(), t::toString);
        }
    }
}
