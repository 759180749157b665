package dev.hz3.agent.core.sites;

import dev.hz3.agent.boot.NativeAllocHooks;
import dev.hz3.agent.core.Log;
import dev.hz3.agent.core.nat.Hz3Sites;
import dev.hz3.jfr.NativeAllocationSampleEvent;
import dev.hz3.jfr.NativeSiteEvent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntFunction;

/**
 * Samples native allocations by bytes and keeps the sampled blocks until they are freed.
 *
 * <p>Sampling, as jemalloc's {@code lg_prof_sample} and async-profiler's {@code nativemem=N}:
 * sample points fall on the stream of bytes a thread allocates as a Poisson process of mean
 * interval {@code sampleBytes} (N). Each thread counts down the bytes to its next point, drawn
 * from an exponential distribution; an allocation of s bytes that reaches the point is sampled,
 * which happens with probability p(s) = 1 - exp(-s/N), and the countdown is drawn again. An
 * unsampled call is a thread-local read and a subtraction: no allocation, no lock.
 *
 * <p>Estimator: a sample of s bytes weighs w = s / p(s) (Horvitz-Thompson: the expected sum of
 * weights over a site's allocations is their bytes, whatever their sizes). A site's live bytes
 * are estimated by the sum of the weights of its samples not freed yet; the relative error of
 * that sum is about 1/sqrt(live samples) for blocks much smaller than N, and 0 for blocks much
 * larger (they are always sampled and weigh their size).
 *
 * <p>A sampled call walks its stack to name its site ({@link SiteNames}), remembers the block,
 * and hands its hz3.NativeAllocationSample to the advice, which commits it in the allocating
 * thread: JFR records the stack itself, from the advised JDK method down. A call from inside the
 * sampler itself (JFR or the stack walk allocating natively) is not sampled.
 *
 * <p>Events only once JFR is up ({@link #eventsReady}): an hz3 event class loaded before JFR
 * starts is instrumented by a class redefinition when JFR registers it, and every redefinition
 * throws away the compilations in flight (the JIT's longest, a second or more, among them).
 */
final class SiteSampler extends NativeAllocHooks {

    private static final class PerThread {
        long countdown;
        boolean busy;
    }

    private final double mean;
    private final ThreadLocal<PerThread> perThread;
    private final LiveSamples live = new LiveSamples();
    private final SiteNames names;
    /** Under hz3: the calls whose own mallocs hz3 attributes; null under another malloc. */
    private final Hz3Marks marks;
    private volatile int topSites;
    private volatile boolean failed;
    /** JFR is up and the event classes are loaded: sampled calls make events. */
    private volatile boolean events;
    private final Object eventsLock = new Object();

    /** hz3: hz3 is the malloc (its samples and census are joined to the sites). */
    SiteSampler(long sampleBytes, int topSites, boolean hz3) {
        this(sampleBytes, topSites, hz3, SiteNames.WALKER_AFTER);
    }

    /** walkerAfter: sampled calls named before the StackWalker names them (see SiteNames). */
    SiteSampler(long sampleBytes, int topSites, boolean hz3, long walkerAfter) {
        this.names = new SiteNames(walkerAfter);
        this.mean = sampleBytes;
        this.topSites = topSites;
        this.marks = hz3 ? new Hz3Marks(new SiteOf(this)) : null;
        this.perThread = new ThreadLocal<>() {
            @Override
            protected PerThread initialValue() {
                PerThread t = new PerThread();
                t.countdown = nextInterval();
                return t;
            }
        };
    }

    boolean hz3() {
        return marks != null;
    }

    long sampleBytes() {
        return (long) mean;
    }

    void setTopSites(int n) {
        topSites = n;
    }

    /** Bytes to the next sample point: exponential with mean N, at least 1. */
    private long nextInterval() {
        double u = ThreadLocalRandom.current().nextDouble();   // [0, 1)
        return 1 + (long) (-Math.log(1 - u) * mean);
    }

    /** Weight of a sample of size bytes: size / (1 - exp(-size / N)). */
    static double weight(long size, double mean) {
        double p = -Math.expm1(-(double) size / mean);
        return p <= 0 ? mean : size / p;
    }

    @Override
    protected Object onAlloc(long address, long bytes, int kind) {
        PerThread t = perThread.get();
        if ((t.countdown -= bytes) > 0 || t.busy) {
            return null;
        }
        t.busy = true;
        try {
            t.countdown = nextInterval();
            return sampled(address, bytes, kind);
        } catch (Throwable e) {
            failedOnce(e);
            return null;
        } finally {
            t.busy = false;
        }
    }

    @Override
    protected int onEnter() {
        return marks == null ? 0 : marks.enter();
    }

    @Override
    protected Object[] onExit(int mark, int kind) {
        return marks == null ? null : marks.exit(mark, kind);
    }

    @Override
    protected void onFree(long address) {
        live.remove(address);
    }

    /** Keeps the sample; returns its event for the advice to commit, or null when not recorded. */
    private NativeAllocationSampleEvent sampled(long address, long bytes, int kind) {
        Site site = marks == null ? Hz3Marks.NOT_NAMED : marks.named(kind);
        if (site == Hz3Marks.NOT_NAMED) {
            site = siteOf(kind);
        }
        if (site == null) {
            return null;   // the agent's own
        }
        double w = weight(bytes, mean);
        live.put(new Sample(address, bytes, w, site, System.nanoTime()));
        if (!events) {
            return null;
        }
        NativeAllocationSampleEvent e = new NativeAllocationSampleEvent();
        if (!e.shouldCommit()) {
            return null;
        }
        e.address = address;
        e.size = bytes;
        e.weight = Math.round(w);
        e.kind = site.kind();
        e.site = site.site;
        e.source = "agent";
        e.tier = "";
        e.sizeClass = -1;
        return e;
    }

    /** The site of the allocation being sampled (see SiteNames); null: the agent's own. */
    private Site siteOf(int kind) {
        return names.siteOf(kind, false);
    }

    /** siteOf for Hz3Marks: a class, not a method reference (see {@link Order}). */
    private static final class SiteOf implements IntFunction<Site> {
        private final SiteSampler sampler;

        SiteOf(SiteSampler sampler) {
            this.sampler = sampler;
        }

        @Override
        public Site apply(int kind) {
            return sampler.siteOf(kind);
        }
    }

    private void failedOnce(Throwable e) {
        if (!failed) {
            failed = true;
            Log.warn("native attribution: a sampled call failed: " + Log.describe(e) + " (said once)");
        }
    }

    /** Per site: estimated live bytes, live samples, oldest live sample's nanoTime. */
    static final class Tally {
        final Site site;
        double liveBytes;
        long samples;
        long oldest = Long.MAX_VALUE;
        /** From hz3's census (0 when hz3 has no live sample of the site). */
        long nativeLiveBytes;
        long pinnedPages;
        long pinnedBytes;

        Tally(Site site) {
            this.site = site;
        }
    }

    /** Every site with live samples, by estimated live bytes, largest first. */
    List<Tally> tally() {
        Map<Site, Tally> by = new HashMap<>();
        for (Sample s : live.all()) {
            Tally t = by.get(s.site);
            if (t == null) {
                t = new Tally(s.site);
                by.put(s.site, t);
            }
            t.liveBytes += s.weight;
            t.samples++;
            t.oldest = Math.min(t.oldest, s.nanoTime);
        }
        List<Tally> out = new ArrayList<>(by.values());
        out.sort(Order.BY_LIVE);
        return out;
    }

    /** hz3.NativeSite now (see {@link SiteReport}); one at a time. */
    synchronized void commitSites() {
        if (marks != null) {
            marks.drain();   // hz3's ring, so that it does not fill between sampled calls
        }
        SiteReport.commit(this);
    }

    int topSites() {
        return topSites;
    }

    /** The site hz3 knows by id, or null (a token not relabelled, site 0, another sampler's). */
    Site byId(long id) {
        return names.byId(id);
    }

    Collection<Site> sites() {
        return names.sites();
    }

    /** Fills the hooks' slot: advised calls reach this sampler from now on. */
    void activate() {
        NativeAllocHooks.current = this;
    }

    /** Empties the slot (when it is this sampler): advised calls do nothing from now on. */
    void deactivate() {
        if (NativeAllocHooks.current == this) {
            NativeAllocHooks.current = null;
        }
    }

    /**
     * Loads and initialises what a sampled call uses, before any advised call can reach it: a
     * class first loaded inside Unsafe.allocateMemory, perhaps under a class-loading lock of
     * the thread that allocates, could deadlock.
     */
    void warmUp() {
        if (marks != null) {
            marks.warmUp();
            Hz3Sites.census();
        }
        siteOf(KIND_UNSAFE);
        Site s = names.warmUp(KIND_UNSAFE);
        live.put(new Sample(1, 1, weight(1, mean), s, System.nanoTime()));
        live.remove(1);
        tally();
        perThread.get();
        names.clear();
    }

    /**
     * JFR is up: loads what a sampled call's event uses (the event classes, the kinds' names),
     * then lets sampled calls make events. Before, no recording can take them anyway.
     */
    void eventsReady() {
        // Not this sampler's lock, which commitSites holds inside JFR's chunk hooks: JFR calls
        // this from its listener, and loading an event class calls into JFR.
        synchronized (eventsLock) {
            if (events) {
                return;
            }
            if (marks != null) {
                marks.eventsReady();
            }
            new Site(0, "", "", KIND_UNSAFE).kind();
            new NativeAllocationSampleEvent().shouldCommit();
            new NativeSiteEvent().isEnabled();
            events = true;
        }
    }

    /** Live samples now (for the status line). */
    int liveCount() {
        return live.all().size();
    }

    void clear() {
        live.clear();
        names.clear();
    }
}
