package dev.hz3.samples;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;

/**
 * A native memory leak of the kind no Java heap tool shows: every request compresses its payload
 * with a new {@link Deflater} that is kept (in a per-session list that nothing clears) and never
 * {@code end()}ed, and keeps a direct buffer it will never use again. zlib's state (about 260 KiB
 * per stream) and the buffers stay allocated for as long as the JVM runs, growing steadily.
 *
 * <p>For contrast, the same requests borrow a scratch buffer from a pool and give it back: the
 * pool holds as many buffers as requests run at once, so that site's memory plateaus. Run with the agent's {@code attribution=on}: the rule
 * "Native memory growth" names {@link #compressRequest} and {@link #keepReply}, not the pool.
 * Exit 0 on success, 2 on bad arguments.
 */
public final class NativeLeak {

    static final String USAGE = """
            usage: NativeLeak [--size MIB] [--seconds S]
            Serves requests for S seconds (default 10), leaking about MIB (default 8) of native
            memory a second: each request compresses with a new java.util.zip.Deflater that is
            kept and never ended, and keeps a 256 KiB direct buffer. A pool of 512 KiB scratch
            buffers, borrowed and returned by every request, is the part that does not grow.
            """ + SampleOptions.heldUsage("the leak");

    static final SampleOptions.Defaults DEFAULTS = new SampleOptions.Defaults(8, 10,
            SampleOptions.Defaults.TIMED_ONLY, 0);

    /** Bytes of each kept direct buffer. */
    static final int REPLY_BYTES = 256 << 10;
    /** zlib's deflate state at the JDK's settings (window, hash chains, pending buffer). */
    static final int DEFLATER_BYTES = 4 * 65_536 + 6_144;
    static final int POOL_BUFFER_BYTES = 512 << 10;

    /** The leak: sessions that are never closed. */
    static final List<Deflater> SESSIONS = new ArrayList<>();
    static final List<ByteBuffer> REPLIES = new ArrayList<>();
    static final List<ByteBuffer> POOL = new ArrayList<>();

    private NativeLeak() {
    }

    public static void main(String[] args) throws InterruptedException {
        SampleOptions o = SampleOptions.parseOrExit("NativeLeak", USAGE, args, DEFAULTS, false);
        Phases.idle(o.idleBeforeSeconds(), "idle-before-start", null);
        Phases.mark("work-start");
        long perSecond = ((long) o.sizeMib() << 20) / (DEFLATER_BYTES + REPLY_BYTES);
        long perTick = Math.max(1, perSecond / Pacer.TICKS_PER_SECOND);
        long[] requests = {0};
        Pacer.run(o.seconds(), (tick, ticks) -> {
            // A tick's requests are in flight together, each with a scratch buffer from the pool.
            List<ByteBuffer> inFlight = new ArrayList<>();
            for (long r = 0; r < perTick; r++) {
                ByteBuffer scratch = borrow();
                inFlight.add(scratch);
                compressRequest(scratch, requests[0]++);
                keepReply();
            }
            POOL.addAll(inFlight);
        });
        Phases.mark("work-end");
        System.out.printf("NativeLeak: requests=%d leaked_deflaters=%d leaked_buffers=%d leaked_bytes=%d"
                + " pool_buffers=%d%n", requests[0], SESSIONS.size(), REPLIES.size(),
                (long) SESSIONS.size() * DEFLATER_BYTES + (long) REPLIES.size() * REPLY_BYTES, POOL.size());
        Phases.idle(o.idleAfterSeconds(), null, "idle-end");
        System.exit(0);
    }

    /** The leaking frame: a Deflater per request, kept and never ended. */
    static void compressRequest(ByteBuffer scratch, long id) {
        Deflater d = new Deflater();
        SESSIONS.add(d);
        scratch.clear();
        byte[] payload = ("request " + id + " ").repeat(64).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        d.setInput(payload);
        d.finish();
        byte[] out = new byte[payload.length];
        int n = d.deflate(out);
        scratch.put(out, 0, Math.min(n, scratch.remaining()));
    }

    /** The other leaking frame: a direct buffer per request, kept. */
    static void keepReply() {
        REPLIES.add(ByteBuffer.allocateDirect(REPLY_BYTES));
    }

    /** A pooled scratch buffer: allocated until the pool holds its bound, then reused. */
    static ByteBuffer borrow() {
        if (!POOL.isEmpty()) {
            return POOL.remove(POOL.size() - 1);
        }
        return ByteBuffer.allocateDirect(POOL_BUFFER_BYTES);
    }
}
