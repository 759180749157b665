package dev.hz3.agent.core.nat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import com.sun.jna.Structure;
import java.lang.reflect.Field;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * StructReader gives what JNA's Structure.read() gives, field for field, for a real census from
 * the preloaded libhz3.so and for memory where every byte differs (so that a field read at a
 * wrong offset or width cannot match by chance).
 */
class StructReaderTest {

    @BeforeAll
    static void bind() {
        Jna.init(null);
    }

    @Test
    void snapshotOfDistinctBytesReadsAsJnaReadsIt() {
        Memory m = pattern(new Hz3Structs.Snapshot().size());
        assertSame(new Hz3Structs.Snapshot(m), StructReader.snapshot(m), "snapshot");
    }

    /** The listener fills one Snapshot again for each census, from a copy of hz3's bytes. */
    @Test
    void aSnapshotFilledAgainFromCopiedBytesReadsAsJnaReadsIt() {
        int size = new Hz3Structs.Snapshot().size();
        Memory first = pattern(size, 3);
        Memory second = pattern(size, 7);
        Hz3Structs.Snapshot reused = StructReader.read(new Hz3Structs.Snapshot(),
                StructReader.bytes(new Hz3Structs.Snapshot(), first));
        assertSame(new Hz3Structs.Snapshot(first), reused, "first");
        StructReader.read(reused, StructReader.bytes(reused, second));
        assertSame(new Hz3Structs.Snapshot(second), reused, "second");
    }

    @Test
    void epochRecordOfDistinctBytesReadsAsJnaReadsIt() {
        Memory m = pattern(new Hz3Structs.EpochInfo().size());
        Hz3Structs.EpochInfo fast = StructReader.read(new Hz3Structs.EpochInfo(), m);
        assertSame(new Hz3Structs.EpochInfo(m), fast, "epoch");
        assertEquals(new Hz3Structs.EpochInfo(m).threadName(), fast.threadName());
    }

    @Test
    void realCensusReadsAsJnaReadsIt() {
        Malloc malloc = Malloc.detect("0.1.0");
        assertEquals(Malloc.Hz3Status.ACTIVE, malloc.hz3, "surefire preloads libhz3.so: " + malloc.describe());
        Hz3Lib.bind();
        Hz3Structs.Snapshot jna = Hz3Lib.snapshot();
        assertTrue(jna.tier[0].pages_total + jna.tier[1].pages_total > 0, "a census of a running JVM counts pages");
        jna.write();   // its memory holds the census again (read() copied it out)
        assertSame(jna, StructReader.snapshot(jna.getPointer()), "census");
    }

    private static Memory pattern(int size) {
        return pattern(size, 7);
    }

    private static Memory pattern(int size, int step) {
        Memory m = new Memory(size);
        for (int i = 0; i < size; i++) {
            m.setByte(i, (byte) (i * step + 1));
        }
        return m;
    }

    private static void assertSame(Object want, Object got, String path) {
        try {
            for (Field f : want.getClass().getFields()) {
                if (java.lang.reflect.Modifier.isStatic(f.getModifiers())) {
                    continue;
                }
                Object w = f.get(want);
                Object g = f.get(got);
                String at = path + "." + f.getName();
                if (w instanceof Structure[] ws) {
                    Structure[] gs = (Structure[]) g;
                    assertEquals(ws.length, gs.length, at);
                    for (int i = 0; i < ws.length; i++) {
                        assertSame(ws[i], gs[i], at + "[" + i + "]");
                    }
                } else if (w instanceof long[] wl) {
                    assertArrayEquals(wl, (long[]) g, at);
                } else if (w instanceof int[] wi) {
                    assertArrayEquals(wi, (int[]) g, at);
                } else if (w instanceof byte[] wb) {
                    assertArrayEquals(wb, (byte[]) g, at);
                } else {
                    assertEquals(w, g, at);
                }
            }
        } catch (IllegalAccessException e) {
            throw new AssertionError(e);
        }
    }
}
