import java.lang.reflect.Field;
import java.util.ArrayDeque;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * A light, paced native-memory workload for the agent soak (bench/agent/soak.sh).
 *
 * T worker threads (default 2) each run ROUNDS_PER_S rounds a second (default 100, paced by
 * sleeping until the next round's start): a round mallocs 8 blocks of 16 B..256 KiB
 * (log-uniform, every byte written, through sun.misc.Unsafe.allocateMemory, so through the
 * process's malloc) and frees the thread's oldest blocks to keep within MIB/T bytes. Every
 * SPAWN_S seconds (default 10) a short-lived thread allocates and frees 2000 blocks and exits,
 * so hz3 sees thread exits (its thread_exit epochs) all through the run. Ends after S seconds,
 * frees everything and prints one line: "SOAKLOAD rounds=N threads_spawned=M secs=S".
 *
 * usage: java SoakLoad [--threads T] [--size MIB] [--rate ROUNDS_PER_S] [--spawn-every S] --seconds S
 */
public final class SoakLoad {
    private static final sun.misc.Unsafe U = unsafe();

    private static sun.misc.Unsafe unsafe() {
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            return (sun.misc.Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static long size(SplittableRandom r) {
        // log-uniform in [16, 256 KiB]
        double lo = Math.log(16), hi = Math.log(256 * 1024);
        return (long) Math.exp(lo + r.nextDouble() * (hi - lo));
    }

    public static void main(String[] args) throws Exception {
        int threads = 2;
        long sizeMiB = 32;
        int rate = 100;
        double spawnEvery = 10;
        double seconds = -1;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) usage("missing value after " + a);
            String v = args[++i];
            switch (a) {
                case "--threads": threads = Integer.parseInt(v); break;
                case "--size": sizeMiB = Long.parseLong(v); break;
                case "--rate": rate = Integer.parseInt(v); break;
                case "--spawn-every": spawnEvery = Double.parseDouble(v); break;
                case "--seconds": seconds = Double.parseDouble(v); break;
                default: usage("unknown option " + a);
            }
        }
        if (seconds <= 0 || threads < 1 || rate < 1 || sizeMiB < 1 || spawnEvery <= 0) {
            usage("--seconds S (> 0) is required; --threads, --rate, --size, --spawn-every must be positive");
        }
        final long budget = sizeMiB * 1024 * 1024 / threads;
        final long periodNs = 1_000_000_000L / rate;
        final long startNs = System.nanoTime();
        final long endNs = startNs + (long) (seconds * 1e9);
        final long[] rounds = new long[threads];
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            final int id = t;
            workers[t] = new Thread(() -> {
                SplittableRandom r = new SplittableRandom(0x5eed + id);
                ArrayDeque<long[]> held = new ArrayDeque<>();
                long heldBytes = 0;
                long next = System.nanoTime();
                while (true) {
                    long now = System.nanoTime();
                    if (now >= endNs) break;
                    for (int k = 0; k < 8; k++) {
                        long n = size(r);
                        long p = U.allocateMemory(n);
                        U.setMemory(p, n, (byte) k);
                        held.addLast(new long[] {p, n});
                        heldBytes += n;
                        while (heldBytes > budget) {
                            long[] old = held.removeFirst();
                            U.freeMemory(old[0]);
                            heldBytes -= old[1];
                        }
                    }
                    rounds[id]++;
                    next += periodNs;
                    long sleep = next - System.nanoTime();
                    if (sleep > 0) {
                        try {
                            Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
                        } catch (InterruptedException e) {
                            break;
                        }
                    } else if (-sleep > 1_000_000_000L) {
                        next = System.nanoTime(); // fell behind by over a second: do not burst
                    }
                }
                for (long[] b : held) U.freeMemory(b[0]);
            }, "soak-worker-" + t);
            workers[t].start();
        }
        long spawned = 0;
        long spawnNs = (long) (spawnEvery * 1e9);
        long nextSpawn = startNs + spawnNs;
        while (System.nanoTime() < endNs) {
            long wait = Math.min(nextSpawn, endNs) - System.nanoTime();
            if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            if (System.nanoTime() >= endNs) break;
            final long seed = spawned;
            Thread s = new Thread(() -> {
                SplittableRandom r = new SplittableRandom(seed);
                long[] p = new long[2000];
                for (int i = 0; i < p.length; i++) {
                    long n = 16 + r.nextInt(4096);
                    p[i] = U.allocateMemory(n);
                    U.putByte(p[i], (byte) 1);
                }
                for (long q : p) U.freeMemory(q);
            }, "soak-shortlived");
            s.start();
            s.join();
            spawned++;
            nextSpawn += spawnNs;
        }
        long total = 0;
        for (int t = 0; t < threads; t++) {
            workers[t].join();
            total += rounds[t];
        }
        double secs = (System.nanoTime() - startNs) / 1e9;
        System.out.printf(Locale.ROOT, "SOAKLOAD rounds=%d threads_spawned=%d secs=%.1f%n", total, spawned, secs);
    }

    private static void usage(String why) {
        System.err.println("SoakLoad: " + why);
        System.err.println("usage: java SoakLoad [--threads T] [--size MIB] [--rate ROUNDS_PER_S] [--spawn-every S] --seconds S");
        System.exit(2);
    }
}
