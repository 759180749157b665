package dev.hz3.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timestamp;
import jdk.jfr.Unsigned;

/**
 * One sampled native allocation made through a JDK entry point (Unsafe, a direct buffer, a zlib
 * stream), committed in the allocating thread so that JFR records its Java stack. The agent
 * samples about one allocation per {@code sampleBytes} bytes (agent option); {@code weight} is
 * the bytes this sample stands for, so summing weights estimates the bytes allocated.
 *
 * <p>Two sources, told apart by {@code source}: "agent", the block Java saw at the entry point
 * (sampled by the agent, under any malloc), and "hz3", a malloc hz3 itself sampled inside the
 * call (zlib's state and window, a JNI library's buffers), with its tier and size class. Both
 * sample the same bytes where Java sees the malloc (Unsafe): sum the weights of one source.
 */
@Name(Hz3Events.NATIVE_ALLOCATION_SAMPLE)
@Label("hz3 Native Allocation Sample")
@Category({Hz3Events.CATEGORY_ROOT, Hz3Events.CATEGORY_HZ3})
@Description("A sampled native allocation from Java code (Unsafe, direct buffer, Deflater, Inflater, JNA Memory), with its stack trace")
@StackTrace(true)
public class NativeAllocationSampleEvent extends jdk.jfr.Event {

    @Label("Address")
    @Description("Address of the allocated block")
    @Unsigned
    public long address;

    @Label("Size")
    @Description("Bytes asked for; for Deflater and Inflater a nominal size (zlib's own formula at the JDK's settings)")
    @DataAmount
    public long size;

    @Label("Weight")
    @Description("Bytes this sample stands for: size / (1 - exp(-size / sampleBytes))")
    @DataAmount
    public long weight;

    @Label("Kind")
    @Description("unsafe, direct buffer, memory segment, deflater, inflater or jna memory (the application's com.sun.jna.Memory)")
    public String kind;

    @Label("Site")
    @Description("The first frame outside the JDK (Class.method:line), where the allocation is attributed")
    public String site;

    @Label("Source")
    @Description("agent: the block Java saw at the entry point, sampled by the agent; hz3: a malloc hz3 sampled inside the call (zlib's, a JNI library's), with tier and size class")
    public String source;

    @Label("Tier")
    @Description("hz3's tier of the block (small, sub4k, medium, large); empty for the agent's samples")
    public String tier;

    @Label("Size Class")
    @Description("hz3's size class index of the block; -1 above the span tiers and for the agent's samples")
    public int sizeClass;

    @Label("Allocation Time")
    @Description("When hz3 took the sample (the event is committed when the call returns)")
    @Timestamp(Timestamp.MILLISECONDS_SINCE_EPOCH)
    public long allocationTime;

    @Label("Records Lost")
    @Description("hz3 samples lost before this one since attribution started: hz3's ring of samples was full, or a sample's call never returned to claim it; they still count in hz3.NativeSite")
    public long recordsLost;
}
