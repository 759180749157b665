package dev.hz3.jmc.census;

import dev.hz3.jmc.Hz3Attributes;

/**
 * One tier of one census: an hz3.TierOccupancy event. Pages are 4 KiB; the occupancy buckets
 * count resident pages, {@code occ[0]} (empty) to {@code occ[4]} ((75, 100%], full included), and
 * add up to empty + partial + full.
 */
public record TierCensus(long timeNanos, String tier, long seqFirst, long seqLast, boolean consistent,
        long pagesTotal,
        long pagesUntouched, long pagesDecommitted, long pagesEmpty, long pagesFull, long pagesPartial,
        long[] occ, long candDecommitPages, long spans, long liveObjects, long capacityObjects, long liveBytes,
        long tailWasteBytes, long residentBytes, double occupancy) {

    /** Resident pages in use or kept: empty + partial + full. */
    public long residentPages() {
        return pagesEmpty + pagesPartial + pagesFull;
    }

    public long partialBytes() {
        return pagesPartial * Hz3Attributes.PAGE_SIZE;
    }

    public long candidateBytes() {
        return candDecommitPages * Hz3Attributes.PAGE_SIZE;
    }

    /** Partial pages over resident pages; 0 when nothing is resident. */
    public double partialShare() {
        long resident = residentPages();
        return resident == 0 ? 0 : (double) pagesPartial / resident;
    }

    /** Partial pages at most 25% used over all partial pages; 0 without partial pages. */
    public double lowOccupancyShare() {
        return pagesPartial == 0 ? 0 : Math.min(1.0, (double) occ[1] / pagesPartial);
    }
}
