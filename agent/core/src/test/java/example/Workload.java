package example;

import dev.hz3.agent.boot.NativeAllocHooks;

/**
 * Allocations reported to the active sampler from outside the agent's package, as an
 * application's advised calls are (the sampler drops calls whose first frame outside the JDK is
 * the agent's own): for SiteSamplerTest.
 */
public final class Workload {

    private Workload() {
    }

    /** Kept blocks of 1,000 .. 55,000 bytes; returns their bytes. */
    public static long keep() {
        long bytes = 0;
        for (int i = 0; i < 40_000; i++) {
            long size = 1_000 + (i % 7) * 9_000;
            NativeAllocHooks.alloc(0x1000_0000L + 64L * 1024 * i, size, NativeAllocHooks.KIND_UNSAFE);
            bytes += size;
        }
        return bytes;
    }

    /** Blocks of 30,000 bytes, each freed at once. */
    public static void churn() {
        for (int i = 0; i < 40_000; i++) {
            long a = 0x7000_0000_0000L + 64L * 1024 * i;
            NativeAllocHooks.alloc(a, 30_000, NativeAllocHooks.KIND_UNSAFE);
            NativeAllocHooks.free(a);
        }
    }
}
