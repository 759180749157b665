package dev.hz3.agent.core.metrics;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Native attribution's sites, when it is on: the top sites by live bytes and the top sites by
 * growth, each labelled by rank 1..top. A site's name is a label only of the info series of its
 * rank ({@code hz3_site_info}, {@code hz3_growing_site_info}), so a scrape serves at most 2 x top
 * site names however many sites the program has.
 */
final class SiteMetrics {

    private SiteMetrics() {
    }

    static void add(Families f, List<SiteFeed.Site> sites, int top) {
        List<SiteFeed.Site> byLive = new ArrayList<>(sites);
        byLive.sort(Comparator.comparingDouble(SiteFeed.Site::liveBytes).reversed());
        Families.Info liveSite = f.info("hz3_site", "The site at each rank of hz3_site_live_bytes");
        Families.Gauge live = f.gauge("hz3_site_live_bytes",
                "Estimated live native bytes of the sites holding the most, by rank (native attribution)");
        for (int r = 0; r < Math.min(top, byLive.size()); r++) {
            SiteFeed.Site s = byLive.get(r);
            String rank = Integer.toString(r + 1);
            live.set(s.liveBytes(), "rank", rank);
            liveSite.add("rank", rank, "site", s.site(), "kind", s.kind());
        }
        List<SiteFeed.Site> byGrowth = new ArrayList<>();
        for (SiteFeed.Site s : sites) {
            if (s.growthBytes() > 0) {
                byGrowth.add(s);
            }
        }
        byGrowth.sort(Comparator.comparingDouble(SiteFeed.Site::growthBytes).reversed());
        Families.Info growingSite = f.info("hz3_growing_site", "The site at each rank of hz3_site_growth_bytes");
        Families.Gauge growth = f.gauge("hz3_site_growth_bytes", "Growth of the estimated live"
                + " bytes of the sites growing the most since the previous hz3.NativeSite period, by rank");
        for (int r = 0; r < Math.min(top, byGrowth.size()); r++) {
            SiteFeed.Site s = byGrowth.get(r);
            String rank = Integer.toString(r + 1);
            growth.set(s.growthBytes(), "rank", rank);
            growingSite.add("rank", rank, "site", s.site(), "kind", s.kind());
        }
    }
}
