package dev.hz3.jmc.census;

/**
 * One of the size classes with the most partial pages in a census: an hz3.PartialSizeClass event.
 */
public record ClassCensus(long timeNanos, long seqLast, int rank, int sizeClass, long objectSize, int spanPages,
        String tier, long spans, long pagesUntouched, long pagesDecommitted, long pagesEmpty, long pagesFull,
        long pagesPartial, long[] occ, long liveObjects, long capacityObjects, long tailWasteBytes,
        long candDecommitPages, long partialBytes, double occupancy) {

    /** Partial pages at most 25% used over the class's partial pages. */
    public double lowOccupancyShare() {
        return pagesPartial == 0 ? 0 : Math.min(1.0, (double) occ[1] / pagesPartial);
    }
}
