package dev.hz3.agent.core.sites;

import java.util.Collection;
import java.util.Map;
import java.util.Spliterator;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Names sampled calls' sites for {@link SiteSampler}: walks the stack of the call being sampled
 * (a Throwable's frames, {@link SiteWalk}; past {@link #WALKER_AFTER} sampled calls in a JVM the
 * JDK's StackWalker, {@link SiteStackWalk}) and keeps the sites by their description, by the key
 * of their frame ({@link SiteKey}: a site seen before is found with nothing described) and by id
 * (hz3's census names sites by id).
 *
 * <p>The agent's own allocations are not a site: a sampled call whose first frame outside the JDK
 * is the agent's (a class of its loader: its sampler of /proc/self/smaps reading a file, its
 * metrics server, its JNA; or of its package: the loader inflating the agent's inner jars), or
 * whose frames are all the JDK's on a thread the agent started, is named null.
 */
final class SiteNames {

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

    private final long walkerAfter;
    /** Sampled calls named so far, for the switch to the walker. */
    private final AtomicLong named = new AtomicLong();
    private final Map<String, Site> sites = new ConcurrentHashMap<>();
    /** Site frames seen, to their site. */
    private final Map<SiteKey, Site> known = new ConcurrentHashMap<>();
    private final Map<Long, Site> byId = new ConcurrentHashMap<>();
    /** Never reused in a JVM: hz3 keeps the ids of samples relabelled by an earlier sampler. */
    private static final AtomicLong nextSiteId = new AtomicLong();

    /** walkerAfter: sampled calls named before the StackWalker names them (see WALKER_AFTER). */
    SiteNames(long walkerAfter) {
        this.walkerAfter = walkerAfter;
    }

    /**
     * The site of the allocation being sampled, or null for the agent's own call (ownToo: named
     * too, only to warm the code up): the first frame outside the JDK (and outside the sampler),
     * and the JDK method it called; when every frame is the JDK's, the first frame past the
     * allocation machinery (Unsafe, the buffers, zlib's streams, the FFM internals).
     */
    Site siteOf(int kind, boolean ownToo) {
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

    /** The site hz3 knows by id, or null. */
    Site byId(long id) {
        return byId.get(id);
    }

    Collection<Site> sites() {
        return sites.values();
    }

    /**
     * Names a call of the agent's own (a site to warm the sampler with), and loads the walker's
     * classes of the agent without walking (its JDK classes load from the bootstrap loader when
     * it first walks, which needs no lock of the application's). Call clear() after.
     */
    Site warmUp(int kind) {
        Site s = siteOf(kind, true);
        new SiteStackWalk(kind, known);
        new FrameAt(0, false);
        known.put(new SiteKey("", "", 0, null, null, 0), s);
        known.get(new SiteKey("", "", 0, "", "", 0));
        return s;
    }

    void clear() {
        known.clear();
        sites.clear();
        byId.clear();
        named.set(0);
    }
}
