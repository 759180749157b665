package dev.hz3.samples;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The classic glibc RSS creep of a JVM: many threads, each doing zip round trips (zlib's
 * Deflater and Inflater state is malloc'd and freed per stream) and replacing direct
 * ByteBuffers of varied sizes (each one malloc'd by {@code Unsafe.allocateMemory}), freed
 * explicitly at once. Every byte the work allocates is freed by the end of it; what the process
 * still holds afterwards is what the allocator kept.
 *
 * <p>Deterministic per thread (seeded generators): with {@code --rounds} a run does the same
 * work every time. Exit 0 on success, 1 if a round trip or a buffer check failed, 2 on bad
 * arguments.
 */
public final class Churn {

    static final String USAGE = """
            usage: Churn [--threads T] [--size MIB] [--seconds S | --rounds R]
                         [--idle-before S] [--idle-after S] [--exit-threads]
            T threads (default 8) run rounds; one round is a zip Deflater/Inflater round trip of
            1 KiB..256 KiB of generated text at a random level (the inflated bytes are compared
            with the input), then 4 direct ByteBuffers of 1 KiB..2 MiB (log-uniform sizes, every
            page written), each one freeing (Unsafe.invokeCleaner) the thread's oldest buffers as
            needed to stay within its share of the budget.
              --size MIB        direct-buffer bytes in flight, all threads together (default 64;
                                MIB/T per thread; -XX:MaxDirectMemorySize, by default the -Xmx,
                                must allow it)
              --seconds S       run rounds for S seconds (default 10)
              --rounds R        run exactly R rounds per thread instead (the final
                                line's rounds= counts the rounds of all threads)
              --threads T       worker threads (default 8)
              --exit-threads    let the workers exit when the work ends (default: they stay alive
                                and idle until the end, as a server's thread pool would)
            """ + SampleOptions.commonUsage();

    static final SampleOptions.Defaults DEFAULTS = new SampleOptions.Defaults(64, 10, 0, 8);

    static final int ZIP_MIN = 1 << 10;
    static final int ZIP_MAX = 256 << 10;
    static final int DIRECT_MIN = 1 << 10;
    static final int DIRECT_MAX = 2 << 20;
    static final int DIRECT_PER_ROUND = 4;

    /** What all workers did, added up; the zip counters are NativeWorkout's. */
    static final class Totals {
        final NativeWorkout.Totals zip = new NativeWorkout.Totals();
        final LongAdder rounds = new LongAdder();
        final LongAdder directBuffers = new LongAdder();
        final LongAdder directBytes = new LongAdder();
        /** Direct-buffer bytes allocated and not yet freed, all threads. */
        final AtomicLong directInFlight = new AtomicLong();
        final AtomicLong directPeak = new AtomicLong();

        void directAllocated(int bytes) {
            long now = directInFlight.addAndGet(bytes);
            directPeak.accumulateAndGet(now, Math::max);
            directBuffers.increment();
            directBytes.add(bytes);
        }

        void directFreed(int bytes) {
            directInFlight.addAndGet(-bytes);
        }
    }

    private Churn() {
    }

    public static void main(String[] args) throws InterruptedException {
        SampleOptions o = SampleOptions.parseOrExit("Churn", USAGE, args, DEFAULTS, false);
        int status;
        try {
            status = run(o);
        } catch (Throwable t) {
            System.err.println("Churn: FAILED: " + t);
            t.printStackTrace();
            status = 1;
        }
        System.out.flush();
        System.exit(status);
    }

    static int run(SampleOptions o) throws InterruptedException {
        long budget = ((long) o.sizeMib() << 20) / o.threads();
        System.out.printf("Churn: threads=%d %s size_mib=%d per_thread_budget_bytes=%d java.version=%s%n",
                o.threads(), o.workDescription(), o.sizeMib(), budget, System.getProperty("java.version"));
        Totals totals = new Totals();
        ThreadCpu.AtWorkEnd cpu = new ThreadCpu.AtWorkEnd(o.threads());
        Workers.Result r = Workers.run("churn", o,
                (id, start) -> cpu.measure(() -> work(id, o, start, budget, totals)));
        boolean ok = Workers.report("Churn", r) && totals.directInFlight.get() == 0;
        System.out.printf(Locale.ROOT, "Churn: threads=%d rounds=%d deflated_bytes=%d compressed_bytes=%d"
                        + " direct_buffers=%d direct_bytes=%d peak_direct_mb=%.1f work_ms=%d"
                        + " workers_cpu_ms=%d jit_cpu_ms=%d %s%n",
                o.threads(), totals.rounds.sum(), totals.zip.zipInputBytes.sum(),
                totals.zip.zipCompressedBytes.sum(), totals.directBuffers.sum(),
                totals.directBytes.sum(), totals.directPeak.get() / 1048576.0, r.workMillis(),
                cpu.workersMillis(), cpu.jitMillis(), ok ? "verified" : "FAILED");
        return ok ? 0 : 1;
    }

    /** One worker: rounds of a zip round trip and direct-buffer replacements, then frees all. */
    private static void work(int id, SampleOptions o, long start, long budget, Totals totals)
            throws Exception {
        Random rnd = new Random(0xc4a0_0000L + id);
        ArrayDeque<ByteBuffer> held = new ArrayDeque<>();
        long inFlight = 0;
        int maxSize = (int) Math.min(DIRECT_MAX, Math.max(DIRECT_MIN, budget));
        try {
            for (int round = 0; Workers.more(round, o.rounds(), start, o.seconds()); round++) {
                NativeWorkout.zipRoundTrip(rnd, NativeWorkout.logUniform(rnd, ZIP_MIN, ZIP_MAX), totals.zip);
                for (int i = 0; i < DIRECT_PER_ROUND; i++) {
                    int size = NativeWorkout.logUniform(rnd, DIRECT_MIN, maxSize);
                    while (!held.isEmpty() && inFlight + size > budget) {
                        inFlight -= free(held.removeFirst(), totals);
                    }
                    held.addLast(directBuffer(size, (byte) (round + i + 1), totals));
                    inFlight += size;
                }
                totals.rounds.increment();
            }
        } finally {
            // Free everything even after a failure: work-end promises nothing is left.
            while (!held.isEmpty()) {
                free(held.removeFirst(), totals);
            }
        }
    }

    /** A direct buffer with every page written with {@code tag}, so its memory is resident. */
    private static ByteBuffer directBuffer(int size, byte tag, Totals totals) {
        ByteBuffer b = ByteBuffer.allocateDirect(size);
        totals.directAllocated(size);
        for (int i = 0; i < size; i += 4096) {
            b.put(i, tag);
        }
        b.put(size - 1, tag);
        return b;
    }

    /** Checks the buffer's first and last byte still match, frees it now, returns its size. */
    private static int free(ByteBuffer b, Totals totals) {
        int size = b.capacity();
        byte tag = b.get(0);
        if (b.get(size - 1) != tag) {
            throw new IllegalStateException("direct buffer of " + size + " bytes was overwritten");
        }
        UnsafeAccess.free(b);
        totals.directFreed(size);
        return size;
    }
}
