package dev.hz3.agent.core.metrics;

import dev.hz3.agent.core.jfr.GlibcHeapSampler;
import dev.hz3.agent.core.jfr.ProcessMemorySampler;
import dev.hz3.agent.core.nat.Hz3Lib;
import dev.hz3.agent.core.nat.Hz3Structs;
import dev.hz3.agent.core.nat.Malloc;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.List;

/**
 * What one scrape returns: which malloc this is, the process's memory, and the allocator's
 * figures (hz3's latest census and totals, or glibc's heap), and native attribution's top sites
 * when it is on ({@link SiteFeed}). A scrape does no census of its
 * own while the agent's listener delivers them; only when none arrived for a while (hz3's
 * maintenance thread off: epochInterval=0) does it take one, at most once per that while.
 */
final class AgentCollector implements MultiCollector {

    private final Malloc malloc;
    private final ProcessMemorySampler process;
    private volatile int top;
    private volatile long staleNanos;
    private long ownCensusNanos;

    AgentCollector(Malloc malloc, int top, long periodMs) {
        this.malloc = malloc;
        this.process = new ProcessMemorySampler(malloc.hz3 == Malloc.Hz3Status.ACTIVE);
        settings(top, periodMs);
    }

    /** top: ranks per top-N family; a census older than a few periods is stale. */
    void settings(int top, long periodMs) {
        this.top = top;
        this.staleNanos = Math.max(10_000, 3 * periodMs) * 1_000_000L;
    }

    @Override
    public MetricSnapshots collect() {
        Families f = new Families();
        f.info("hz3_allocator", "The malloc of this process (hz3_status: active, absent, not the"
                + " malloc, refused)").add("malloc", malloc.name, "version", malloc.version,
                "hz3_status", malloc.hz3.text);
        ProcessMetrics.add(f, process.sample());
        if (malloc.hz3 == Malloc.Hz3Status.ACTIVE) {
            Hz3Structs.Snapshot s = census();
            if (s != null) {
                Hz3Metrics.census(f, s, top);
            }
            Hz3Metrics.totals(f);
        } else if (malloc.isGlibc()) {
            GlibcMetrics.add(f, GlibcHeapSampler.sample());
        }
        List<SiteFeed.Site> sites = SiteFeed.sites();
        if (sites != null) {
            SiteMetrics.add(f, sites, top);
        }
        return f.build();
    }

    /** The latest census, or one taken now when none arrived for staleNanos (and none taken since). */
    private synchronized Hz3Structs.Snapshot census() {
        CensusFeed.Received r = CensusFeed.latest();
        long now = System.nanoTime();
        if ((r == null || now - r.nanoTime() > staleNanos)
                && (ownCensusNanos == 0 || now - ownCensusNanos > staleNanos)) {
            ownCensusNanos = now;
            Hz3Structs.Snapshot s = Hz3Lib.snapshot();
            CensusFeed.publish(s);
            return s != null ? s : r == null ? null : r.snapshot();
        }
        return r == null ? null : r.snapshot();
    }
}
