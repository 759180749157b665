package dev.hz3.samples;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.Deflater;

/**
 * The look-alike of {@link NativeLeak} that is not a leak: a cache of compression sessions, each a
 * {@link Deflater} and a direct buffer (the same kinds of native memory as the leak), that grows to
 * its bound in the first third of the run and then stays there. Most requests hit the cache; a
 * miss evicts the least recently used session, ends its Deflater and hands its buffer to the new
 * one, so the native memory plateaus. The rule "Native memory growth" must not call this a leak.
 * Exit 0 on success, 2 on bad arguments.
 */
public final class NativeCache {

    static final String USAGE = """
            usage: NativeCache [--size MIB] [--seconds S]
            Serves requests for S seconds (default 10) from a cache of compression sessions (a
            java.util.zip.Deflater and a 256 KiB direct buffer each) bounded to about MIB (default
            32) of native memory. The cache fills during the first third of the run; after that
            one request in 50 misses, and a miss ends the least recently used session's Deflater
            and reuses its buffer.
            """ + SampleOptions.heldUsage("the cache");

    static final SampleOptions.Defaults DEFAULTS = new SampleOptions.Defaults(32, 10,
            SampleOptions.Defaults.TIMED_ONLY, 0);

    static final int BUFFER_BYTES = 256 << 10;
    /** zlib's deflate state at the JDK's settings (window, hash chains, pending buffer). */
    static final int DEFLATER_BYTES = 4 * 65_536 + 6_144;
    /** After the fill, one request in this many misses the cache. */
    static final int MISS_EVERY = 50;

    /** A cached compression session. */
    record Session(Deflater deflater, ByteBuffer buffer) {
    }

    private NativeCache() {
    }

    public static void main(String[] args) throws InterruptedException {
        SampleOptions o = SampleOptions.parseOrExit("NativeCache", USAGE, args, DEFAULTS, false);
        int bound = (int) Math.max(1, ((long) o.sizeMib() << 20) / (DEFLATER_BYTES + BUFFER_BYTES));
        Map<Long, Session> cache = new LinkedHashMap<>(16, 0.75f, true);
        long[] counts = {0, 0, 0};   // requests, misses, evictions
        Phases.idle(o.idleBeforeSeconds(), "idle-before-start", null);
        Phases.mark("work-start");
        Pacer.run(o.seconds(), (tick, ticks) -> {
            long fillTicks = Math.max(1, ticks / 3);
            int perTick = (int) Math.max(1, (bound + fillTicks - 1) / fillTicks);
            for (int r = 0; r < perTick; r++) {
                long n = counts[0]++;
                // While filling every request is a new key; then most reuse a cached one.
                boolean miss = cache.size() < bound || n % MISS_EVERY == 0;
                long key = miss ? n : cache.keySet().iterator().next();
                Session s = cache.get(key);
                if (s == null) {
                    counts[1]++;
                    s = openSession(evictIfFull(cache, bound, counts));
                    cache.put(key, s);
                }
                compress(s, n);
            }
        });
        Phases.mark("work-end");
        System.out.printf("NativeCache: requests=%d misses=%d evictions=%d sessions=%d bound=%d cached_bytes=%d%n",
                counts[0], counts[1], counts[2], cache.size(), bound,
                (long) cache.size() * (DEFLATER_BYTES + BUFFER_BYTES));
        Phases.idle(o.idleAfterSeconds(), null, "idle-end");
        System.exit(0);
    }

    /** The buffer of the evicted session, to reuse, or null when the cache has room. */
    private static ByteBuffer evictIfFull(Map<Long, Session> cache, int bound, long[] counts) {
        if (cache.size() < bound) {
            return null;
        }
        var eldest = cache.entrySet().iterator();
        Session old = eldest.next().getValue();
        eldest.remove();
        old.deflater().end();
        counts[2]++;
        return old.buffer();
    }

    /** The cache's allocating frame: a Deflater, and a buffer unless one is handed down. */
    static Session openSession(ByteBuffer reused) {
        ByteBuffer buffer = reused != null ? reused : ByteBuffer.allocateDirect(BUFFER_BYTES);
        return new Session(new Deflater(), buffer);
    }

    private static void compress(Session s, long id) {
        Deflater d = s.deflater();
        d.reset();
        byte[] payload = ("request " + id + " ").repeat(64).getBytes(StandardCharsets.US_ASCII);
        d.setInput(payload);
        d.finish();
        byte[] out = new byte[payload.length];
        int n = d.deflate(out);
        s.buffer().clear();
        s.buffer().put(out, 0, Math.min(n, s.buffer().remaining()));
    }
}
