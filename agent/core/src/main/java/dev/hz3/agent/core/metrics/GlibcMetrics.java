package dev.hz3.agent.core.metrics;

import dev.hz3.jfr.GlibcHeapEvent;

/**
 * glibc's heap (hz3.GlibcHeap: mallinfo2 and malloc_info) under the names hz3's series use
 * where they mean the same thing: {@code hz3_live_bytes} (in-use and mmapped chunks) and
 * {@code hz3_free_bytes} (held, not in use), so one query compares services on either
 * allocator. What only glibc has goes under {@code hz3_glibc_}.
 */
final class GlibcMetrics {

    private GlibcMetrics() {
    }

    static void add(Families f, GlibcHeapEvent e) {
        f.gauge("hz3_live_bytes", Hz3Metrics.LIVE_HELP)
                .set(e.inUseBytes + e.mmappedBytes);
        long fastbins = e.fastbinFreeBytes;
        f.gauge("hz3_free_bytes", Hz3Metrics.FREE_HELP)
                .set(Math.max(0, e.freeInBinsBytes - fastbins), "kind", "bins")
                .set(fastbins, "kind", "fastbins")
                .set(e.topBytes, "kind", "top");
        f.gauge("hz3_glibc_arenas", "glibc's malloc arenas").set(e.arenas);
        f.gauge("hz3_glibc_arena_bytes", "Bytes glibc's arenas got from the OS (sbrk and mmap'd heaps)")
                .set(e.arenaBytes);
        f.gauge("hz3_glibc_mmapped_bytes", "Chunks glibc mmapped on their own").set(e.mmappedBytes);
    }
}
