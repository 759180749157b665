package dev.hz3.samples;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The easy case, for contrast with {@link Fragment}: native blocks of a few fixed sizes,
 * allocated as a stack and freed in LIFO order, round after round. Nothing is left pinning a
 * page between rounds, so every allocator should reuse its memory and hold little at the end.
 *
 * <p>Each worker, each round, allocates blocks cycling through {@link #SIZES} until it holds
 * its share of {@code --size} MiB (every byte written), then frees them newest first.
 * Exit 0 on success, 1 if a block was found overwritten, 2 on bad arguments.
 */
public final class Steady {

    static final String USAGE = """
            usage: Steady [--threads T] [--size MIB] [--seconds S | --rounds R]
                          [--idle-before S] [--idle-after S] [--exit-threads]
            Each of T threads (default 2), each round, allocates native blocks of 64, 256, 1024
            and 4096 B in turn (sun.misc.Unsafe.allocateMemory, every byte written) until it
            holds its share of MIB, then frees them in LIFO order (newest first).
              --size MIB        native bytes held at the top of a round, all threads together
                                (default 64)
              --seconds S       run rounds for S seconds (default 10)
              --rounds R        run exactly R rounds per thread instead (the final
                                line's rounds= counts the rounds of all threads)
              --threads T       worker threads (default 2)
              --exit-threads    let the workers exit when the work ends (default: they stay alive
                                and idle until the end)
            """ + SampleOptions.commonUsage();

    static final SampleOptions.Defaults DEFAULTS = new SampleOptions.Defaults(64, 10, 0, 2);

    static final int[] SIZES = {64, 256, 1024, 4096};

    /** What all workers did, added up. */
    static final class Totals {
        final LongAdder rounds = new LongAdder();
        final LongAdder allocations = new LongAdder();
        final LongAdder allocatedBytes = new LongAdder();
        /** Bytes allocated and not yet freed, all threads (updated once a round per thread). */
        final AtomicLong inFlight = new AtomicLong();
        final AtomicLong peak = new AtomicLong();
    }

    private Steady() {
    }

    public static void main(String[] args) {
        SampleOptions o = SampleOptions.parseOrExit("Steady", USAGE, args, DEFAULTS, false);
        int status;
        try {
            status = run(o);
        } catch (Throwable t) {
            System.err.println("Steady: FAILED: " + t);
            t.printStackTrace();
            status = 1;
        }
        System.out.flush();
        System.exit(status);
    }

    static int run(SampleOptions o) throws InterruptedException {
        long share = ((long) o.sizeMib() << 20) / o.threads();
        System.out.printf("Steady: threads=%d %s size_mib=%d per_thread_bytes=%d java.version=%s%n",
                o.threads(), o.workDescription(), o.sizeMib(), share, System.getProperty("java.version"));
        Totals totals = new Totals();
        Workers.Result r = Workers.run("steady", o, (id, start) -> work(o, start, share, totals));
        boolean ok = Workers.report("Steady", r) && totals.inFlight.get() == 0;
        System.out.printf(Locale.ROOT, "Steady: threads=%d rounds=%d allocations=%d allocated_bytes=%d"
                        + " peak_native_mb=%.1f work_ms=%d %s%n",
                o.threads(), totals.rounds.sum(), totals.allocations.sum(), totals.allocatedBytes.sum(),
                totals.peak.get() / 1048576.0, r.workMillis(), ok ? "verified" : "FAILED");
        return ok ? 0 : 1;
    }

    private static void work(SampleOptions o, long start, long share, Totals totals) {
        // Upper bound of the stack depth: every block at least the smallest size.
        long[] stack = new long[(int) Math.min(Integer.MAX_VALUE - 8, share / SIZES[0] + 1)];
        for (int round = 0; Workers.more(round, o.rounds(), start, o.seconds()); round++) {
            int depth = 0;
            long held = 0;
            long counted = 0;
            try {
                for (int k = 0; held < share; k++) {
                    int size = SIZES[k % SIZES.length];
                    long a = UnsafeAccess.allocateMemory(size);
                    stack[depth++] = a;
                    held += size;
                    MemoryFill.fill(a, size, tag(depth));
                }
                totals.peak.accumulateAndGet(totals.inFlight.addAndGet(held), Math::max);
                counted = held;
                totals.allocations.add(depth);
                totals.allocatedBytes.add(held);
            } finally {
                // LIFO: the newest block first. Block i (0-based) has size SIZES[i % 4].
                for (int i = depth - 1; i >= 0; i--) {
                    int size = SIZES[i % SIZES.length];
                    MemoryFill.check(stack[i], size, tag(i + 1));
                    UnsafeAccess.freeMemory(stack[i]);
                }
                totals.inFlight.addAndGet(-counted);
            }
            totals.rounds.increment();
        }
    }

    private static byte tag(int depth) {
        return (byte) (0x33 ^ depth ^ (depth >>> 8));
    }
}
