package dev.hz3.agent.core.sites;

import dev.hz3.agent.core.sites.SiteSampler.Tally;
import java.util.Comparator;

/**
 * The orders of the sites' tallies, largest first. A class, not lambdas: each lambda is a class
 * the JVM spins with the JDK's ASM when first run, which native attribution's start-up paid for
 * every one of them (bench/RESULTS.md, 2026-12-03 evening): none in this package.
 */
final class Order implements Comparator<Tally> {

    static final Order BY_LIVE = new Order(0);
    static final Order BY_GROWTH = new Order(1);
    static final Order BY_PINNED = new Order(2);

    private final int by;

    private Order(int by) {
        this.by = by;
    }

    @Override
    public int compare(Tally a, Tally b) {
        switch (by) {
            case 0:
                return Double.compare(b.liveBytes, a.liveBytes);
            case 1:
                return Double.compare(SiteReport.growth(b), SiteReport.growth(a));
            default:
                return Long.compare(b.pinnedBytes, a.pinnedBytes);
        }
    }
}
