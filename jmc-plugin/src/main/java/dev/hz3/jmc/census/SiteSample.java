package dev.hz3.jmc.census;

/**
 * One hz3.NativeSite event: a Java call site's native memory at one moment. The three hz3-only
 * figures are -1 when hz3 was not the malloc ({@link #hasPinning()}).
 */
public record SiteSample(long timeNanos, int rank, String site, String kind, String entry, long liveBytes,
        long liveSamples, long oldestAgeNanos, long growthBytes, long sampleBytes, long nativeLiveBytes,
        long pinnedPages, long pinnedBytes) {

    /** True when hz3 filled in the pages this site's objects keep partly used. */
    public boolean hasPinning() {
        return pinnedPages >= 0 && pinnedBytes >= 0;
    }

    /** The series this sample belongs to: the same site may allocate more than one kind. */
    public String key() {
        return site + " (" + kind + ")";
    }
}
