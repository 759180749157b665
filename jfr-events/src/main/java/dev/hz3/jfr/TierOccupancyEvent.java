package dev.hz3.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Percentage;
import jdk.jfr.StackTrace;
import jdk.jfr.Unsigned;

/**
 * One tier of one census (struct hz3_tier_census, field by field): the state of each page the
 * tier holds, the occupancy buckets of its resident pages and what could be given back.
 * Invariants (hz3.h): pagesTotal = pagesUntouched + pagesDecommitted + pagesEmpty + pagesFull +
 * pagesPartial, and occ0 + occ1to25 + occ25to50 + occ50to75 + occ75to100 = pagesEmpty +
 * pagesPartial + pagesFull. The buckets' JFR ids are not their Java names: see
 * {@link Hz3Events#BUCKET_FIELDS}.
 */
@Name(Hz3Events.TIER_OCCUPANCY)
@Label("hz3 Tier Occupancy")
@Category({Hz3Events.CATEGORY_ROOT, Hz3Events.CATEGORY_HZ3})
@Description("Pages of one hz3 tier by state and by occupancy, in one census (one event per tier per snapshot)")
@StackTrace(false)
public class TierOccupancyEvent extends jdk.jfr.Event {

    @Label("Tier")
    @Description("small (objects up to 1 KiB), sub4k (1-3.5 KiB), medium (page multiples up to 32 KiB), large (runs of a large object inside a segment) or free (segment pages in no span)")
    public String tier;

    @Label("First Sequence")
    @Description("Epoch number at which the census sweep started")
    @Unsigned
    public long seqFirst;

    @Label("Last Sequence")
    @Description("Epoch number at which the census completed (the snapshot's name)")
    @Unsigned
    public long seqLast;

    @Label("Consistent")
    @Description("The consistent flag of the census this belongs to (hz3.Snapshot): false when pages changed hands while it ran")
    public boolean consistent;

    @Label("Pages")
    @Description("Pages of the tier, in every state")
    public int pagesTotal;

    @Label("Untouched")
    @Description("Pages never resident since their segment was mapped")
    public int pagesUntouched;

    @Label("Decommitted")
    @Description("Pages not resident, given back with MADV_DONTNEED")
    public int pagesDecommitted;

    @Label("Empty")
    @Description("Resident pages whose span holds no live object (or no span at all)")
    public int pagesEmpty;

    @Label("Full")
    @Description("Resident pages whose span is full")
    public int pagesFull;

    @Label("Partial")
    @Description("Resident pages whose span is neither empty nor full: fragmentation")
    public int pagesPartial;

    @Name(Hz3Events.BUCKET_0)
    @Label("0%")
    @Description("Resident pages with no live object (the empty pages). The five occupancy buckets count every resident page, empty and full ones too: they add up to empty + partial + full")
    public int occ0;

    @Name(Hz3Events.BUCKET_1_25)
    @Label("\u226425%")
    @Description("Resident pages whose span is at most a quarter used")
    public int occ1to25;

    @Name(Hz3Events.BUCKET_25_50)
    @Label("25-50%")
    @Description("Resident pages whose span is over a quarter and at most half used")
    public int occ25to50;

    @Name(Hz3Events.BUCKET_50_75)
    @Label("50-75%")
    @Description("Resident pages whose span is over half and at most three quarters used")
    public int occ50to75;

    @Name(Hz3Events.BUCKET_75_100)
    @Label(">75%")
    @Description("Resident pages whose span is over three quarters used (full pages included)")
    public int occ75to100;

    @Label("Decommit Candidates")
    @Description("Resident empty pages: could be given back now")
    public int candDecommitPages;

    @Label("Spans")
    @Description("Spans of the tier")
    public int spans;

    @Label("Live Objects")
    @Description("Objects handed out and not yet freed")
    public long liveObjects;

    @Label("Capacity")
    @Description("Objects the tier's spans can hold")
    public long capacityObjects;

    @Label("Live Bytes")
    @Description("Live objects times their class size")
    @DataAmount
    public long liveBytes;

    @Label("Tail Waste")
    @Description("Span bytes no block can use")
    @DataAmount
    public long tailWasteBytes;

    @Label("Resident")
    @Description("Resident pages (empty, partial and full) times the page size")
    @DataAmount
    public long residentBytes;

    @Label("Occupancy")
    @Description("Live objects over capacity")
    @Percentage
    public double occupancy;
}
