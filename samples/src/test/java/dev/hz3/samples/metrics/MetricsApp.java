package dev.hz3.samples.metrics;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import sun.misc.Unsafe;

/**
 * The metrics tests' program: commands on stdin, one per line, each answered by a line on stdout.
 * <ul>
 *   <li>{@code classes N}: N more size classes touched: in each, 2 MiB of blocks of one size
 *       (sizes 16, 32, 48... in turn), 1 in 16 kept and the rest freed, so the class has partial
 *       pages; answers {@code CLASSES total}.</li>
 *   <li>{@code keep MIB}: MIB MiB more in blocks of 64 KiB from {@link #keepAtSite}, all kept
 *       (one call site holding memory, for native attribution); answers {@code KEPT bytes}.</li>
 *   <li>{@code exit}: frees everything and exits 0 (a recording is written at exit).</li>
 * </ul>
 */
public final class MetricsApp {

    private static final Unsafe U = unsafe();
    private static final List<Long> kept = new ArrayList<>();
    private static int classes;

    public static void main(String[] args) throws Exception {
        System.out.println("READY");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        while ((line = in.readLine()) != null) {
            String[] w = line.trim().split("\\s+");
            if (w[0].equals("classes")) {
                for (int i = Integer.parseInt(w[1]); i > 0; i--) {
                    touchClass(16 * ++classes);
                }
                System.out.println("CLASSES " + classes);
            } else if (w[0].equals("keep")) {
                System.out.println("KEPT " + keepAtSite(Integer.parseInt(w[1])));
            } else if (w[0].equals("exit")) {
                break;
            }
        }
        kept.forEach(U::freeMemory);
        System.out.println("BYE");
    }

    private static long keepAtSite(int mib) {
        long bytes = 0;
        for (int i = 0; i < mib * 16; i++) {
            long b = U.allocateMemory(65_536);
            U.setMemory(b, 65_536, (byte) 1);
            kept.add(b);
            bytes += 65_536;
        }
        return bytes;
    }

    private static void touchClass(int size) {
        int n = (2 << 20) / size;
        long[] blocks = new long[n];
        for (int i = 0; i < n; i++) {
            blocks[i] = U.allocateMemory(size);
            U.setMemory(blocks[i], size, (byte) 1);
        }
        for (int i = 0; i < n; i++) {
            if (i % 16 == 0) {
                kept.add(blocks[i]);
            } else {
                U.freeMemory(blocks[i]);
            }
        }
    }

    private static Unsafe unsafe() {
        try {
            Field f = Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            return (Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
