package dev.hz3.agent.core.metrics;

import dev.hz3.agent.core.jfr.SnapshotEvents;
import dev.hz3.agent.core.nat.Hz3Lib;
import dev.hz3.agent.core.nat.Hz3Structs;
import dev.hz3.jfr.Hz3Events;
import java.util.List;

/**
 * hz3's series: one census (the latest the agent received, {@link CensusFeed}) and hz3's
 * running totals. Every label takes a fixed set of values (tiers, page states, occupancy
 * buckets) or a rank 1..top, never a size class or an address, so the series count of a scrape
 * depends on the options and not on what the program allocates.
 *
 * <p>The figures are those of the JFR events for the same census: pages as hz3.TierOccupancy
 * counts them (here in bytes), hz3_free_bytes and hz3_returnable_bytes as hz3.Retention adds
 * them up, the partial classes ranked as hz3.PartialSizeClass ranks them.
 */
final class Hz3Metrics {

    static final String[] STATES = {"untouched", "decommitted", "empty", "full", "partial"};
    /** hz3's occupancy buckets, by live / capacity of the page's span: keep in sync with hz3.h. */
    static final String[] OCCUPANCY = {"0", "1-25", "25-50", "50-75", "75-100"};

    /** Shared with glibc's series (GlibcMetrics): the same name, the same meaning. */
    static final String LIVE_HELP = "Native memory in use by the program: live objects in spans"
            + " and live large objects (glibc: in-use chunks and mmapped chunks)";
    static final String FREE_HELP = "Native memory the allocator holds but the program does not"
            + " use, by kind (hz3: free blocks in spans, resident empty pages, cached large"
            + " mappings; glibc: free chunks in bins, fastbins, the top chunk)";

    private Hz3Metrics() {
    }

    static void census(Families f, Hz3Structs.Snapshot s, int top) {
        long page = Hz3Events.PAGE_SIZE;
        f.gauge("hz3_census_seq", "Sequence number of the census these series come from"
                + " (hz3.Snapshot seqLast)").set(s.seq_last);
        f.gauge("hz3_census_consistent", "1 when the census is consistent (few pages moved while"
                + " it ran), else 0: compare consistent censuses only").set(s.consistent != 0 ? 1 : 0);

        Families.Gauge pages = f.gauge("hz3_tier_pages_bytes",
                "Pages of each tier by state (untouched, decommitted: not resident; empty, full,"
                + " partial: resident), in bytes");
        Families.Gauge occ = f.gauge("hz3_tier_occupancy_bytes",
                "Resident pages of each tier by the occupancy of their span (live / capacity, %),"
                + " in bytes: 0 is empty, 75-100 includes full");
        Families.Gauge live = f.gauge("hz3_tier_live_bytes", "Live objects of each tier, in bytes");
        Families.Gauge decommit = f.gauge("hz3_tier_reclaim_candidate_bytes",
                "Resident empty pages of each tier that a purge returns now");
        long liveTotal = s.large_bytes;
        long emptyPages = 0;
        long candidatePages = s.cand_header_pages;
        for (int t = 0; t < Hz3Structs.Snapshot.TIERS; t++) {
            Hz3Structs.TierCensus c = s.tier[t];
            String tier = Hz3Events.tierName(t);
            for (int st = 0; st < STATES.length; st++) {
                pages.set(c.pages[st] * page, "tier", tier, "state", STATES[st]);
            }
            for (int o = 0; o < OCCUPANCY.length; o++) {
                occ.set(c.occ[o] * page, "tier", tier, "occupancy", OCCUPANCY[o]);
            }
            live.set(c.live_bytes, "tier", tier);
            decommit.set(c.cand_decommit_pages * page, "tier", tier);
            liveTotal += c.live_bytes;
            emptyPages += c.pages[2];
            candidatePages += c.cand_decommit_pages;
        }

        long freeBlocks = 0;
        for (int c = 0; c < Math.min(s.num_classes, Hz3Structs.Snapshot.CLASSES); c++) {
            Hz3Structs.ClassCensus cc = s.classes[c];
            freeBlocks += Math.max(0, cc.capacity_objects - cc.live_objects)
                    * Integer.toUnsignedLong(cc.object_size);
        }
        f.gauge("hz3_live_bytes", LIVE_HELP).set(liveTotal);
        f.gauge("hz3_free_bytes", FREE_HELP)
                .set(freeBlocks, "kind", "free_blocks")
                .set(emptyPages * page, "kind", "empty_pages")
                .set(s.large_cached_bytes, "kind", "large_cached");
        f.gauge("hz3_returnable_bytes", "What a purge gives back to the OS now: resident empty"
                + " pages off the threads' current spans, headers of empty segments, cached large"
                + " mappings").set(candidatePages * page + s.large_cached_bytes);
        f.gauge("hz3_census_resident_bytes", "Resident memory of hz3 as its census counts it"
                + " (segment pages, headers, metadata, large objects)").set(s.census_resident_bytes);
        f.gauge("hz3_unmap_candidate_segments", "Segments with no live object").set(s.cand_unmap_segs);
        f.gauge("hz3_large_objects", "Large objects in mappings of their own").set(s.large_count);

        List<Integer> ranked = SnapshotEvents.topByPartialPages(s, top);
        Families.Gauge partial = f.gauge("hz3_partial_class_bytes",
                "Partial pages of the size classes with the most of them, by rank (1: most)");
        Families.Gauge size = f.gauge("hz3_partial_class_object_size_bytes",
                "Object size of the class at each rank");
        Families.Gauge ratio = f.gauge("hz3_partial_class_occupancy_ratio",
                "Live / capacity of the class at each rank");
        for (int r = 0; r < ranked.size(); r++) {
            Hz3Structs.ClassCensus c = s.classes[ranked.get(r)];
            String rank = Integer.toString(r + 1);
            partial.set(c.pages[4] * page, "rank", rank);
            size.set(Integer.toUnsignedLong(c.object_size), "rank", rank);
            ratio.set(c.capacity_objects == 0 ? 0 : (double) c.live_objects / c.capacity_objects,
                    "rank", rank);
        }
    }

    /** hz3's running totals (hz3_stats_get: a copy of counters, no census). */
    static void totals(Families f) {
        Hz3Structs.Stats st = Hz3Lib.stats();
        if (st == null) {
            return;
        }
        f.counter("hz3_epochs", "Epochs hz3 has run (timer, purges, snapshots)", st.epochs);
        f.counter("hz3_purged_bytes", "Bytes hz3 has given back to the OS (pages purged)",
                st.pages_purged * Hz3Events.PAGE_SIZE);
        f.counter("hz3_madvise_calls", "madvise calls hz3 made to give memory back", st.madvise_calls);
        f.counter("hz3_segments_unmapped", "Segments hz3 has unmapped", st.segments_unmapped);
        f.gauge("hz3_segment_bytes", "Active segments times the segment size").set(st.segment_bytes);
        f.gauge("hz3_reserved_bytes", "Address space hz3 has reserved (virtual)").set(st.reserved_bytes);
        f.gauge("hz3_meta_bytes", "hz3's own metadata").set(st.meta_bytes);
    }
}
