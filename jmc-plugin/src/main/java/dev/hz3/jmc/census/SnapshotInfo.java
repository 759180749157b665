package dev.hz3.jmc.census;

/**
 * The heap-wide part of a census: an hz3.Snapshot event. consistent: at most 1% of the
 * pages changed hands while the census ran (true for recordings made before hz3 said so).
 */
public record SnapshotInfo(long timeNanos, long seqFirst, long seqLast, boolean exact, boolean consistent,
        String source,
        long segmentsTotal, long candUnmapSegs, long largeCachedBytes, long censusResidentBytes) {
}
