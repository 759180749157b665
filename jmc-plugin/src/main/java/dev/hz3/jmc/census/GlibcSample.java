package dev.hz3.jmc.census;

/** An hz3.GlibcHeap event: glibc malloc's totals (mallinfo2, malloc_info). */
public record GlibcSample(long timeNanos, long arenas, long arenaBytes, long inUseBytes, long freeBytes,
        long freeInBinsBytes, long topBytes, long mmappedBytes, long systemBytes) {

    /** Free bytes over the arenas' bytes: what glibc keeps of what it took from the system. */
    public double keptShare() {
        return arenaBytes <= 0 ? 0 : Math.min(1.0, (double) freeBytes / arenaBytes);
    }
}
