package dev.hz3.samples;

import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Fragmentation: many small native blocks, most freed in a scattered order, a few survivors
 * left pinning the pages they sit on. An allocator can give back only pages with no survivor
 * on them, so how much RSS falls during the hold is a measure of how its pages are packed and
 * how it returns partly empty memory.
 *
 * <p>Each worker, in each round, allocates its share of {@code --size} MiB as blocks of
 * 16..1024 B ({@code Unsafe.allocateMemory}, uniform sizes, every byte written), then picks
 * 1 block in 16 at random to survive and frees the rest in a random order. Survivors of all
 * rounds are held until {@code --seconds} after work-start, checked and freed; the last worker
 * to finish its rounds prints {@code PHASE hold-start}, from when on the pages stay as they are
 * until the hold ends (a busy machine can make the fill take most of it). Deterministic per
 * thread (seeded). Exit 0 on success, 1 if a block was found overwritten, 2 on bad arguments.
 */
public final class Fragment {

    static final String USAGE = """
            usage: Fragment [--threads T] [--size MIB] [--rounds R] [--seconds S]
                            [--idle-before S] [--idle-after S] [--exit-threads]
            Each of T threads (default 4), in each of R rounds, allocates its share of MIB as
            native blocks of 16..1024 B (sun.misc.Unsafe.allocateMemory, uniform sizes, every
            byte written), keeps 1 block in 16 chosen at random and frees the others in a random
            order. The survivors of all rounds are held until S seconds after the work started,
            then checked and freed.
              --size MIB        native bytes each round allocates, all threads together (default 128;
                                the survivors pin about MIB/16 per round)
              --rounds R        fill-and-free rounds (default 1); later rounds reuse the holes
              --seconds S       hold the survivors until S seconds after work-start (default 10;
                                if the rounds take longer, the survivors are freed at once)
              --threads T       worker threads (default 4)
              --exit-threads    let the workers exit when the work ends (default: they stay alive
                                and idle until the end)
            """ + SampleOptions.commonUsage();

    static final SampleOptions.Defaults DEFAULTS = new SampleOptions.Defaults(128, 10, 1, 4);

    static final int MIN_BLOCK = 16;
    static final int MAX_BLOCK = 1024;
    /** One block in KEEP_ONE_IN survives its round. */
    static final int KEEP_ONE_IN = 16;

    /** What all workers did, added up. */
    static final class Totals {
        final LongAdder allocations = new LongAdder();
        final LongAdder allocatedBytes = new LongAdder();
        final LongAdder freedEarly = new LongAdder();
        final LongAdder survivors = new LongAdder();
        final LongAdder survivorBytes = new LongAdder();
        final LongAdder holdMillis = new LongAdder();
        /** Bytes allocated and not yet freed, all threads. */
        final AtomicLong inFlight = new AtomicLong();
        final AtomicLong peak = new AtomicLong();
        /** Workers still filling: the last one done marks the hold's start. */
        final AtomicInteger filling;

        Totals(int threads) {
            filling = new AtomicInteger(threads);
        }

        void allocated(int bytes) {
            peak.accumulateAndGet(inFlight.addAndGet(bytes), Math::max);
        }

        void freed(int bytes) {
            inFlight.addAndGet(-bytes);
        }
    }

    /** Growable parallel arrays of block addresses and sizes. */
    private static final class Blocks {
        long[] address = new long[1024];
        int[] size = new int[1024];
        int count;

        void add(long a, int s) {
            if (count == address.length) {
                address = Arrays.copyOf(address, count * 2);
                size = Arrays.copyOf(size, count * 2);
            }
            address[count] = a;
            size[count++] = s;
        }
    }

    private Fragment() {
    }

    public static void main(String[] args) {
        SampleOptions o = SampleOptions.parseOrExit("Fragment", USAGE, args, DEFAULTS, true);
        int status;
        try {
            status = run(o);
        } catch (Throwable t) {
            System.err.println("Fragment: FAILED: " + t);
            t.printStackTrace();
            status = 1;
        }
        System.out.flush();
        System.exit(status);
    }

    static int run(SampleOptions o) throws InterruptedException {
        long share = ((long) o.sizeMib() << 20) / o.threads();
        System.out.printf(Locale.ROOT, "Fragment: threads=%d rounds=%d hold_until_s=%s size_mib=%d"
                        + " per_thread_bytes=%d keep=1/%d java.version=%s%n",
                o.threads(), o.rounds(), o.seconds(), o.sizeMib(), share, KEEP_ONE_IN,
                System.getProperty("java.version"));
        Totals totals = new Totals(o.threads());
        Workers.Result r = Workers.run("fragment", o, (id, start) -> work(id, o, start, share, totals));
        boolean ok = Workers.report("Fragment", r) && totals.inFlight.get() == 0;
        System.out.printf(Locale.ROOT, "Fragment: threads=%d rounds=%d allocations=%d allocated_bytes=%d"
                        + " freed_early=%d survivors=%d survivor_bytes=%d peak_native_mb=%.1f"
                        + " hold_ms=%d work_ms=%d %s%n",
                o.threads(), o.rounds(), totals.allocations.sum(), totals.allocatedBytes.sum(),
                totals.freedEarly.sum(), totals.survivors.sum(), totals.survivorBytes.sum(),
                totals.peak.get() / 1048576.0, totals.holdMillis.sum() / o.threads(), r.workMillis(),
                ok ? "verified" : "FAILED");
        return ok ? 0 : 1;
    }

    private static void work(int id, SampleOptions o, long start, long share, Totals totals)
            throws InterruptedException {
        Random rnd = new Random(0xf7a6_0000L + id);
        Blocks survivors = new Blocks();
        try {
            for (int round = 0; round < o.rounds(); round++) {
                Blocks batch = new Blocks();
                for (long bytes = 0; bytes < share; ) {
                    int size = MIN_BLOCK + rnd.nextInt(MAX_BLOCK - MIN_BLOCK + 1);
                    long a = UnsafeAccess.allocateMemory(size);
                    totals.allocated(size);
                    MemoryFill.fill(a, size, tag(a, size));
                    batch.add(a, size);
                    bytes += size;
                    totals.allocations.increment();
                    totals.allocatedBytes.add(size);
                }
                // Scatter: free in a random order (Fisher-Yates over the round's blocks).
                for (int i = batch.count - 1; i >= 0; i--) {
                    int j = rnd.nextInt(i + 1);
                    long a = batch.address[j];
                    int s = batch.size[j];
                    batch.address[j] = batch.address[i];
                    batch.size[j] = batch.size[i];
                    if (rnd.nextInt(KEEP_ONE_IN) == 0) {
                        survivors.add(a, s);
                        totals.survivors.increment();
                        totals.survivorBytes.add(s);
                    } else {
                        freeChecked(a, s, totals);
                        totals.freedEarly.increment();
                    }
                }
            }
            if (totals.filling.decrementAndGet() == 0) {
                Phases.mark("hold-start");
            }
            long holdStart = System.nanoTime();
            long holdEnd = start + (long) (o.seconds() * 1e9);
            for (long left; (left = holdEnd - System.nanoTime()) > 0; ) {
                Thread.sleep(Math.max(1, Math.min(left / 1_000_000, 100)));
            }
            totals.holdMillis.add((System.nanoTime() - holdStart) / 1_000_000);
        } finally {
            // Free the survivors even after a failure: work-end promises nothing is left.
            for (int i = 0; i < survivors.count; i++) {
                freeChecked(survivors.address[i], survivors.size[i], totals);
            }
        }
    }

    /**
     * The byte a block is filled with, from its address and size: a block that overlaps another
     * live one will most likely have its first or last byte rewritten with a different tag.
     */
    private static byte tag(long address, int size) {
        return (byte) (0x5a ^ (address >>> 4) ^ (address >>> 12) ^ size);
    }

    private static void freeChecked(long a, int size, Totals totals) {
        MemoryFill.check(a, size, tag(a, size));
        UnsafeAccess.freeMemory(a);
        totals.freed(size);
    }
}
