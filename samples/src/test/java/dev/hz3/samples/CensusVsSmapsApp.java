package dev.hz3.samples;

import dev.hz3.agent.core.nat.Hz3Lib;
import dev.hz3.agent.core.nat.Hz3Structs;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * The child JVM of {@link CensusMatchesSmapsTest}: runs a native workload on four threads
 * (direct buffers of 16 B to 2 MiB, every byte written, half of them kept; zlib streams), joins
 * them, then takes hz3's exact census (hz3 runs with HZ3_PURGE_DELAY_MS long, so that the
 * census's epoch decommits nothing) and reads the Rss of hz3's mappings from its own
 * /proc/self/smaps right before and right after. The census is compared with a reading only
 * when both readings agree (nothing moved meanwhile); it tries up to 50 times. Prints one line:
 * {@code CENSUS resident=N rss=N attempts=N consistent=0|1}.
 */
public final class CensusVsSmapsApp {

    private static final List<Object> KEEP = new ArrayList<>();

    private CensusVsSmapsApp() {
    }

    public static void main(String[] args) throws Exception {
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int seed = t;
            threads.add(new Thread(() -> work(seed), "census-work-" + t));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        Hz3Lib.bind();
        // One struct for every attempt: a new one would malloc its native memory between the
        // two readings.
        Hz3Structs.Snapshot s = new Hz3Structs.Snapshot();
        s.size = s.size();
        hz3Rss();   // the reading's own first allocations (classes, buffers) happen here
        long before = 0;
        long after = 0;
        for (int attempt = 1; attempt <= 50; attempt++) {
            before = hz3Rss();
            if (Hz3Lib.hz3_obs_snapshot(s) != 0) {
                throw new IllegalStateException("hz3_obs_snapshot refused struct size " + s.size);
            }
            after = hz3Rss();
            if (before == after) {
                System.out.println("CENSUS resident=" + s.census_resident_bytes + " rss=" + after + " attempts="
                        + attempt + " consistent=" + s.consistent);
                return;
            }
        }
        System.out.println("CENSUS no quiet moment in 50 attempts; last Rss " + before + " -> " + after
                + ", census " + s.census_resident_bytes);
    }

    private static void work(int seed) {
        Random rnd = new Random(seed);
        List<ByteBuffer> kept = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            int size = i % 500 == 0 ? 100_000 + rnd.nextInt(2_000_000) : 16 + rnd.nextInt(i % 10 == 0 ? 30_000 : 2_000);
            ByteBuffer b = ByteBuffer.allocateDirect(size);
            for (int k = 0; k < size; k += 8) {
                b.put(k, (byte) 1);
            }
            if (rnd.nextBoolean()) {
                kept.add(b);
            } else {
                UnsafeAccess.free(b);
            }
            if (i % 1000 == 0) {
                zip(rnd);
            }
        }
        synchronized (KEEP) {
            KEEP.add(kept);
        }
    }

    private static void zip(Random rnd) {
        byte[] in = new byte[50_000];
        for (int i = 0; i < in.length; i++) {
            in[i] = (byte) ('a' + rnd.nextInt(4));
        }
        Deflater d = new Deflater();
        d.setInput(in);
        d.finish();
        byte[] out = new byte[60_000];
        int n = d.deflate(out);
        d.end();
        Inflater f = new Inflater();
        f.setInput(out, 0, n);
        try {
            f.inflate(new byte[in.length]);
        } catch (java.util.zip.DataFormatException e) {
            throw new IllegalStateException(e);
        } finally {
            f.end();
        }
    }

    /** The Rss of the smaps entries that overlap one of hz3's mappings. */
    static long hz3Rss() throws IOException {
        long[] m = Hz3Lib.mappings();
        long total = 0;
        boolean ours = false;
        try (BufferedReader r = Files.newBufferedReader(Path.of("/proc/self/smaps"), StandardCharsets.US_ASCII)) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                int dash = line.indexOf('-');
                int space = line.indexOf(' ');
                if (dash > 0 && space > dash && isHex(line, 0, dash)) {
                    long lo = Long.parseUnsignedLong(line.substring(0, dash), 16);
                    long hi = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                    ours = false;
                    for (int i = 0; i + 1 < m.length; i += 2) {
                        if (Long.compareUnsigned(lo, m[i + 1]) < 0 && Long.compareUnsigned(hi, m[i]) > 0) {
                            ours = true;
                        }
                    }
                } else if (ours && line.startsWith("Rss:")) {
                    total += Long.parseLong(line.substring(4, line.length() - 2).trim()) * 1024;
                }
            }
        }
        return total;
    }

    private static boolean isHex(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            if (Character.digit(s.charAt(i), 16) < 0) {
                return false;
            }
        }
        return to > from;
    }
}
