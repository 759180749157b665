package dev.hz3.agent.core.jfr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hz3.agent.core.nat.Hz3Lib;
import dev.hz3.jfr.Hz3Events;
import dev.hz3.jfr.ProcessMemoryEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.ToLongFunction;
import jdk.jfr.FlightRecorder;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * hz3.ProcessMemory as a recording gets it, in this test JVM (libhz3.so preloaded, see
 * agent/core/pom.xml): its Rss split agrees with the kernel's per-mapping accounting (smaps,
 * read by the test, {@link SmapsSplit}), and reading it does not read /proc/self/smaps (whose
 * reading is what an idle JVM paid for the event every 10 s).
 */
class ProcessMemorySamplerTest {

    private static final long MIB = 1 << 20;

    @TempDir
    Path tmp;

    @BeforeAll
    static void bind() {
        SmapsSplit.bindHz3();
        FlightRecorder.register(ProcessMemoryEvent.class);
    }

    @Test
    void theRecordedSplitMatchesSmaps() throws Exception {
        SmapsSplit.Touched held = new SmapsSplit.Touched();
        ProcessMemorySampler sampler = new ProcessMemorySampler(true);
        ProcessMemoryEvent before;
        ProcessMemoryEvent after;
        Path file = tmp.resolve("pm.jfr");
        try (Recording r = new Recording()) {
            r.enable(Hz3Events.PROCESS_MEMORY);
            r.start();
            sampler.commit();   // the first pass loads and compiles what the later one uses
            // hz3's ranges read afresh each time: hz3 maps more while JFR's buffers grow.
            before = SmapsSplit.read(sampler.heapRange(), Hz3Lib.mappings());
            sampler.commit();
            after = SmapsSplit.read(sampler.heapRange(), Hz3Lib.mappings());
            r.stop();
            r.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().equals(Hz3Events.PROCESS_MEMORY)).toList();
        assertEquals(2, events.size(), "one event per commit: " + events);
        RecordedEvent pm = events.get(1);
        assertEquals(pm.getLong("rss"), pm.getLong("javaHeap") + pm.getLong("threadStacks")
                + pm.getLong("hz3") + pm.getLong("fileMappings") + pm.getLong("otherMappings"),
                "the parts add up to the Rss");
        assertTrue(pm.getLong("hz3") >= 48 * MIB, "hz3's part holds the 48 MiB touched: " + pm);
        assertTrue(sampler.heapRange() != null, "G1 gives the heap's range");
        for (String part : List.of("rss", "hz3", "javaHeap", "threadStacks", "fileMappings", "otherMappings")) {
            ToLongFunction<ProcessMemoryEvent> f = field(part);
            SmapsSplit.assertBetween(part, "recorded", pm.getLong(part), f.applyAsLong(before), f.applyAsLong(after));
        }
        assertTrue(pm.getInt("threads") > 0);
        assertTrue(pm.getLong("directBuffers") >= 32 * MIB, "the direct buffer: " + pm);
        held.close();
    }

    @Test
    void theRecordedEventDoesNotReadSmaps() throws Exception {
        ProcessMemorySampler sampler = new ProcessMemorySampler(true);
        try (Recording r = new Recording()) {
            r.enable(Hz3Events.PROCESS_MEMORY);
            r.start();
            sampler.commit();   // classes loaded from jars: read once, not measured
            long smaps = SmapsSplit.textBytes();
            long read = bytesReadByThisThread();
            sampler.commit();
            long delta = bytesReadByThisThread() - read;
            // What a reading reads: /proc/self/maps (a line a mapping, where smaps has about 25),
            // statm, each thread's syscall file, the cgroup's files.
            assertTrue(delta < smaps / 2, () -> "one hz3.ProcessMemory read " + delta
                    + " bytes; /proc/self/smaps alone is " + smaps + " bytes");
            r.stop();
        }
    }

    /** rchar of /proc/thread-self/io: the bytes this thread's read calls returned. */
    private static long bytesReadByThisThread() throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/thread-self/io"))) {
            if (l.startsWith("rchar:")) {
                return Long.parseLong(l.substring(6).trim());
            }
        }
        throw new AssertionError("no rchar in /proc/thread-self/io");
    }

    private static ToLongFunction<ProcessMemoryEvent> field(String part) {
        return switch (part) {
            case "rss" -> e -> e.rss;
            case "hz3" -> e -> e.hz3;
            case "javaHeap" -> e -> e.javaHeap;
            case "threadStacks" -> e -> e.threadStacks;
            case "fileMappings" -> e -> e.fileMappings;
            default -> e -> e.otherMappings;
        };
    }
}
