package dev.hz3.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;
import jdk.jfr.Timestamp;
import jdk.jfr.Unsigned;

/**
 * A completed census of hz3's heap: the heap-wide part of struct hz3_snapshot (the "tier=all"
 * line of hz3's exit report). Its hz3.TierOccupancy and hz3.PartialSizeClass events carry the
 * same seqLast.
 *
 * <p>Its period is a floor: snapshots come from hz3's listener (at most one per
 * {@code period=} of the agent); when none came since the last periodic run, the agent takes an
 * exact one itself.
 */
@Name(Hz3Events.SNAPSHOT)
@Label("hz3 Snapshot")
@Category({Hz3Events.CATEGORY_ROOT, Hz3Events.CATEGORY_HZ3})
@Description("A census of every page hz3 holds; its tiers and size classes are in hz3.TierOccupancy and hz3.PartialSizeClass with the same sequence")
@StackTrace(false)
@Period("5 s")
public class SnapshotEvent extends jdk.jfr.Event {

    @Label("First Sequence")
    @Description("Epoch number at which the census sweep started")
    @Unsigned
    public long seqFirst;

    @Label("Last Sequence")
    @Description("Epoch number at which the census completed: the snapshot's name (the seq= of hz3's report lines)")
    @Unsigned
    public long seqLast;

    @Label("Snapshot Time")
    @Description("Wall-clock time when the census completed, as hz3 took it")
    @Timestamp(Timestamp.MILLISECONDS_SINCE_EPOCH)
    public long snapshotTime;

    @Label("Exact")
    @Description("True for a census taken in one pass, false for a sweep spread over epochs")
    public boolean exact;

    @Label("Consistent")
    @Description("True when at most 1% of the pages the census counted changed hands while it ran (spans taken or given back, segments released): its page counts are off by at most that. Live object counts and residency may still have moved. Compare only consistent snapshots")
    public boolean consistent;

    @Label("Pages Moved")
    @Description("Pages that changed hands while the census ran; page counts may be off by this many")
    public long pagesMoved;

    @Label("Source")
    @Description("How the snapshot reached JFR: listener, periodic, chunk (with the whole picture: a chunk boundary, the start of the recording that started the agent, or the agent's stop) or on demand")
    public String source;

    @Label("Size Classes")
    @Description("Size classes of this build of hz3")
    public int numClasses;

    @Label("Segments Scanned")
    @Description("Segments the census read")
    public long segmentsScanned;

    @Label("Segments")
    @Description("Active segments when the census completed")
    public long segmentsTotal;

    @Label("Unmap Candidates")
    @Description("Segments holding no live object: candidates to give back whole")
    public long candUnmapSegs;

    @Label("Header Resident")
    @Description("Resident bytes of segment headers")
    @DataAmount
    public long headerResidentBytes;

    @Label("Metadata")
    @Description("hz3's records outside segments (heaps, tables)")
    @DataAmount
    public long metaBytes;

    @Label("Large Objects")
    @Description("Live large objects (one mapping each)")
    public long largeCount;

    @Label("Large Bytes")
    @Description("Mapped bytes of live large objects")
    @DataAmount
    public long largeBytes;

    @Label("Large Resident")
    @Description("Resident bytes of large objects")
    @DataAmount
    public long largeResidentBytes;

    @Label("Large Cached")
    @Description("Large mappings kept for reuse")
    public long largeCached;

    @Label("Large Cached Bytes")
    @Description("Bytes of large mappings kept for reuse")
    @DataAmount
    public long largeCachedBytes;

    @Label("Held Empty Pages")
    @Description("Resident empty pages a purge leaves with their threads (each thread's current span per class, kept for its next malloc); not in candDecommitPages")
    public int heldEmptyPages;

    @Label("Header Candidates")
    @Description("Resident segment header pages a purge gives back with the segments it releases whole; a purge returns these plus the tiers' candDecommitPages")
    public int candHeaderPages;

    @Label("Census Resident")
    @Description("Resident segment pages, headers, metadata and resident large objects: what hz3 holds in RAM")
    @DataAmount
    public long censusResidentBytes;
}
