package dev.hz3.agent.core;

import dev.hz3.jfr.SnapshotEvent;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.text.ParseException;
import java.util.HashMap;
import java.util.Map;
import jdk.jfr.Configuration;
import jdk.jfr.Recording;

/**
 * The agent's own recording ({@code record=FILE}): the JDK's settings named by {@code jfc=}
 * with hz3.jfc laid over them, written to FILE when it stops or the JVM exits.
 */
final class OwnRecording {

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
            synchronized (this) {
                own = r;
            }
            r.start();
            Log.info("recording to " + dest + " (settings " + (jfc.equals("none") ? "" : jfc + "+")
                    + "hz3), written when it stops or the JVM exits");
        } catch (IOException | ParseException | RuntimeException e) {
            synchronized (this) {
                own = null;
            }
            Log.error("bad option " + Log.quote("record=" + o.get(Options.Key.RECORD))
                    + ": JFR did not start the recording: " + Log.describe(e));
        }
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
