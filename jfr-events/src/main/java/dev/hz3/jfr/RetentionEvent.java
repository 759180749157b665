package dev.hz3.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;
import jdk.jfr.Unsigned;

/**
 * What hz3 keeps that the application does not use, next to what it holds in RAM. The census
 * parts come from the latest snapshot (snapshotSeq); the rest is read when the event is
 * committed.
 */
@Name(Hz3Events.RETENTION)
@Label("hz3 Retention")
@Category({Hz3Events.CATEGORY_ROOT, Hz3Events.CATEGORY_HZ3})
@Description("Memory hz3 holds for reuse (free blocks, empty pages, cached large mappings) against what it holds in RAM")
@StackTrace(false)
@Period("5 s")
public class RetentionEvent extends jdk.jfr.Event {

    @Label("Snapshot Sequence")
    @Description("seqLast of the snapshot the census fields come from")
    @Unsigned
    public long snapshotSeq;

    @Label("Cached")
    @Description("Free blocks in spans, resident empty pages and cached large mappings: held, not in use")
    @DataAmount
    public long cachedBytes;

    @Label("Free Blocks")
    @Description("Free blocks in spans (capacity minus live, times the class size)")
    @DataAmount
    public long freeBlockBytes;

    @Label("Empty Pages")
    @Description("Resident pages with no live object, in every tier")
    @DataAmount
    public long emptyPageBytes;

    @Label("Large Cached")
    @Description("Large mappings kept for reuse")
    @DataAmount
    public long largeCachedBytes;

    @Label("Live")
    @Description("Live objects in spans plus live large objects")
    @DataAmount
    public long liveBytes;

    @Label("Segments")
    @Description("Active segments times the segment size (hz3_stats segment_bytes)")
    @DataAmount
    public long segmentBytes;

    @Label("Reserved")
    @Description("Address space hz3 reserved (virtual)")
    @DataAmount
    public long reservedBytes;

    @Label("Census Resident")
    @Description("What the census counts as resident: segment pages, headers, metadata, large objects")
    @DataAmount
    public long censusResidentBytes;

    @Label("Mappings Rss")
    @Description("Resident bytes of every mapping hz3 owns, read from the kernel (mincore) now")
    @DataAmount
    public long mappingsRss;

    @Label("Metadata")
    @Description("hz3's metadata outside segments (hz3_stats meta_bytes)")
    @DataAmount
    public long metaBytes;

    @Label("Epochs")
    @Description("Epochs run so far")
    public long epochs;

    @Label("Pages Purged")
    @Description("Pages decommitted by epochs so far")
    public long pagesPurged;
}
