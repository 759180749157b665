package dev.hz3.agent.core.jfr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hz3.agent.core.nat.Hz3Lib;
import dev.hz3.jfr.ProcessMemoryEvent;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The metrics endpoint's reading of the Rss split (/proc/self/maps, statm, mincore) against
 * the kernel's per-mapping accounting (/proc/self/smaps, {@link SmapsSplit}) in this test JVM,
 * which runs on the preloaded libhz3.so (agent/core/pom.xml): with 48 MiB touched in hz3 (malloc'd by JNA's Memory) and 32 MiB in a
 * direct buffer, each part of a cheap sample lies between two smaps readings taken around it,
 * give or take a small slack (the JVM's own threads move a little memory meanwhile).
 */
class ResidentByMapsTest {

    private static final long MIB = 1 << 20;

    @BeforeAll
    static void bind() {
        SmapsSplit.bindHz3();
    }

    @Test
    void partsMatchSmapsAndAddUpToTheRss() throws Exception {
        SmapsSplit.Touched held = new SmapsSplit.Touched();
        ProcessMemorySampler sampler = new ProcessMemorySampler(true);
        sampler.sample();   // the first pass loads and compiles what the later ones use
        ProcessMemoryEvent before = SmapsSplit.read(sampler.heapRange(), Hz3Lib.mappings());
        ProcessMemoryEvent cheap = sampler.sample();
        ProcessMemoryEvent after = SmapsSplit.read(sampler.heapRange(), Hz3Lib.mappings());

        assertEquals(cheap.rss, cheap.javaHeap + cheap.threadStacks + cheap.hz3 + cheap.fileMappings
                + cheap.otherMappings, "the parts add up to the Rss");
        assertTrue(cheap.hz3 >= 48 * MIB, "hz3's part holds the 48 MiB touched: " + cheap.hz3);
        assertBetween("rss", e -> e.rss, before, cheap, after);
        assertBetween("hz3", e -> e.hz3, before, cheap, after);
        assertBetween("javaHeap", e -> e.javaHeap, before, cheap, after);
        assertBetween("threadStacks", e -> e.threadStacks, before, cheap, after);
        assertBetween("fileMappings", e -> e.fileMappings, before, cheap, after);
        assertBetween("otherMappings", e -> e.otherMappings, before, cheap, after);
        assertTrue(cheap.threads > 0);
        assertTrue(cheap.directBuffers >= 32 * MIB, "the direct buffer: " + cheap.directBuffers);
        held.close();
    }

    private static void assertBetween(String part, ToLongFunction<ProcessMemoryEvent> f,
            ProcessMemoryEvent before, ProcessMemoryEvent cheap, ProcessMemoryEvent after) {
        SmapsSplit.assertBetween(part, "from maps+mincore", f.applyAsLong(cheap), f.applyAsLong(before),
                f.applyAsLong(after));
    }
}
