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
 * One of the size classes with the most partial pages in a census (struct hz3_class_census,
 * field by field), ranked 1..N as the agent's {@code top=} asks; ties go to the lower class,
 * as in hz3's own top 5. The occupancy buckets' JFR ids are not their Java names: see
 * {@link Hz3Events#BUCKET_FIELDS}.
 */
@Name(Hz3Events.PARTIAL_SIZE_CLASS)
@Label("hz3 Partial Size Class")
@Category({Hz3Events.CATEGORY_ROOT, Hz3Events.CATEGORY_HZ3})
@Description("A size class among those with the most partially used pages in one census: the usual suspects of fragmentation")
@StackTrace(false)
public class PartialSizeClassEvent extends jdk.jfr.Event {

    @Label("Last Sequence")
    @Description("Epoch number at which the census completed (the snapshot's name)")
    @Unsigned
    public long seqLast;

    @Label("Consistent")
    @Description("The consistent flag of the census this belongs to (hz3.Snapshot): false when pages changed hands while it ran")
    public boolean consistent;

    @Label("Rank")
    @Description("1 for the class with the most partial pages")
    public int rank;

    @Label("Size Class")
    @Description("Index of the size class in this build of hz3")
    public int sizeClass;

    @Label("Object Size")
    @Description("Size of the class's blocks")
    @DataAmount
    public long objectSize;

    @Label("Span Pages")
    @Description("Pages per span of this class")
    public int spanPages;

    @Label("Tier")
    @Description("Tier of the class: small, sub4k or medium")
    public String tier;

    @Label("Spans")
    @Description("Spans of the class")
    public int spans;

    @Label("Untouched")
    @Description("Pages never resident")
    public int pagesUntouched;

    @Label("Decommitted")
    @Description("Pages given back with MADV_DONTNEED")
    public int pagesDecommitted;

    @Label("Empty")
    @Description("Resident pages whose span holds no live object")
    public int pagesEmpty;

    @Label("Full")
    @Description("Resident pages whose span is full")
    public int pagesFull;

    @Label("Partial")
    @Description("Resident pages whose span is neither empty nor full")
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

    @Label("Live Objects")
    @Description("Objects of the class handed out and not yet freed")
    public long liveObjects;

    @Label("Capacity")
    @Description("Objects the class's spans can hold")
    public long capacityObjects;

    @Label("Tail Waste")
    @Description("Bytes at the end of the class's spans that no block can use")
    @DataAmount
    public long tailWasteBytes;

    @Label("Decommit Candidates")
    @Description("Resident empty pages of the class")
    public int candDecommitPages;

    @Label("Partial Bytes")
    @Description("Partial pages times the page size")
    @DataAmount
    public long partialBytes;

    @Label("Occupancy")
    @Description("Live objects over capacity")
    @Percentage
    public double occupancy;
}
