package dev.hz3.agent.core.jfr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.hz3.agent.core.nat.Jna;
import dev.hz3.agent.core.nat.Libc;
import dev.hz3.jfr.Hz3Events;
import org.junit.jupiter.api.Test;

/**
 * The direct-mapped mincore (hz3.ProcessMemory's and hz3.Retention's) against libc's mincore
 * called the generic way (Libc.residentPages) over the same quiet range: a block of this test's
 * own, part of it touched.
 */
class MincoreTest {

    private static final long PAGE = Hz3Events.PAGE_SIZE;

    @Test
    void countsWhatLibcsMincoreCounts() {
        Jna.init(null);
        try (Memory m = new Memory(16 << 20)) {
            long start = (Pointer.nativeValue(m) + PAGE - 1) / PAGE * PAGE;
            long pages = (16 << 20) / PAGE - 1;
            for (long p = 0; p < pages; p += 3) {
                m.setByte(start + p * PAGE - Pointer.nativeValue(m), (byte) 1);
            }
            long end = start + pages * PAGE;
            long byLibc = Libc.residentPages(start, end, PAGE) * PAGE;
            Mincore mincore = new Mincore();
            assertEquals(byLibc, mincore.resident(start, end));
            assertEquals(2 * byLibc, mincore.resident(new long[] {start, end, start, end}));
            assertTrue(byLibc >= (pages + 2) / 3 * PAGE, "every third page was touched: " + byLibc);
        }
    }
}
