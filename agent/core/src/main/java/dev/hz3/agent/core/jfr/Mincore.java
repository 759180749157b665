package dev.hz3.agent.core.jfr;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import dev.hz3.jfr.Hz3Events;
import java.nio.ByteOrder;
import java.nio.LongBuffer;

/**
 * Resident bytes of address ranges by mincore(2), through JNA's direct mapping and one vector
 * kept for the reader's life: hz3.ProcessMemory calls it a few hundred times a reading, and
 * hz3.Retention once per hz3 mapping every 5 s, where Function.invoke's boxing, argument
 * conversion and a byte[] copied in and out (64 KiB a call) cost tens of microseconds each.
 * Pointers and size_t as long: the agent runs on 64-bit Linux only. Not thread-safe: each
 * reader has its own, or holds a lock around it.
 */
public final class Mincore {

    private static final class Sys {
        static {
            Native.register(Sys.class, NativeLibrary.getProcess());
        }

        static native int mincore(long addr, long length, Pointer vec);
    }

    /** Pages per mincore call: the vector is one byte a page. */
    private static final int CHUNK = 1 << 16;
    private static final long ONES = 0x0101010101010101L;

    private final Memory vec = new Memory(CHUNK);
    private final LongBuffer vecLongs = vec.getByteBuffer(0, CHUNK).order(ByteOrder.nativeOrder()).asLongBuffer();

    /** Resident bytes in [start, end) by mincore; 0 for a range unmapped meanwhile. */
    public long resident(long start, long end) {
        long page = Hz3Events.PAGE_SIZE;
        long pages = (end - start) / page;
        long resident = 0;
        for (long done = 0; done < pages; done += CHUNK) {
            int n = (int) Math.min(CHUNK, pages - done);
            int rc = Sys.mincore(start + done * page, (long) n * page, vec);
            if (rc != 0) {
                return 0;
            }
            // Bit 0 of each byte says resident; the other bits are reserved (zero today).
            int words = n >>> 3;
            for (int w = 0; w < words; w++) {
                resident += Long.bitCount(vecLongs.get(w) & ONES);
            }
            for (int b = words << 3; b < n; b++) {
                resident += vec.getByte(b) & 1;
            }
        }
        return resident * page;
    }

    /** Resident bytes of the ranges given as pairs [start, end). */
    public long resident(long[] ranges) {
        long total = 0;
        for (int i = 0; i + 1 < ranges.length; i += 2) {
            total += resident(ranges[i], ranges[i + 1]);
        }
        return total;
    }
}
