package dev.hz3.jmc.census;

/** The heap-wide part of a census: an hz3.Snapshot event. */
public record SnapshotInfo(long timeNanos, long seqFirst, long seqLast, boolean exact, String source,
        long segmentsTotal, long candUnmapSegs, long largeCachedBytes, long censusResidentBytes) {
}
