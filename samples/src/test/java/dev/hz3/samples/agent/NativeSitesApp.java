package dev.hz3.samples.agent;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import sun.misc.Unsafe;

/**
 * Native allocations from known methods with fingerprint sizes, for the attribution tests.
 * {@code workload}: leakA keeps LEAK_A_COUNT Unsafe blocks of LEAK_A_BYTES; keepB keeps direct
 * buffers; keepD keeps Deflaters; churnC and churnE free everything they allocate (direct
 * buffers freed at once through their cleaner, Inflaters ended). Then prints DONE and exits,
 * or, with {@code serve}, prints READY and runs the command of each stdin line
 * ({@code workload}, {@code keepB}, {@code growF}, {@code attached}, {@code detached}),
 * answering "DONE command".
 */
public final class NativeSitesApp {

    static final int LEAK_A_BYTES = 123_457;
    static final int LEAK_A_COUNT = 1200;
    static final int KEEP_B_BYTES = 77_777;
    static final int KEEP_B_COUNT = 2000;
    static final int KEEP_D_COUNT = 600;
    static final int CHURN_C_BYTES = 55_555;
    static final int CHURN_C_COUNT = 3000;
    static final int CHURN_E_COUNT = 2000;
    static final int GROW_F_BYTES = 2_000_003;
    static final int GROW_F_COUNT = 20;
    static final int PHASE_BYTES = 99_991;
    static final int PHASE_COUNT = 500;

    static final Unsafe UNSAFE = unsafe();
    /** Everything kept, reachable until exit. */
    static final List<Object> KEPT = new ArrayList<>();
    static final List<Long> ADDRESSES = new ArrayList<>();

    private NativeSitesApp() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("serve")) {
            System.out.println("READY pid=" + ProcessHandle.current().pid());
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
            String line;
            while ((line = in.readLine()) != null) {
                run(line.trim());
                System.out.println("DONE " + line.trim());
            }
            System.out.println("BYE");
            return;
        }
        run("workload");
        System.out.println("DONE workload");
    }

    static void run(String command) {
        switch (command) {
            case "workload" -> {
                leakA();
                keepB();
                keepD();
                churnC();
                churnE();
            }
            case "keepB" -> keepB();
            case "growF" -> growF();
            case "attached" -> attached();
            case "detached" -> detached();
            default -> System.out.println("unknown command " + command);
        }
    }

    static void leakA() {
        for (int i = 0; i < LEAK_A_COUNT; i++) {
            ADDRESSES.add(UNSAFE.allocateMemory(LEAK_A_BYTES));
        }
    }

    static void keepB() {
        for (int i = 0; i < KEEP_B_COUNT; i++) {
            KEPT.add(ByteBuffer.allocateDirect(KEEP_B_BYTES));
        }
    }

    static void keepD() {
        for (int i = 0; i < KEEP_D_COUNT; i++) {
            KEPT.add(new Deflater());
        }
    }

    /** Unsafe blocks large enough to be nearly always sampled, kept: a site that grows late. */
    static void growF() {
        for (int i = 0; i < GROW_F_COUNT; i++) {
            ADDRESSES.add(UNSAFE.allocateMemory(GROW_F_BYTES));
        }
    }

    static void churnC() {
        for (int i = 0; i < CHURN_C_COUNT; i++) {
            ByteBuffer b = ByteBuffer.allocateDirect(CHURN_C_BYTES);
            UNSAFE.invokeCleaner(b);   // frees it now (the Deallocator), not at some GC
        }
    }

    static void churnE() {
        for (int i = 0; i < CHURN_E_COUNT; i++) {
            new Inflater().end();
        }
    }

    /** Unsafe blocks freed at once, from a method of its own: for the attach test's phases. */
    static void attached() {
        for (int i = 0; i < PHASE_COUNT; i++) {
            UNSAFE.freeMemory(UNSAFE.allocateMemory(PHASE_BYTES));
        }
    }

    static void detached() {
        for (int i = 0; i < PHASE_COUNT; i++) {
            UNSAFE.freeMemory(UNSAFE.allocateMemory(PHASE_BYTES));
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
