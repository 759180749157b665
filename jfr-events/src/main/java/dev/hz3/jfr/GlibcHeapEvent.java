package dev.hz3.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;

/**
 * glibc malloc's own totals (mallinfo2, and malloc_info for the arenas), recorded instead of
 * hz3's census when the process's malloc is glibc's.
 */
@Name(Hz3Events.GLIBC_HEAP)
@Label("glibc Heap")
@Category({Hz3Events.CATEGORY_ROOT, Hz3Events.CATEGORY_HZ3})
@Description("glibc malloc's totals from mallinfo2 and malloc_info, recorded when glibc, not hz3, is the process's malloc")
@StackTrace(false)
@Period("5 s")
public class GlibcHeapEvent extends jdk.jfr.Event {

    @Label("Arenas")
    @Description("malloc arenas (heap elements of malloc_info): up to 8 per core, each keeps its own free memory")
    public int arenas;

    @Label("Arena Bytes")
    @Description("Bytes the arenas got from the system with brk/mmap (mallinfo2 arena)")
    @DataAmount
    public long arenaBytes;

    @Label("In Use")
    @Description("Bytes in chunks handed out (mallinfo2 uordblks)")
    @DataAmount
    public long inUseBytes;

    @Label("Free")
    @Description("Free bytes in the arenas, top chunks included (mallinfo2 fordblks)")
    @DataAmount
    public long freeBytes;

    @Label("Free in Bins")
    @Description("Free bytes in the arenas' bins, top chunk excluded: what malloc_trim can give back only page by page")
    @DataAmount
    public long freeInBinsBytes;

    @Label("Fastbin Free")
    @Description("Free bytes in fastbins (mallinfo2 fsmblks)")
    @DataAmount
    public long fastbinFreeBytes;

    @Label("Top Pad")
    @Description("Releasable bytes at the top of the main heap (mallinfo2 keepcost)")
    @DataAmount
    public long topBytes;

    @Label("Free Chunks")
    @Description("Free chunks (mallinfo2 ordblks)")
    public long freeChunks;

    @Label("Mmapped")
    @Description("Bytes of chunks allocated with mmap (mallinfo2 hblkhd)")
    @DataAmount
    public long mmappedBytes;

    @Label("Mmapped Chunks")
    @Description("Chunks allocated with mmap (mallinfo2 hblks)")
    public long mmappedChunks;

    @Label("System Bytes")
    @Description("Bytes of the system's memory the arenas hold now (malloc_info system current)")
    @DataAmount
    public long systemBytes;
}
