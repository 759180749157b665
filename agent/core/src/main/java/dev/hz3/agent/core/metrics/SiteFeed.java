package dev.hz3.agent.core.metrics;

import java.util.List;
import java.util.function.Supplier;

/**
 * Where the endpoint reads native attribution's sites from, when attribution is on: native
 * attribution (dev.hz3.agent.core.sites) sets a source here when it starts and clears it when it
 * stops. Without a source no site series are served. This class loads no Prometheus class.
 */
public final class SiteFeed {

    /**
     * One site now: where (as hz3.NativeSite names it), the kind of allocation, its estimated live
     * bytes, and its growth (live bytes now less those at the previous hz3.NativeSite period).
     */
    public record Site(String site, String kind, double liveBytes, double growthBytes) {
    }

    private static volatile Supplier<List<Site>> source;

    private SiteFeed() {
    }

    /** Sets (or, with null, clears) the source of the sites. */
    public static void source(Supplier<List<Site>> s) {
        source = s;
    }

    static List<Site> sites() {
        Supplier<List<Site>> s = source;
        return s == null ? null : s.get();
    }
}
