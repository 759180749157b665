package dev.hz3.agent.core;

import dev.hz3.jfr.SnapshotEvent;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import jdk.jfr.Configuration;
import jdk.jfr.Recording;

/**
 * The agent's own recording ({@code record=FILE}): the JDK's settings named by {@code jfc=}
 * with hz3.jfc laid over them, written to FILE when it stops or the JVM exits.
 *
 * <p>It is a continuous recording: JFR keeps it in chunks in its disk repository and drops the
 * oldest chunks beyond {@code maxage=} and {@code maxsize=} (the names and meaning of
 * -XX:StartFlightRecording's), so a JVM can run with it for weeks. With neither given it keeps
 * at most {@value #DEFAULT_MAXSIZE_TEXT}. {@code attach PID dump=FILE} copies what it holds now
 * into a new file; like the write at stop or exit, a dump ends a chunk, so JFR's end-of-chunk
 * hook puts the whole picture (a census, hz3.ProcessMemory, hz3.AllocatorInfo) at its end.
 */
final class OwnRecording {

    /** The bound of a record= given neither maxage= nor maxsize=. */
    static final String DEFAULT_MAXSIZE_TEXT = "250m";

    private Recording own;

    /** Whether it is running. */
    synchronized boolean running() {
        return own != null;
    }

    synchronized Path destination() {
        return own == null ? null : own.getDestination();
    }

    void start(Options o) {
        synchronized (this) {
            if (own != null) {
                Log.info("the agent's recording is already running (" + own.getDestination() + ")");
                return;
            }
        }
        Path dest = Path.of(o.get(Options.Key.RECORD)).toAbsolutePath();
        try {
            Map<String, String> settings = new HashMap<>();
            String jfc = o.get(Options.Key.JFC);
            if (!jfc.equals("none")) {
                settings.putAll(RecordFiles.jfc(jfc).getSettings());
            }
            settings.putAll(hz3Configuration().getSettings());
            Recording r = new Recording(settings);
            r.setName("hz3-agent");
            r.setToDisk(true);
            r.setDestination(dest);
            r.setDumpOnExit(true);
            boolean bounded = o.has(Options.Key.MAXAGE) || o.has(Options.Key.MAXSIZE);
            bound(r, bounded ? o : Options.parse(Options.Key.MAXSIZE.key + "=" + DEFAULT_MAXSIZE_TEXT));
            synchronized (this) {
                own = r;
            }
            r.start();
            Log.info("recording to " + dest + " (settings " + (jfc.equals("none") ? "" : jfc + "+")
                    + "hz3; keeps " + bounds(r) + " in " + repository() + "), written when it stops"
                    + " or the JVM exits, and copied by attach PID dump=FILE");
        } catch (IOException | ParseException | RuntimeException e) {
            synchronized (this) {
                own = null;
            }
            Log.error("bad option " + Log.quote("record=" + o.get(Options.Key.RECORD))
                    + ": JFR did not start the recording: " + Log.describe(e));
        }
    }

    /** Sets the recording's bounds that o gives (maxage=, maxsize=). */
    private static void bound(Recording r, Options o) {
        if (o.has(Options.Key.MAXAGE)) {
            r.setMaxAge(Duration.ofSeconds(Options.ageSeconds(o.get(Options.Key.MAXAGE))));
        }
        if (o.has(Options.Key.MAXSIZE)) {
            r.setMaxSize(o.bytes(Options.Key.MAXSIZE));
        }
    }

    /** "the last 6h and at most 100 MiB", as set. */
    private static String bounds(Recording r) {
        Duration age = r.getMaxAge();
        long size = r.getMaxSize();
        String a = age == null || age.isZero() ? "" : "the last " + age.toString().substring(2).toLowerCase();
        String s = size <= 0 ? "" : "at most " + (size >> 20) + " MiB";
        return a.isEmpty() && s.isEmpty() ? "everything" : a + (a.isEmpty() || s.isEmpty() ? "" : " and ") + s;
    }

    /** JFR's disk repository, where the recording's chunks are (its own system property). */
    static String repository() {
        String p = System.getProperty("jdk.jfr.repository");
        return p == null ? "JFR's repository" : p;
    }

    /**
     * An attach with maxage= or maxsize= but no record=: new bounds for the recording running;
     * said when there is none to bound.
     */
    void rebound(Options newer) {
        if (!newer.has(Options.Key.MAXAGE) && !newer.has(Options.Key.MAXSIZE)) {
            return;
        }
        synchronized (this) {
            if (own != null) {
                bound(own, newer);
                Log.info("the agent's recording now keeps " + bounds(own));
                return;
            }
        }
        if (!newer.has(Options.Key.RECORD)) {
            Log.warn("maxage= and maxsize= bound the agent's recording, and none is running:"
                    + " give record=FILE too");
        }
    }

    /**
     * attach PID dump=FILE: what the recording holds now, into FILE, a new file (an existing
     * one, or a link, is never written through). JFR writes the copy into a file of ours beside
     * it, created exclusively; a hard link then names it FILE, which fails if FILE appeared
     * meanwhile. Returns the attach exit code.
     */
    int dump(String value) {
        Recording r;
        synchronized (this) {
            r = own;
        }
        if (r == null) {
            Log.error("dump: the agent's recording is not running: start it with record=FILE"
                    + " (e.g. attach PID record=app.jfr,maxage=6h,maxsize=500m)");
            return 1;
        }
        Path dest = RecordFiles.absolute(value);   // checked by RecordFiles.check
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dest.getParent(), ".hz3-dump-", ".jfr");
            r.dump(tmp);
            try {
                Files.createLink(dest, tmp);
            } catch (FileAlreadyExistsException e) {
                throw e;
            } catch (IOException | UnsupportedOperationException e) {
                Files.move(tmp, dest);   // no hard links here: a rename that refuses an existing name
            }
        } catch (FileAlreadyExistsException e) {
            Log.error("dump: " + dest + " appeared meanwhile; not replaced");
            return 1;
        } catch (IOException | RuntimeException e) {
            Log.error("dump: not written to " + dest + ": " + Log.describe(e));
            return 1;
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException e) {
                    Log.debug("dump: " + Log.describe(e));
                }
            }
        }
        String problem = RecordFiles.writtenProblem(dest);
        if (problem != null) {
            Log.error("dump: not written to " + dest + ": " + problem);
            return 1;
        }
        try {
            Log.info("dump: the agent's recording (" + bounds(r) + ") copied to " + dest + " ("
                    + (Files.size(dest) >> 10) + " KiB); it goes on");
        } catch (IOException e) {
            Log.info("dump: the agent's recording copied to " + dest + "; it goes on");
        }
        return 0;
    }

    /** Takes the recording out of this holder, for {@link #stop}; null when none runs. */
    synchronized Recording take() {
        Recording r = own;
        own = null;
        return r;
    }

    /**
     * Stops the agent's recording, which JFR writes to its destination now; says "written"
     * only when the file is there with some bytes (JFR does not say when writing failed).
     * Returns the attach exit code: 0, or 1 when it was not written.
     */
    static int stop(Recording r) {
        Path dest = r.getDestination();
        try {
            r.stop();
            r.close();
        } catch (RuntimeException e) {
            Log.error("recording not written to " + dest + ": " + Log.describe(e));
            return 1;
        }
        String problem = RecordFiles.writtenProblem(dest);
        if (problem != null) {
            Log.error("recording not written to " + dest + ": " + problem);
            return 1;
        }
        Log.info("recording written to " + dest);
        return 0;
    }

    /** hz3.jfc from the events jar. */
    static Configuration hz3Configuration() throws IOException, ParseException {
        try (Reader r = new InputStreamReader(
                SnapshotEvent.class.getResourceAsStream("hz3.jfc"), StandardCharsets.UTF_8)) {
            return Configuration.create(r);
        }
    }

    /** hz3.jfc's text. */
    static String hz3JfcText() throws IOException {
        try (var in = SnapshotEvent.class.getResourceAsStream("hz3.jfc")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
