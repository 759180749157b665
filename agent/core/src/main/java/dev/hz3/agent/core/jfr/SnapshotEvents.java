package dev.hz3.agent.core.jfr;

import dev.hz3.agent.core.nat.Hz3Structs;
import dev.hz3.jfr.Hz3Events;
import dev.hz3.jfr.PartialSizeClassEvent;
import dev.hz3.jfr.SnapshotEvent;
import dev.hz3.jfr.TierOccupancyEvent;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns one struct hz3_snapshot into its events: hz3.Snapshot, one hz3.TierOccupancy per tier
 * (all five, as hz3's exit report has them: small, sub4k, medium, large, free) and the top N
 * size classes by partial pages as hz3.PartialSizeClass.
 */
public final class SnapshotEvents {

    private SnapshotEvents() {
    }

    /** Whether any snapshot event would be recorded now (cheap; checked before a census). */
    public static boolean enabled() {
        return new SnapshotEvent().isEnabled() || new TierOccupancyEvent().isEnabled()
                || new PartialSizeClassEvent().isEnabled();
    }

    public static void commit(Hz3Structs.Snapshot s, String source, int topN) {
        SnapshotEvent e = new SnapshotEvent();
        if (e.isEnabled()) {
            e.seqFirst = s.seq_first;
            e.seqLast = s.seq_last;
            e.snapshotTime = s.time_ms;
            e.exact = s.exact != 0;
            e.consistent = s.consistent != 0;
            e.pagesMoved = Integer.toUnsignedLong(s.pages_moved);
            e.heldEmptyPages = count(s.held_empty_pages);
            e.candHeaderPages = count(s.cand_header_pages);
            e.source = source;
            e.numClasses = s.num_classes;
            e.segmentsScanned = s.segments_scanned;
            e.segmentsTotal = s.segments_total;
            e.candUnmapSegs = s.cand_unmap_segs;
            e.headerResidentBytes = s.header_resident_bytes;
            e.metaBytes = s.meta_bytes;
            e.largeCount = s.large_count;
            e.largeBytes = s.large_bytes;
            e.largeResidentBytes = s.large_resident_bytes;
            e.largeCached = s.large_cached;
            e.largeCachedBytes = s.large_cached_bytes;
            e.censusResidentBytes = s.census_resident_bytes;
            e.commit();
        }
        for (int t = 0; t < Hz3Structs.Snapshot.TIERS; t++) {
            TierOccupancyEvent te = new TierOccupancyEvent();
            if (!te.isEnabled()) {
                break;
            }
            Hz3Structs.TierCensus c = s.tier[t];
            te.tier = Hz3Events.tierName(t);
            te.seqFirst = s.seq_first;
            te.seqLast = s.seq_last;
            te.consistent = s.consistent != 0;
            te.pagesTotal = count(c.pages_total);
            te.pagesUntouched = count(c.pages[0]);
            te.pagesDecommitted = count(c.pages[1]);
            te.pagesEmpty = count(c.pages[2]);
            te.pagesFull = count(c.pages[3]);
            te.pagesPartial = count(c.pages[4]);
            te.occ0 = count(c.occ[0]);
            te.occ1to25 = count(c.occ[1]);
            te.occ25to50 = count(c.occ[2]);
            te.occ50to75 = count(c.occ[3]);
            te.occ75to100 = count(c.occ[4]);
            te.candDecommitPages = count(c.cand_decommit_pages);
            te.spans = count(c.spans);
            te.liveObjects = c.live_objects;
            te.capacityObjects = c.capacity_objects;
            te.liveBytes = c.live_bytes;
            te.tailWasteBytes = c.tail_waste_bytes;
            te.residentBytes = (c.pages[2] + c.pages[3] + c.pages[4]) * Hz3Events.PAGE_SIZE;
            te.occupancy = ratio(c.live_objects, c.capacity_objects);
            te.commit();
        }
        if (new PartialSizeClassEvent().isEnabled()) {
            List<Integer> top = topByPartialPages(s, topN);
            for (int r = 0; r < top.size(); r++) {
                Hz3Structs.ClassCensus c = s.classes[top.get(r)];
                PartialSizeClassEvent pe = new PartialSizeClassEvent();
                pe.seqLast = s.seq_last;
                pe.consistent = s.consistent != 0;
                pe.rank = r + 1;
                pe.sizeClass = top.get(r);
                pe.objectSize = Integer.toUnsignedLong(c.object_size);
                pe.spanPages = Short.toUnsignedInt(c.span_pages);
                pe.tier = Hz3Events.tierName(Short.toUnsignedInt(c.tier));
                pe.spans = count(c.spans);
                pe.pagesUntouched = count(c.pages[0]);
                pe.pagesDecommitted = count(c.pages[1]);
                pe.pagesEmpty = count(c.pages[2]);
                pe.pagesFull = count(c.pages[3]);
                pe.pagesPartial = count(c.pages[4]);
                pe.occ0 = count(c.occ[0]);
                pe.occ1to25 = count(c.occ[1]);
                pe.occ25to50 = count(c.occ[2]);
                pe.occ50to75 = count(c.occ[3]);
                pe.occ75to100 = count(c.occ[4]);
                pe.liveObjects = c.live_objects;
                pe.capacityObjects = c.capacity_objects;
                pe.tailWasteBytes = c.tail_waste_bytes;
                pe.candDecommitPages = count(c.cand_decommit_pages);
                pe.partialBytes = c.pages[4] * Hz3Events.PAGE_SIZE;
                pe.occupancy = ratio(c.live_objects, c.capacity_objects);
                pe.commit();
            }
        }
    }

    /**
     * Class indexes with the most partial pages first, at most n, none with zero; ties go to the
     * lower index (hz3's own top_partial_sc, census.c top_n, ranks the same way).
     */
    public static List<Integer> topByPartialPages(Hz3Structs.Snapshot s, int n) {
        int classes = Math.min(s.num_classes, Hz3Structs.Snapshot.CLASSES);
        List<Integer> order = new ArrayList<>();
        for (int c = 0; c < classes; c++) {
            if (s.classes[c].pages[4] > 0) {
                order.add(c);
            }
        }
        order.sort((a, b) -> {
            int byPages = Long.compare(s.classes[b].pages[4], s.classes[a].pages[4]);
            return byPages != 0 ? byPages : Integer.compare(a, b);
        });
        return order.subList(0, Math.min(n, order.size()));
    }

    /** Page and span counts are ints in the events (JMC charts int fields, not long ones); hz3
     * counts pages of 4 KiB, so an int holds 8 TiB of them. */
    static int count(long n) {
        return (int) Math.min(n, Integer.MAX_VALUE);
    }

    static double ratio(long a, long b) {
        return b == 0 ? 0 : (double) a / b;
    }

    /** One line summing a snapshot up, for the attach reply. */
    public static String summary(Hz3Structs.Snapshot s) {
        StringBuilder b = new StringBuilder("snapshot seq=").append(s.seq_last);
        for (int t = 0; t < Hz3Structs.Snapshot.TIERS; t++) {
            Hz3Structs.TierCensus c = s.tier[t];
            b.append(' ').append(Hz3Events.tierName(t)).append("=").append(c.pages_total)
                    .append(" pages (").append(c.pages[4]).append(" partial, ")
                    .append(c.pages[2]).append(" empty)");
        }
        b.append(", resident ").append(mib(s.census_resident_bytes))
                .append(", large ").append(s.large_count).append(" objects");
        return b.toString();
    }

    static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
