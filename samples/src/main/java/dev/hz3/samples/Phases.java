package dev.hz3.samples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The phase protocol of the RSS samples: one stdout line per phase boundary,
 *
 * <pre>PHASE work-start t_ms=1764067200123 rss_kb=301244</pre>
 *
 * with the wall clock of {@link System#currentTimeMillis()} (an RSS sampler outside the JVM
 * reads the same clock, {@code CLOCK_REALTIME}) and the process's VmRSS at that moment, so a
 * harness can cut its RSS time series into idle-before, work and idle-after. Names and format
 * are read by {@code bench/jvm/run.sh}: keep in sync.
 */
final class Phases {

    private static final Path STATUS = Path.of("/proc/self/status");

    private Phases() {
    }

    /** Prints {@code PHASE name t_ms=... rss_kb=...} and flushes, so a reader sees it at once. */
    static void mark(String name) {
        long now = System.currentTimeMillis();
        System.out.println("PHASE " + name + " t_ms=" + now + " rss_kb=" + rssKb());
        System.out.flush();
    }

    /** Sleeps {@code seconds} (nothing for 0), between an optional start mark and an end mark. */
    static void idle(double seconds, String startName, String endName) throws InterruptedException {
        if (seconds <= 0) {
            return;
        }
        if (startName != null) {
            mark(startName);
        }
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        for (long left; (left = deadline - System.nanoTime()) > 0; ) {
            TimeUnit.NANOSECONDS.sleep(left);
        }
        if (endName != null) {
            mark(endName);
        }
    }

    /** VmRSS in KiB from /proc/self/status, or -1 where there is none (not Linux). */
    static long rssKb() {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or an odd /proc: the phase line still carries its time.
        }
        return -1;
    }
}
