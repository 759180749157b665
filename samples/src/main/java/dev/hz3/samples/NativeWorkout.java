package dev.hz3.samples;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * A multi-threaded JVM workload whose native side is mostly malloc and free, to run with an
 * allocator preloaded ({@code LD_PRELOAD=libhz3.so}).
 *
 * <p>Concurrently:
 * <ul>
 *   <li>N worker threads, each round: a zip Deflater/Inflater round trip on generated data (the
 *       inflated bytes must equal the input; zlib's state and windows are malloc'd), and four
 *       direct ByteBuffers of 1 KiB to 4 MiB that replace older ones in a ring of eight, freed
 *       at once through their cleaner;</li>
 *   <li>the main thread creates and joins short-lived threads (eight at a time), each doing a
 *       small round trip and buffer, so threads exit while others allocate;</li>
 *   <li>then two child processes, which inherit the environment (and so LD_PRELOAD):
 *       {@code /bin/sh -c 'echo child-ok'} and {@code java -version} of this same java.home.</li>
 * </ul>
 * Sizes and data come from seeded generators: with {@code --rounds} a run does the same work
 * every time. It prints what it did and exits 0; any failure exits 1.
 *
 * <p>{@code --verify} then checks where native blocks live; see {@link Hz3Check}.
 */
public final class NativeWorkout {

    static final String USAGE = "usage: NativeWorkout [--threads N] [--rounds R | --seconds S]"
            + " [--short-threads K] [--verify]";

    static final int ZIP_MIN = 1 << 10;
    static final int ZIP_MAX = 256 << 10;
    static final int DIRECT_MIN = 1 << 10;
    static final int DIRECT_MAX = 4 << 20;
    /** Direct buffers a worker allocates per round; each replaces the oldest of its ring. */
    static final int DIRECT_PER_ROUND = 4;
    /** Direct buffers a worker keeps alive: at most 8 x 4 MiB (-Xmx256m allows 256 MiB direct). */
    static final int DIRECT_RING = 8;
    static final int SHORT_THREAD_BATCH = 8;
    static final long CHILD_TIMEOUT_SECONDS = 120;

    record Options(int threads, int rounds, double seconds, int shortThreads, boolean verify) {

        static Options parse(String[] args) {
            int threads = 4;
            int rounds = 250;
            double seconds = 0;
            int shortThreads = 200;
            boolean verify = false;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--threads" -> threads = positive(args, ++i);
                    case "--rounds" -> {
                        rounds = positive(args, ++i);
                        seconds = 0;
                    }
                    case "--seconds" -> {
                        seconds = Double.parseDouble(value(args, i + 1));
                        i++;
                        if (!(seconds > 0)) {
                            throw new IllegalArgumentException("--seconds must be > 0");
                        }
                    }
                    case "--short-threads" -> shortThreads = Integer.parseInt(value(args, ++i));
                    case "--verify" -> verify = true;
                    case "-h", "--help" -> throw new IllegalArgumentException("help");
                    default -> throw new IllegalArgumentException("unknown argument " + args[i]);
                }
            }
            return new Options(threads, rounds, seconds, Math.max(0, shortThreads), verify);
        }

        private static String value(String[] args, int i) {
            if (i >= args.length) {
                throw new IllegalArgumentException(args[i - 1] + " needs a value");
            }
            return args[i];
        }

        private static int positive(String[] args, int i) {
            int v = Integer.parseInt(value(args, i));
            if (v <= 0) {
                throw new IllegalArgumentException(args[i - 1] + " must be > 0");
            }
            return v;
        }

        String workDescription() {
            return seconds > 0 ? "seconds=" + seconds : "rounds=" + rounds;
        }
    }

    /** What all threads did, added up. */
    static final class Totals {
        final LongAdder zipRoundTrips = new LongAdder();
        final LongAdder zipInputBytes = new LongAdder();
        final LongAdder zipCompressedBytes = new LongAdder();
        final LongAdder directBuffers = new LongAdder();
        final LongAdder directBytes = new LongAdder();
        final LongAdder shortThreads = new LongAdder();
        final Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
    }

    private NativeWorkout() {
    }

    public static void main(String[] args) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            boolean help = "help".equals(e.getMessage());
            // README, "Command lines": help on stdout, a usage error on stderr.
            if (help) {
                System.out.println(USAGE);
            } else {
                System.err.println("NativeWorkout: " + e.getMessage() + "\n" + USAGE);
            }
            System.exit(help ? 0 : 2);
            return;
        }
        int status;
        try {
            status = run(options, System.out);
        } catch (Throwable t) {
            System.err.println("NativeWorkout: FAILED: " + t);
            t.printStackTrace();
            status = 1;
        }
        System.out.flush();
        if (status != 0) {
            System.exit(status);
        }
    }

    static int run(Options o, PrintStream out) throws Exception {
        long start = System.nanoTime();
        String javaHome = System.getProperty("java.home");
        out.printf("NativeWorkout: threads=%d %s short-threads=%d java.version=%s java.home=%s%n",
                o.threads(), o.workDescription(), o.shortThreads(),
                System.getProperty("java.version"), javaHome);

        Totals totals = new Totals();
        long deadline = o.seconds() > 0 ? start + (long) (o.seconds() * 1e9) : 0;
        Thread[] workers = new Thread[o.threads()];
        for (int i = 0; i < workers.length; i++) {
            int id = i;
            workers[i] = new Thread(() -> work(id, o, deadline, totals), "workout-" + i);
            workers[i].start();
        }

        runShortThreads(o.shortThreads(), totals);
        String java = Path.of(javaHome, "bin", "java").toString();
        boolean shOk = runChild(out, "sh", List.of("/bin/sh", "-c", "echo child-ok"), "child-ok");
        boolean javaOk = runChild(out, "java-version", List.of(java, "-version"), " version ");

        for (Thread w : workers) {
            w.join();
        }

        out.printf("zip: %d deflate/inflate round trips, %d bytes in, %d bytes compressed, %s%n",
                totals.zipRoundTrips.sum(), totals.zipInputBytes.sum(),
                totals.zipCompressedBytes.sum(), totals.failures.isEmpty()
                        ? "all verified" : totals.failures.size() + " threads FAILED");
        out.printf("direct: %d buffers of %d..%d bytes, %d bytes in all, each freed%n",
                totals.directBuffers.sum(), DIRECT_MIN, DIRECT_MAX, totals.directBytes.sum());
        out.printf("threads: %d workers, %d short-lived created and joined%n",
                o.threads(), totals.shortThreads.sum());

        if (!totals.failures.isEmpty()) {
            for (Throwable t : totals.failures) {
                System.err.println("NativeWorkout: FAILED in a thread: " + t);
                t.printStackTrace();
            }
            return 1;
        }
        if (!shOk || !javaOk) {
            return 1;
        }
        if (o.verify()) {
            Hz3Check.run(out);
        }
        out.printf("NativeWorkout: done in %d ms%n",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        return 0;
    }

    /** One worker: rounds of a zip round trip and four direct buffers. */
    private static void work(int id, Options o, long deadline, Totals totals) {
        Random rnd = new Random(0x5eed_0000L + id);
        ByteBuffer[] ring = new ByteBuffer[DIRECT_RING];
        int next = 0;
        try {
            for (int round = 0; deadline == 0 ? round < o.rounds()
                    : round == 0 || System.nanoTime() - deadline < 0; round++) {
                zipRoundTrip(rnd, logUniform(rnd, ZIP_MIN, ZIP_MAX), totals);
                for (int i = 0; i < DIRECT_PER_ROUND; i++) {
                    if (ring[next] != null) {
                        UnsafeAccess.free(ring[next]);
                    }
                    ring[next] = directBuffer(logUniform(rnd, DIRECT_MIN, DIRECT_MAX), totals);
                    next = (next + 1) % DIRECT_RING;
                }
            }
        } catch (Throwable t) {
            totals.failures.add(t);
        } finally {
            for (ByteBuffer b : ring) {
                if (b != null) {
                    UnsafeAccess.free(b);
                }
            }
        }
    }

    private static void runShortThreads(int count, Totals totals) throws InterruptedException {
        for (int started = 0; started < count; ) {
            Thread[] batch = new Thread[Math.min(SHORT_THREAD_BATCH, count - started)];
            for (int i = 0; i < batch.length; i++) {
                int id = started + i;
                batch[i] = new Thread(() -> {
                    try {
                        Random rnd = new Random(0x5407_0000L + id);
                        zipRoundTrip(rnd, logUniform(rnd, ZIP_MIN, 16 << 10), totals);
                        int size = logUniform(rnd, DIRECT_MIN, 64 << 10);
                        UnsafeAccess.free(directBuffer(size, totals));
                        totals.shortThreads.increment();
                    } catch (Throwable t) {
                        totals.failures.add(t);
                    }
                }, "short-" + id);
                batch[i].start();
            }
            for (Thread t : batch) {
                t.join();
            }
            started += batch.length;
        }
    }

    /**
     * Runs a child with stdout and stderr merged, prints {@code CHILD label exit=E out="..."}
     * with the first output line that contains {@code expect}, and says whether it exited 0 with
     * such a line. With HZ3_OBS=1 the child's own [HZ3_ report lines are counted, not echoed.
     */
    private static boolean runChild(PrintStream out, String label, List<String> command,
            String expect) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(CHILD_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            out.printf("CHILD %s FAILED: still running after %d s%n", label, CHILD_TIMEOUT_SECONDS);
            return false;
        }
        String match = output.lines().filter(l -> l.contains(expect)).findFirst().orElse(null);
        long reportLines = output.lines().filter(l -> l.startsWith("[HZ3_")).count();
        boolean ok = p.exitValue() == 0 && match != null;
        out.printf("CHILD %s exit=%d out=\"%s\" hz3-report-lines=%d%s%n", label, p.exitValue(),
                match == null ? "" : match.strip(), reportLines, ok ? "" : " FAILED");
        if (!ok) {
            out.println("CHILD " + label + " output was:");
            output.lines().forEach(l -> out.println("  | " + l));
        }
        return ok;
    }

    /** Deflates generated data at a random level, inflates it back and compares. */
    static void zipRoundTrip(Random rnd, int size, Totals totals) throws DataFormatException {
        byte[] data = generate(rnd, size);
        byte[] packed;
        Deflater deflater = new Deflater(1 + rnd.nextInt(9));
        try {
            deflater.setInput(data);
            deflater.finish();
            ByteArrayOutputStream bos = new ByteArrayOutputStream(size / 2 + 64);
            byte[] chunk = new byte[16 << 10];
            while (!deflater.finished()) {
                bos.write(chunk, 0, deflater.deflate(chunk));
            }
            packed = bos.toByteArray();
        } finally {
            deflater.end();
        }

        // One spare byte: a stream that inflates to more than the input shows up as a mismatch.
        byte[] back = new byte[size + 1];
        int length = 0;
        Inflater inflater = new Inflater();
        try {
            inflater.setInput(packed);
            while (!inflater.finished() && length < back.length) {
                int n = inflater.inflate(back, length, back.length - length);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    throw new DataFormatException("stream ended early, after " + length + " bytes");
                }
                length += n;
            }
        } finally {
            inflater.end();
        }
        if (length != size || !Arrays.equals(data, 0, size, back, 0, size)) {
            throw new IllegalStateException("zip round trip of " + size + " bytes gave " + length
                    + " different bytes");
        }
        totals.zipRoundTrips.increment();
        totals.zipInputBytes.add(size);
        totals.zipCompressedBytes.add(packed.length);
    }

    private static final byte[][] WORDS = Arrays.stream(
            ("malloc free segment page arena thread cache remote epoch large small medium "
                    + "inflater deflater buffer direct native heap jvm hz3 ").split(" "))
            .map(w -> (w + " ").getBytes(StandardCharsets.US_ASCII)).toArray(byte[][]::new);

    /** Text-like data with random runs: it compresses, but not to nothing. */
    private static byte[] generate(Random rnd, int size) {
        byte[] data = new byte[size];
        int i = 0;
        while (i < size) {
            if (rnd.nextInt(16) == 0) {
                int end = Math.min(size, i + 8 + rnd.nextInt(56));
                while (i < end) {
                    data[i++] = (byte) rnd.nextInt();
                }
            } else {
                byte[] w = WORDS[rnd.nextInt(WORDS.length)];
                int n = Math.min(w.length, size - i);
                System.arraycopy(w, 0, data, i, n);
                i += n;
            }
        }
        return data;
    }

    /** A direct buffer with every page written, so its memory is really used. */
    private static ByteBuffer directBuffer(int size, Totals totals) {
        ByteBuffer b = ByteBuffer.allocateDirect(size);
        for (int i = 0; i < size; i += 4096) {
            b.put(i, (byte) i);
        }
        b.put(size - 1, (byte) 1);
        totals.directBuffers.increment();
        totals.directBytes.add(size);
        return b;
    }

    /** A size in [min, max] whose logarithm is uniform: as many small sizes as large ones. */
    static int logUniform(Random rnd, int min, int max) {
        double lo = Math.log(min);
        double hi = Math.log(max);
        return (int) Math.min(max, Math.round(Math.exp(lo + rnd.nextDouble() * (hi - lo))));
    }
}
