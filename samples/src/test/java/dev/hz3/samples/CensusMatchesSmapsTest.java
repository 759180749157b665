package dev.hz3.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * hz3's census of a real JVM against the kernel: a JVM with libhz3.so preloaded runs a native
 * workload ({@link CensusVsSmapsApp}), quiesces (its worker threads are joined; no JIT, serial
 * GC, no hz3 timer epochs), then compares census_resident_bytes of an exact census with the Rss
 * of hz3's mappings in its /proc/self/smaps, read right before and after the census with the
 * same result. They must agree within 0.05%: the census counts what smaps counts (segment
 * headers only where hz3 wrote them, never the zero page) and its own reads map no page.
 */
class CensusMatchesSmapsTest {

    private static final Pattern LINE =
            Pattern.compile("^CENSUS resident=(\\d+) rss=(\\d+) attempts=(\\d+) consistent=(\\d)$", Pattern.MULTILINE);

    @Test
    void censusOfAJvmIsTheRssOfHz3sMappings() throws Exception {
        assertTrue(Files.isRegularFile(ChildProcess.LIBHZ3), "build libhz3.so first: make -C native-hz3");
        ChildProcess c = ChildProcess.start("census-vs-smaps", ChildProcess.BASEDIR.resolve("target"), List.of(
                ChildProcess.java(Path.of(System.getProperty("java.home"))),
                "-Xint", "-XX:+UseSerialGC", "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                CensusVsSmapsApp.class.getName()), Map.of("LD_PRELOAD", ChildProcess.LIBHZ3.toString(),
                        "HZ3_EPOCH_INTERVAL_MS", "0",          // no timer epochs,
                        "HZ3_PURGE_DELAY_MS", "3600000"));     // and the census's own epoch purges nothing
        c.closeStdin();
        int exit = c.waitFor(300);
        String text = c.out() + c.err();
        assertEquals(0, exit, text);
        Matcher m = LINE.matcher(text);
        assertTrue(m.find(), "no CENSUS line:\n" + text);
        long resident = Long.parseLong(m.group(1));
        long rss = Long.parseLong(m.group(2));
        double ratio = (double) resident / rss;
        System.out.printf("JVM census resident %d KiB, smaps Rss of hz3's mappings %d KiB (%.5f), %s attempt(s)%n",
                resident >> 10, rss >> 10, ratio, m.group(3));
        assertTrue(rss > 20L << 20, "the workload should leave tens of MiB with hz3: " + rss);
        assertTrue(Math.abs(ratio - 1) <= 0.0005, String.format("census %d vs smaps %d (%.5f)", resident, rss, ratio));
        assertEquals("1", m.group(4), "an exact census of a quiet JVM is consistent");
        ChildTmpFiles.deleteTree(c.dir);
    }
}
