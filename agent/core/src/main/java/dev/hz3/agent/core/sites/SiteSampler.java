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
import java.util.Spliterator;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.stream.Stream;

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
 * <p>A sampled call walks its stack (a Throwable's frames, see {@link SiteWalk}; past
 * {@link #WALKER_AFTER} sampled calls the JDK's StackWalker, see {@link SiteStackWalk}) to name its
 * site, remembers the block, and hands its hz3.NativeAllocationSample to the advice, which
 * commits it in the allocating thread: JFR records the stack itself, from the advised JDK method
 * down. The walk stops at the first frame outside the JDK, and a site seen before is found by
 * that frame's key ({@link SiteKey}) with nothing described. A call from inside the sampler
 * itself (JFR or the stack walk allocating natively) is not sampled.
 *
 * <p>Events only once JFR is up ({@link #eventsReady}): an hz3 event class loaded before JFR
 * starts is instrumented by a class redefinition when JFR registers it, and every redefinition
 * throws away the compilations in flight (the JIT's longest, a second or more, among them).
 *
 * <p>The agent's own allocations are not a site: a sampled call whose first frame outside the JDK
 * is the agent's (a class of its loader: its sampler of /proc/self/smaps reading a file, its
 * metrics server, its JNA; or of its package: the loader inflating the agent's inner jars), or whose frames are all the JDK's on a thread the agent started, is dropped.
 */
final class SiteSampler extends NativeAllocHooks {

    /** Most distinct sites kept; later new ones count under one "(other sites)" site. */
    static final int MAX_SITES = 10_000;
    /** Most site keys remembered (past MAX_SITES, every new key names "(other sites)"). */
    static final int MAX_KEYS = 4 * MAX_SITES;

    /**
     * Sampled calls named from a Throwable's frames ({@link SiteWalk}) before this many, with the
     * JDK's StackWalker ({@link SiteStackWalk}) after: the walker costs a sampled call less once
     * compiled, but its compilation is a fixed cost that only a long run amortises (bench/RESULTS.md,
     * 2026-12-03 night: a short run samples a few thousand calls).
     */
    static final long WALKER_AFTER = 20_000;
    /**
     * The walker's first batch of frames, which holds a usual allocation's stack down to its
     * site (this sampler's frames, the JDK's, then the application's): one native fetch, not two
     * as with the JDK's default batch. Not more: each frame of a batch is an object made per walk.
     */
    private static final StackWalker WALKER = StackWalker.getInstance(
            java.util.Set.of(StackWalker.Option.RETAIN_CLASS_REFERENCE), 16);
    /** The prefix of every thread the agent starts (hz3-epoch, hz3-metrics, hz3-agent-control ...). */
    private static final String OWN_THREADS = "hz3-";

    private static final class PerThread {
        long countdown;
        boolean busy;
    }

    private final double mean;
    private final long walkerAfter;
    private final AtomicLong named = new AtomicLong();
    private final ThreadLocal<PerThread> perThread;
    private final LiveSamples live = new LiveSamples();
    private final Map<String, Site> sites = new ConcurrentHashMap<>();
    /** Site frames seen, to their site. */
    private final Map<SiteKey, Site> known = new ConcurrentHashMap<>();
    private final Map<Long, Site> byId = new ConcurrentHashMap<>();
    /** Never reused in a JVM: hz3 keeps the ids of samples relabelled by an earlier sampler. */
    private static final AtomicLong nextSiteId = new AtomicLong();
    /** Under hz3: the calls whose own mallocs hz3 attributes; null under another malloc. */
    private final Hz3Marks marks;
    private volatile int topSites;
    private volatile boolean failed;
    /** JFR is up and the event classes are loaded: sampled calls make events. */
    private volatile boolean events;
    private final Object eventsLock = new Object();

    /** hz3: hz3 is the malloc (its samples and census are joined to the sites). */
    SiteSampler(long sampleBytes, int topSites, boolean hz3) {
        this(sampleBytes, topSites, hz3, WALKER_AFTER);
    }

    /** walkerAfter: sampled calls named before the StackWalker names them (see WALKER_AFTER). */
    SiteSampler(long sampleBytes, int topSites, boolean hz3, long walkerAfter) {
        this.walkerAfter = walkerAfter;
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

    /**
     * The site of the allocation being sampled: the first frame outside the JDK (and outside
     * this sampler), and the JDK method it called; when every frame is the JDK's, the first frame
     * past the allocation machinery (Unsafe, the buffers, zlib's streams, the FFM internals).
     */
    private Site siteOf(int kind) {
        return siteOf(kind, false);
    }

    /** ownToo: the agent's own call is named too (only to warm the code up). */
    private Site siteOf(int kind, boolean ownToo) {
        return named.incrementAndGet() > walkerAfter ? siteByWalker(kind, ownToo)
                : siteByFrames(kind, ownToo);
    }

    /** siteOf from a Throwable's frames (see SiteWalk). */
    private Site siteByFrames(int kind, boolean ownToo) {
        SiteWalk w = new SiteWalk(kind);
        w.walk(new Throwable().getStackTrace());
        SiteKey key = null;
        String site;
        String entry = "";
        int k = w.kind;
        if (w.own || (w.site == null && ownThread())) {
            if (!ownToo) {
                return null;
            }
            site = "(warm-up)";
            k = kind;
        } else if (w.site != null) {
            key = new SiteKey(w.site, w.entry, k);
            Site s = known.get(key);
            if (s != null) {
                return s;
            }
            site = SiteWalk.describe(w.site);
            entry = w.entry != null ? w.entry.getClassName() + "." + w.entry.getMethodName() : "";
        } else if (w.firstJdk != null) {
            site = SiteWalk.describe(w.firstJdk);   // every frame is the JDK's (rare: a JDK thread's own work)
        } else {
            site = "(unknown)";
        }
        return site(key, site, entry, k);
    }

    /** siteOf with the JDK's StackWalker (see SiteStackWalk). */
    private Site siteByWalker(int kind, boolean ownToo) {
        SiteStackWalk w = new SiteStackWalk(kind, known);
        WALKER.walk(w);
        if (w.known != null) {
            return w.known;
        }
        String site = w.site;
        String entry = "";
        int k = w.kind;
        if (w.own || (w.key == null && ownThread())) {
            if (!ownToo) {
                return null;
            }
            site = "(warm-up)";
            k = kind;
        } else if (site != null) {
            entry = w.entryClass != null ? w.entryClass + "." + methodAt(w.entryAt) : "";
        } else if (w.firstJdkAt >= 0) {
            // Every frame is the JDK's (rare: a JDK thread's own work): walked again from the same
            // caller, so the same frames, to describe the one the first walk only counted.
            site = frameAt(w.firstJdkAt);
        } else {
            site = "(unknown)";
        }
        return site(w.own ? null : w.key, site, entry, k);
    }

    private static boolean ownThread() {
        return Thread.currentThread().getName().startsWith(OWN_THREADS);
    }

    /** The site named so (a new one unless known); key: the walk's key for it, or null. */
    private Site site(SiteKey key, String site, String entry, int k) {
        String sitesKey = k + "|" + entry + '|' + site;
        Site s = sites.get(sitesKey);
        if (s == null) {
            if (sites.size() >= MAX_SITES) {
                sitesKey = k + "||(other sites)";
                site = "(other sites)";
                entry = "";
            }
            synchronized (sites) {
                s = sites.get(sitesKey);
                if (s == null) {
                    s = new Site(nextSiteId.incrementAndGet(), site, entry, k);
                    byId.put(s.id, s);
                    sites.put(sitesKey, s);
                }
            }
        }
        if (key != null && known.size() < MAX_KEYS) {
            known.put(key, s);
        }
        return s;
    }

    /** The frame at (0: this method's caller), described, or "(unknown)". */
    private static String frameAt(int at) {
        return WALKER.walk(new FrameAt(at + 1, false));
    }

    /** The method name of the frame at (0: this method's caller), or "(unknown)". */
    private static String methodAt(int at) {
        return WALKER.walk(new FrameAt(at + 1, true));
    }

    /**
     * The frame skip frames down, described or its method's name; the walker's spliterator
     * stepped by hand as in SiteStackWalk (no stream pipeline, no lambda: see {@link Order}).
     */
    private static final class FrameAt
            implements Function<Stream<StackWalker.StackFrame>, String>, Consumer<StackWalker.StackFrame> {
        private int skip;
        private final boolean methodOnly;
        private String out = "(unknown)";

        FrameAt(int skip, boolean methodOnly) {
            this.skip = skip;
            this.methodOnly = methodOnly;
        }

        @Override
        public String apply(Stream<StackWalker.StackFrame> frames) {
            Spliterator<StackWalker.StackFrame> it = frames.spliterator();
            while (skip >= 0 && it.tryAdvance(this)) {
                // accept counts down to the frame
            }
            return out;
        }

        @Override
        public void accept(StackWalker.StackFrame f) {
            if (skip-- == 0) {
                out = methodOnly ? f.getMethodName() : SiteStackWalk.describe(f);
            }
        }
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
        return byId.get(id);
    }

    Collection<Site> sites() {
        return sites.values();
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
        Site s = siteOf(KIND_UNSAFE, true);
        // The walker's classes of the agent loaded now, not walked (its JDK classes load from
        // the bootstrap loader when it first walks, which needs no lock of the application's).
        new SiteStackWalk(KIND_UNSAFE, known);
        new FrameAt(0, false);
        live.put(new Sample(1, 1, weight(1, mean), s, System.nanoTime()));
        live.remove(1);
        tally();
        perThread.get();
        known.put(new SiteKey("", "", 0, null, null, 0), s);
        known.get(new SiteKey("", "", 0, "", "", 0));
        known.clear();
        sites.clear();
        byId.clear();
        named.set(0);
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
        known.clear();
        sites.clear();
        byId.clear();
    }
}
