package dev.hz3.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * The top sites, one event per site, every period and at every chunk's start and end (so a
 * recording's end, a dump): the union of the top N (agent option {@code sites=}) by estimated
 * live native bytes, by growth since the previous hz3.NativeSite, and by pinned bytes (hz3 only).
 * A site's live bytes are the sum of the weights of its samples not yet freed (see
 * hz3.NativeAllocationSample), an unbiased estimate of the bytes it allocated and has not freed.
 */
@Name(Hz3Events.NATIVE_SITE)
@Label("hz3 Native Site")
@Category({Hz3Events.CATEGORY_ROOT, Hz3Events.CATEGORY_HZ3})
@Description("A Java call site holding native memory (Unsafe, direct buffers, zlib streams, JNA Memory), estimated from the live samples")
@StackTrace(false)
@Period("10 s")
public class NativeSiteEvent extends jdk.jfr.Event {

    @Label("Rank")
    @Description("The site's place by estimated live bytes among all sites (1: the most); a site named for its growth or pinned bytes may rank below the top N")
    public int rank;

    @Label("Site")
    @Description("The first frame outside the JDK (Class.method:line)")
    public String site;

    @Label("Kind")
    @Description("unsafe, direct buffer, memory segment, deflater, inflater or jna memory (the application's com.sun.jna.Memory)")
    public String kind;

    @Label("Entry")
    @Description("The JDK method the site called (e.g. java.nio.ByteBuffer.allocateDirect)")
    public String entry;

    @Label("Live")
    @Description("Estimated bytes allocated at this site and not freed: the sum of its live samples' weights")
    @DataAmount
    public long liveBytes;

    @Label("Live Samples")
    @Description("Samples from this site not freed yet")
    public long liveSamples;

    @Label("Oldest Live Sample Age")
    @Description("Age of the oldest sample from this site not freed yet")
    @Timespan
    public long oldestAge;

    @Label("Growth")
    @Description("Change of the estimated live bytes since this site's previous hz3.NativeSite (0 the first time)")
    @DataAmount
    public long growthBytes;

    @Label("Sample Interval")
    @Description("Mean bytes between two samples (agent option sampleBytes)")
    @DataAmount
    public long sampleBytes;

    @Label("Native Live")
    @Description("Estimated live bytes that native code called from this site allocated itself (zlib's state and windows, a JNI library's buffers), from hz3's own samples; -1 when hz3 is not the malloc")
    @DataAmount
    public long nativeLiveBytes = -1;

    @Label("Pinned Pages (Estimate)")
    @Description("Estimated partly used resident pages that this site's live objects sit on: each live sample on such a page stands for weight/size objects, each holding its size class's partial pages per live block (exact figures from hz3's census); shared pages are split between sites; -1 when hz3 is not the malloc")
    public long pinnedPages = -1;

    @Label("Pinned (Estimate)")
    @Description("Estimated bytes of the pinned pages that no live object uses, by the same scaling: what freeing this site's objects would let the allocator return; -1 when hz3 is not the malloc")
    @DataAmount
    public long pinnedBytes = -1;
}
