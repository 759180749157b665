package dev.hz3.agent.core.sites;

import dev.hz3.agent.core.metrics.SiteFeed;
import dev.hz3.agent.core.nat.Hz3Sites;
import dev.hz3.agent.core.sites.SiteSampler.Tally;
import dev.hz3.jfr.NativeSiteEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * hz3.NativeSite: which sites a period (or a chunk's end) names, and what it says of each, from
 * the sampler's live samples and, under hz3, hz3's census per site.
 */
final class SiteReport {

    private SiteReport() {
    }

    /**
     * hz3.NativeSite now: the union of the top {@code sites} by estimated live bytes, by growth
     * since the previous hz3.NativeSite and by pinned bytes (hz3 only), so that a site growing
     * from small, or pinning pages with few bytes, is named although others hold more. Run by
     * the event's periodic hook and at every chunk's end (a recording's stop, a dump), so a
     * recording shorter than the period has its sites too.
     */
    static void commit(SiteSampler sampler) {
        if (!new NativeSiteEvent().isEnabled()) {
            return;
        }
        List<Tally> byLive = sampler.tally();
        long now = System.nanoTime();
        int n = sampler.topSites();
        boolean hz3 = sampler.hz3();
        if (hz3) {
            joinHz3(sampler, byLive, now);
        }
        Set<Tally> chosen = new LinkedHashSet<>(byLive.subList(0, Math.min(n, byLive.size())));
        List<Tally> byGrowth = new ArrayList<>(byLive);
        byGrowth.sort(Order.BY_GROWTH);
        for (Tally t : byGrowth.subList(0, Math.min(n, byGrowth.size()))) {
            if (growth(t) > 0) {
                chosen.add(t);
            }
        }
        if (hz3) {
            List<Tally> byPinned = new ArrayList<>(byLive);
            byPinned.sort(Order.BY_PINNED);
            for (Tally t : byPinned.subList(0, Math.min(n, byPinned.size()))) {
                if (t.pinnedBytes > 0) {
                    chosen.add(t);
                }
            }
        }
        Map<Site, Integer> rank = new HashMap<>();
        for (int i = 0; i < byLive.size(); i++) {
            rank.put(byLive.get(i).site, i + 1);
        }
        for (Tally t : chosen) {
            NativeSiteEvent e = new NativeSiteEvent();
            e.rank = rank.get(t.site);
            e.site = t.site.site;
            e.kind = t.site.kind();
            e.entry = t.site.entry;
            e.liveBytes = Math.round(t.liveBytes);
            e.liveSamples = t.samples;
            e.oldestAge = now - t.oldest;
            e.growthBytes = Math.round(growth(t));
            e.sampleBytes = sampler.sampleBytes();
            if (hz3) {
                e.nativeLiveBytes = t.nativeLiveBytes;
                e.pinnedPages = t.pinnedPages;
                e.pinnedBytes = t.pinnedBytes;
            }
            e.commit();
        }
        Map<Site, Double> liveNow = new HashMap<>();
        for (Tally t : byLive) {
            liveNow.put(t.site, t.liveBytes);
        }
        for (Site s : sampler.sites()) {
            s.lastLive = liveNow.getOrDefault(s, 0.0);
        }
    }

    /**
     * hz3's census per site joined to the tallies: its estimate of the live bytes sampled inside
     * the site's calls and the pages they pin. A site hz3 holds samples for but the agent's own
     * sampler does not (its Java-visible blocks all freed, zlib's still live) is added, its Java
     * estimate 0. hz3's site 0 (mallocs outside any marked call) and tokens not yet relabelled
     * are not a Java site: left out.
     */
    private static void joinHz3(SiteSampler sampler, List<Tally> byLive, long now) {
        long[] c = Hz3Sites.census();
        Map<Site, Tally> bySite = new HashMap<>();
        for (Tally t : byLive) {
            bySite.put(t.site, t);
        }
        for (int i = 0; i + Hz3Sites.STAT_WORDS <= c.length; i += Hz3Sites.STAT_WORDS) {
            Site s = sampler.byId(c[i + Hz3Sites.STAT_SITE]);
            if (s == null) {
                continue;
            }
            Tally t = bySite.get(s);
            if (t == null) {
                t = new Tally(s);
                t.oldest = now - c[i + Hz3Sites.STAT_OLDEST_AGE_MS] * 1_000_000;
                bySite.put(s, t);
                byLive.add(t);
            }
            t.nativeLiveBytes = c[i + Hz3Sites.STAT_LIVE_BYTES];
            t.pinnedPages = c[i + Hz3Sites.STAT_PINNED_PAGES];
            t.pinnedBytes = c[i + Hz3Sites.STAT_PINNED_BYTES];
        }
        foldInflaterWindows(byLive);
    }

    static final String INFLATER = "inflater";
    static final String INFLATER_INIT = "java.util.zip.Inflater.<init>";

    /** Where zlib mallocs an inflate stream's window: its first inflate that produces output. */
    static boolean isWindowEntry(String entry) {
        return entry.equals("java.util.zip.Inflater.inflate") || entry.equals("java.util.zip.Inflater.setDictionary");
    }

    /**
     * An Inflater's window is sampled at the site of its first inflate, its state at the site
     * that made it: one leak of Inflaters would show as two sites, lines apart. The window's
     * site is folded into the creating site of the same method (Class.method; the one with the
     * most live bytes if there are several), so that one leak is one site, named where the
     * Inflaters are made. Naming the creating site of each window exactly would need a stack
     * walk per Inflater made; a window inflated in another method than its Inflater was made in
     * keeps its own site.
     */
    static void foldInflaterWindows(List<Tally> byLive) {
        Map<String, Tally> made = new HashMap<>();
        for (Tally t : byLive) {
            if (INFLATER.equals(t.site.kind()) && INFLATER_INIT.equals(t.site.entry)) {
                String m = method(t.site.site);
                Tally had = made.get(m);
                if (had == null || t.liveBytes + t.nativeLiveBytes > had.liveBytes + had.nativeLiveBytes) {
                    made.put(m, t);
                }
            }
        }
        if (made.isEmpty()) {
            return;
        }
        for (Iterator<Tally> it = byLive.iterator(); it.hasNext();) {
            Tally w = it.next();
            Tally m = INFLATER.equals(w.site.kind()) && isWindowEntry(w.site.entry) ? made.get(method(w.site.site)) : null;
            if (m == null) {
                continue;
            }
            m.liveBytes += w.liveBytes;
            m.samples += w.samples;
            m.oldest = Math.min(m.oldest, w.oldest);
            m.nativeLiveBytes += w.nativeLiveBytes;
            m.pinnedPages += w.pinnedPages;
            m.pinnedBytes += w.pinnedBytes;
            it.remove();
        }
        byLive.sort(Order.BY_LIVE);
    }

    /** "com.example.Codec.open" of "com.example.Codec.open:12". */
    private static String method(String site) {
        int colon = site.lastIndexOf(':');
        return colon < 0 ? site : site.substring(0, colon);
    }

    /**
     * The sites as the metrics endpoint serves them (its top N by live and by growing bytes):
     * live bytes are the larger of the two estimates, Java's and (under hz3) hz3's own samples
     * of the mallocs inside the site's calls. Not their sum: for Unsafe both count the same
     * blocks, and for zlib Java's figure is a nominal size that hz3 measures. Growth is since
     * the previous hz3.NativeSite.
     */
    static List<SiteFeed.Site> forMetrics(SiteSampler sampler) {
        List<Tally> tallies = sampler.tally();
        if (sampler.hz3()) {
            joinHz3(sampler, tallies, System.nanoTime());
        }
        List<SiteFeed.Site> out = new ArrayList<>(tallies.size());
        for (Tally t : tallies) {
            double live = Math.max(t.liveBytes, t.nativeLiveBytes);
            out.add(new SiteFeed.Site(t.site.site, t.site.kind(), live, growth(t)));
        }
        return out;
    }

    static double growth(Tally t) {
        return t.liveBytes - t.site.lastLive;
    }
}
