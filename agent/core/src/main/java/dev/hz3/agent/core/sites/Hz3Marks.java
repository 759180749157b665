package dev.hz3.agent.core.sites;

import dev.hz3.agent.core.nat.Hz3Sites;
import java.nio.LongBuffer;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * Under hz3: tells hz3 which call its mallocs belong to (hz3.h, "Sampled allocations and the Java
 * call sites that made them"). Each thread has a slot in hz3, two words (site, sampled), which
 * this class reaches through a direct buffer made once per thread (no Unsafe, no JNA call per
 * use). Around an advised call:
 * <ul>
 *   <li>enter writes a fresh token (bit 63 set) into slot.site, keeping the old value and
 *       slot.sampled; every sample hz3 takes in this thread meanwhile records the token (zlib's
 *       mallocs inside a Deflater's constructor among them), and hz3 counts it in slot.sampled;</li>
 *   <li>exit puts the old value back and, only when slot.sampled moved, names the call's site
 *       (its stack walk), has hz3 relabel the token's samples to that site's id, and returns
 *       their hz3.NativeAllocationSample events for the advice to commit (see
 *       {@link Hz3Samples}). A call of the agent's own has no site: its samples go to site 0.</li>
 * </ul>
 * An unsampled call costs a thread-local read and four accesses to the slot; nothing allocates.
 * Calls nest up to {@value #DEPTH} deep (deeper ones are not marked); an exit unwinds any inner
 * mark left by a constructor that threw.
 */
final class Hz3Marks {

    static final int DEPTH = 8;
    private static final long TOKEN = 1L << 63;
    private static final AtomicLong THREADS = new AtomicLong();

    private static final class PerThread {
        final LongBuffer slot = Hz3Sites.slot();
        /** Token bits 40..62: the thread; 0..39: its calls. */
        final long thread = (THREADS.incrementAndGet() & 0x7f_ffff) << 40;
        long calls;
        int depth;
        boolean busy;
        final long[] saved = new long[DEPTH];
        final long[] sampledAt = new long[DEPTH];
        /** The site the last exit named, for the allocation that follows it (see named). */
        Site named;
        /** Its call's kind; -1: nothing named since this thread's last enter. */
        int namedKind = -1;
    }

    /** What {@link #named} returns when the exit before did not name the call. */
    static final Site NOT_NAMED = new Site(-1, "", "", 0);

    /** An anonymous class, not withInitial(PerThread::new): no lambda (see {@link Order}). */
    private final ThreadLocal<PerThread> perThread = new ThreadLocal<>() {
        @Override
        protected PerThread initialValue() {
            return new PerThread();
        }
    };
    /** The site of a call of the given kind, named from the current stack (null: the agent's). */
    private final IntFunction<Site> siteOf;
    private final Hz3Samples samples = new Hz3Samples();

    Hz3Marks(IntFunction<Site> siteOf) {
        this.siteOf = siteOf;
    }

    int enter() {
        PerThread t = perThread.get();
        t.namedKind = -1;
        if (t.busy || t.depth >= DEPTH) {
            return 0;
        }
        int d = t.depth;
        // Outermost, the slot must hold 0: anything else is a mark a throwing constructor left.
        t.saved[d] = d == 0 ? 0 : t.slot.get(0);
        t.sampledAt[d] = t.slot.get(1);
        t.slot.put(0, TOKEN | t.thread | (t.calls++ & 0xff_ffff_ffffL));
        t.depth = d + 1;
        return d + 1;
    }

    /** The events of the samples hz3 took inside the call, or null (nearly always). */
    Object[] exit(int mark, int kind) {
        PerThread t = perThread.get();
        int d = mark - 1;
        if (d >= t.depth) {
            return null;   // unwound already by an outer exit
        }
        long token = t.slot.get(0);
        t.slot.put(0, t.saved[d]);
        t.depth = d;
        if (t.slot.get(1) != t.sampledAt[d] && !t.busy && token < 0) {
            t.busy = true;
            try {
                Site site = siteOf.apply(kind);
                t.named = site;
                t.namedKind = kind;
                Hz3Sites.hz3_site_rename(token, site == null ? 0 : site.id);
                return samples.claim(token, site);
            } finally {
                t.busy = false;
            }
        }
        return null;
    }

    /**
     * The site (null: the agent's own call) that this thread's last exit named, when it was of
     * kind and no call was marked since: Unsafe.allocateMemory's exit, where hz3 sampled the
     * malloc inside, comes right before the same call's allocation, which the sampler may sample
     * too (a large block nearly always is, by both): one stack walk for the two. Else NOT_NAMED.
     * Taken once.
     */
    Site named(int kind) {
        PerThread t = perThread.get();
        Site s = t.namedKind == kind ? t.named : NOT_NAMED;
        t.namedKind = -1;
        t.named = null;
        return s;
    }

    /** hz3's ring drained now (records outside marked calls dropped): see Hz3Samples. */
    void drain() {
        samples.drain();
    }

    /** Warms this thread's slot up (JNA, the buffer), before any advised call can need it. */
    void warmUp() {
        perThread.get();
        samples.warmUp();
    }

    /** JFR is up: claims make events from now on (see SiteSampler.eventsReady). */
    void eventsReady() {
        samples.eventsReady();
    }
}
