package dev.hz3.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Unsigned;

/**
 * One sampled native allocation made through a JDK entry point (Unsafe, a direct buffer, a zlib
 * stream), committed in the allocating thread so that JFR records its Java stack. The agent
 * samples about one allocation per {@code sampleBytes} bytes (agent option); {@code weight} is
 * the bytes this sample stands for, so summing weights estimates the bytes allocated.
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
}
