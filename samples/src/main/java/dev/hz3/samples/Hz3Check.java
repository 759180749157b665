package dev.hz3.samples;

import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.lang.reflect.InaccessibleObjectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * NativeWorkout's {@code --verify}: where do the JVM's native allocations live?
 *
 * <p>It takes seven live native blocks (five {@code Unsafe.allocateMemory} sizes, and the
 * {@code z_stream} of an Inflater and of a Deflater), asks hz3 for its mappings through JNA, reads
 * /proc/self/maps, and prints per block
 * {@code ADDR kind=K addr=0xA hz3=yes|no maps=yes|no owns=yes|no|n/a} where
 * <ul>
 *   <li>hz3: A lies in one of the ranges {@code hz3_mappings} reports;</li>
 *   <li>maps: that whole range is covered by /proc/self/maps entries (a cross-check that hz3
 *       reports real mappings);</li>
 *   <li>owns: what {@code hz3_owns(A)} answers (n/a when hz3 is not loaded).</li>
 * </ul>
 * preceded by {@code HZ3 loaded=true|false version=V mappings=N}.
 */
final class Hz3Check {

    /**
     * Odd sizes that span hz3's tiers as designed: small (24, 1000), medium (5000) and large
     * (70000, 3000000: one mapping each).
     */
    static final long[] UNSAFE_SIZES = {24, 1000, 5000, 70_000, 3_000_000};

    private record Block(String kind, long address) {
    }

    private Hz3Check() {
    }

    static void run(PrintStream out) throws IOException {
        long[] unsafeBlocks = new long[UNSAFE_SIZES.length];
        Inflater inflater = new Inflater();
        Deflater deflater = new Deflater();
        try {
            List<Block> blocks = new ArrayList<>();
            for (int i = 0; i < UNSAFE_SIZES.length; i++) {
                unsafeBlocks[i] = UnsafeAccess.allocateMemory(UNSAFE_SIZES[i]);
                blocks.add(new Block("unsafe-" + UNSAFE_SIZES[i], unsafeBlocks[i]));
            }
            blocks.add(new Block("inflater", zStreamAddress(inflater)));
            blocks.add(new Block("deflater", zStreamAddress(deflater)));

            Hz3 hz3 = Hz3.lookup();
            long[] ranges = hz3 == null ? new long[0] : hz3.mappings();
            List<long[]> maps = readProcSelfMaps();

            out.printf("HZ3 loaded=%s version=%s mappings=%d%n",
                    hz3 != null, hz3 == null ? "none" : hz3.version(), ranges.length / 2);
            for (Block b : blocks) {
                int r = rangeContaining(ranges, b.address());
                boolean inHz3 = r >= 0;
                boolean inMaps = inHz3 && covered(maps, ranges[2 * r], ranges[2 * r + 1]);
                out.printf("ADDR kind=%s addr=0x%x hz3=%s maps=%s owns=%s%n",
                        b.kind(), b.address(), yesNo(inHz3), yesNo(inMaps),
                        hz3 == null ? "n/a" : hz3.owns(b.address()));
            }
        } finally {
            for (long a : unsafeBlocks) {
                if (a != 0) {
                    UnsafeAccess.freeMemory(a);
                }
            }
            inflater.end();
            deflater.end();
        }
    }

    /** The native z_stream behind an Inflater or Deflater: {@code zsRef.address}. */
    private static long zStreamAddress(Object zip) {
        try {
            Field refField = zip.getClass().getDeclaredField("zsRef");
            refField.setAccessible(true);
            Object ref = refField.get(zip);
            Field addressField = ref.getClass().getDeclaredField("address");
            addressField.setAccessible(true);
            return addressField.getLong(ref);
        } catch (InaccessibleObjectException e) {
            throw new IllegalStateException(
                    "--verify needs --add-opens java.base/java.util.zip=ALL-UNNAMED", e);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this JDK's " + zip.getClass().getName()
                    + " has no zsRef.address field", e);
        }
    }

    /** Index of the [start, end) pair holding address, or -1. */
    private static int rangeContaining(long[] ranges, long address) {
        for (int i = 0; i < ranges.length / 2; i++) {
            if (Long.compareUnsigned(ranges[2 * i], address) <= 0
                    && Long.compareUnsigned(address, ranges[2 * i + 1]) < 0) {
                return i;
            }
        }
        return -1;
    }

    /** Whether [start, end) lies within the union of the (sorted) maps entries. */
    private static boolean covered(List<long[]> maps, long start, long end) {
        long reached = start;
        for (long[] m : maps) {
            if (Long.compareUnsigned(reached, end) >= 0) {
                break;
            }
            if (Long.compareUnsigned(m[1], reached) <= 0) {
                continue;
            }
            if (Long.compareUnsigned(m[0], reached) > 0) {
                return false;
            }
            reached = m[1];
        }
        return Long.compareUnsigned(reached, end) >= 0;
    }

    /** [start, end) of every line of /proc/self/maps, sorted by start. */
    private static List<long[]> readProcSelfMaps() throws IOException {
        List<long[]> maps = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ', dash);
            if (dash <= 0 || space <= dash) {
                continue;
            }
            maps.add(new long[] {
                Long.parseUnsignedLong(line.substring(0, dash), 16),
                Long.parseUnsignedLong(line.substring(dash + 1, space), 16)});
        }
        maps.sort((a, b) -> Long.compareUnsigned(a[0], b[0]));
        return maps;
    }

    private static String yesNo(boolean b) {
        return b ? "yes" : "no";
    }

    /**
     * hz3's C API, bound to whatever the process has loaded. When libhz3.so is the preloaded
     * malloc its symbols are in the global scope; otherwise the lookup finds nothing.
     */
    private static final class Hz3 {
        private final Function mappings;
        private final Function version;
        private final Function owns;

        private Hz3(Function mappings, Function version, Function owns) {
            this.mappings = mappings;
            this.version = version;
            this.owns = owns;
        }

        /** The bound API, or null when no hz3_mappings symbol is loaded. */
        static Hz3 lookup() {
            NativeLibrary process = NativeLibrary.getProcess();
            Function mappings = optional(process, "hz3_mappings");
            if (mappings == null) {
                return null;
            }
            return new Hz3(mappings, optional(process, "hz3_version"),
                    optional(process, "hz3_owns"));
        }

        private static Function optional(NativeLibrary lib, String name) {
            try {
                return lib.getFunction(name);
            } catch (UnsatisfiedLinkError absent) {
                return null;
            }
        }

        String version() {
            return version == null ? "unknown" : version.invokeString(new Object[0], false);
        }

        /**
         * {@code size_t hz3_mappings(uint64_t *pairs, size_t max_pairs)}: fills up to max_pairs
         * [start, end) pairs and returns the total, which may be larger; then ask again.
         */
        long[] mappings() {
            long capacity = 256;
            while (true) {
                Memory buf = new Memory(capacity * 2 * Long.BYTES);
                long total = mappings.invokeLong(new Object[] {buf, capacity});
                if (total <= capacity) {
                    return buf.getLongArray(0, (int) (2 * total));
                }
                capacity = total + 64; // room for mappings made meanwhile
            }
        }

        String owns(long address) {
            if (owns == null) {
                return "n/a";
            }
            return owns.invokeInt(new Object[] {new Pointer(address)}) != 0 ? "yes" : "no";
        }
    }
}
