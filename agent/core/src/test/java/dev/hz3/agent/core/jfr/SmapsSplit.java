package dev.hz3.agent.core.jfr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import dev.hz3.agent.core.Recorder;
import dev.hz3.agent.core.nat.Hz3Lib;
import dev.hz3.agent.core.nat.Jna;
import dev.hz3.agent.core.nat.Libc;
import dev.hz3.agent.core.nat.Malloc;
import dev.hz3.jfr.Hz3Events;
import dev.hz3.jfr.ProcessMemoryEvent;
import java.io.BufferedReader;
import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The tests' reference for hz3.ProcessMemory's Rss split: the kernel's own accounting, each
 * mapping's Rss in /proc/self/smaps, put in the same buckets (a mapping inside the Java heap's
 * range, one holding a thread's stack pointer or named [stack], a file, the rest; hz3's pages
 * counted by mincore over its ranges). The agent no longer reads smaps: this is what its
 * cheaper reading must agree with.
 */
final class SmapsSplit {

    private record Mapping(long start, long end, String path, long rss) {
        boolean contains(long a) {
            return Long.compareUnsigned(start, a) <= 0 && Long.compareUnsigned(a, end) < 0;
        }
    }

    /** Slack per part: what the test JVM's threads may touch between readings, and [vdso]. */
    static final long SLACK = 2 << 20;

    private SmapsSplit() {
    }

    /** Binds hz3 for a test JVM that surefire runs on libhz3.so, as the agent would. */
    static void bindHz3() {
        Jna.init(null);
        assertEquals(Malloc.Hz3Status.ACTIVE, Malloc.detect(Recorder.REQUIRED_HZ3).hz3,
                "this test JVM should run on libhz3.so (surefire's LD_PRELOAD)");
        Hz3Lib.bind();
    }

    /**
     * That part's reading v, taken between two smaps splits, lies within what they said give or
     * take {@link #SLACK}; source names where v came from.
     */
    static void assertBetween(String part, String source, long v, long before, long after) {
        assertTrue(v >= Math.min(before, after) - SLACK && v <= Math.max(before, after) + SLACK,
                () -> part + ": " + v / 1024 + " KiB " + source + ", smaps said " + before / 1024
                        + " KiB before and " + after / 1024 + " KiB after");
    }

    /**
     * Memory the split must place, every page written: 48 MiB through hz3 (JNA's Memory, under
     * hz3's malloc) and a 32 MiB direct buffer, both held until {@link #close()}.
     */
    static final class Touched implements AutoCloseable {
        private final Memory inHz3 = new Memory(48L << 20);
        private final ByteBuffer direct = ByteBuffer.allocateDirect(32 << 20);

        Touched() {
            for (long o = 0; o < inHz3.size(); o += 4096) {
                inHz3.setByte(o, (byte) 1);
            }
            for (int o = 0; o < direct.capacity(); o += 4096) {
                direct.put(o, (byte) 1);
            }
        }

        @Override
        public void close() {
            Reference.reachabilityFence(direct);
            inHz3.close();
        }
    }

    /** The buckets and rss of e from smaps; heap is the Java heap's range or null. */
    static ProcessMemoryEvent read(long[] heap, long[] hz3Ranges) throws IOException {
        ProcessMemoryEvent e = new ProcessMemoryEvent();
        Set<Long> sps = stackPointers();
        for (Mapping m : mappings()) {
            e.rss += m.rss;
            long rss = m.rss;
            if (rss > 0) {
                long inHz3 = residentOverlap(m, hz3Ranges);
                e.hz3 += inHz3;
                rss -= inHz3;
            }
            if (rss == 0) {
                continue;
            }
            if (heap != null && Long.compareUnsigned(heap[0], m.start) <= 0
                    && Long.compareUnsigned(m.end, heap[1]) <= 0) {
                e.javaHeap += rss;
            } else if (m.path.equals("[stack]") || sps.stream().anyMatch(m::contains)) {
                e.threadStacks += rss;
            } else if (m.path.startsWith("/") && !m.path.startsWith("/memfd:")) {
                e.fileMappings += rss;
            } else {
                e.otherMappings += rss;
            }
        }
        return e;
    }

    /** Bytes of /proc/self/smaps' text now. */
    static long textBytes() throws IOException {
        return Files.readAllBytes(Path.of("/proc/self/smaps")).length;
    }

    private static long residentOverlap(Mapping m, long[] ranges) {
        long total = 0;
        for (int i = 0; i + 1 < ranges.length; i += 2) {
            long s = Math.max(m.start, ranges[i]);
            long t = Math.min(m.end, ranges[i + 1]);
            if (s < t) {
                total += Math.max(0, Libc.residentPages(s, t, Hz3Events.PAGE_SIZE)) * Hz3Events.PAGE_SIZE;
            }
        }
        return Math.min(total, m.rss);
    }

    private static List<Mapping> mappings() throws IOException {
        List<Mapping> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(Path.of("/proc/self/smaps"))) {
            long start = 0;
            long end = 0;
            String path = null;
            String line;
            while ((line = r.readLine()) != null) {
                String[] f = line.split("\\s+", 6);
                int dash = f[0].indexOf('-');
                if (dash > 0 && f[0].substring(0, dash).matches("[0-9a-f]+") && f.length >= 5) {
                    start = Long.parseUnsignedLong(f[0].substring(0, dash), 16);
                    end = Long.parseUnsignedLong(f[0].substring(dash + 1), 16);
                    path = f.length == 6 ? f[5].trim() : "";
                } else if (line.startsWith("Rss:") && path != null) {
                    out.add(new Mapping(start, end, path, Long.parseLong(f[1]) * 1024));
                    path = null;
                }
            }
        }
        return out;
    }

    /** Stack pointers of the threads that sit in a system call (/proc/self/task/TID/syscall). */
    private static Set<Long> stackPointers() throws IOException {
        Set<Long> sps = new HashSet<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path t : tasks) {
                try {
                    String[] f = Files.readString(t.resolve("syscall")).trim().split("\\s+");
                    if (f.length >= 3 && f[f.length - 2].startsWith("0x")) {
                        sps.add(Long.parseUnsignedLong(f[f.length - 2].substring(2), 16));
                    }
                } catch (IOException gone) {
                    // the thread ended meanwhile
                }
            }
        }
        return sps;
    }
}
