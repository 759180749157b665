package dev.hz3.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;

/**
 * Where the process's resident memory goes. The resident buckets add up to rss: javaHeap +
 * threadStacks + hz3 + fileMappings + otherMappings = rss. rss is the kernel's count
 * (/proc/self/statm); the anonymous buckets are counted page by page (mincore over the mappings
 * /proc/self/maps lists), and fileMappings is the rest: the same split as the per-mapping Rss
 * of /proc/self/smaps, without its cost. The other fields are the JVM's own accounts, which overlap those buckets
 * (direct buffers are malloc'd, so under hz3 they lie inside the hz3 bucket).
 */
@Name(Hz3Events.PROCESS_MEMORY)
@Label("hz3 Process Memory")
@Category({Hz3Events.CATEGORY_ROOT, Hz3Events.CATEGORY_HZ3})
@Description("The process's resident memory split into Java heap, thread stacks, hz3, files and other mappings, with the JVM's own accounts and the cgroup's use and limit")
@StackTrace(false)
@Period("10 s")
public class ProcessMemoryEvent extends jdk.jfr.Event {

    @Label("Resident")
    @Description("Resident bytes of the process (/proc/self/statm: what the Rss of every mapping in /proc/self/smaps adds up to)")
    @DataAmount
    public long rss;

    @Label("Java Heap")
    @Description("Resident bytes inside the Java heap's address range")
    @DataAmount
    public long javaHeap;

    @Label("Thread Stacks")
    @Description("Resident bytes of thread stacks (mappings holding a thread's stack pointer)")
    @DataAmount
    public long threadStacks;

    @Label("hz3")
    @Description("Resident bytes of hz3's mappings (0 when hz3 is not the malloc)")
    @DataAmount
    public long hz3;

    @Label("File Mappings")
    @Description("Resident bytes of file-backed mappings: the JDK's libraries and modules, jars, the CDS archive")
    @DataAmount
    public long fileMappings;

    @Label("Other Mappings")
    @Description("Other resident anonymous memory: the JVM's own mappings (metaspace, code cache, GC data) and, without hz3, the malloc's arenas")
    @DataAmount
    public long otherMappings;

    @Label("Java Heap Committed")
    @Description("Committed bytes of the Java heap's memory pools")
    @DataAmount
    public long javaHeapCommitted;

    @Label("Other JVM Memory")
    @Description("The JVM's own committed memory besides the Java heap: Native Memory Tracking's total when it is on, else the non-heap pools (metaspace, code cache)")
    @DataAmount
    public long jvmOther;

    @Label("Other JVM Memory Source")
    @Description("Where Other JVM Memory comes from: nmt or non-heap pools")
    public String jvmOtherSource;

    @Label("Direct Buffers")
    @Description("Memory of direct ByteBuffers (malloc'd: part of hz3 or of the malloc's arenas)")
    @DataAmount
    public long directBuffers;

    @Label("Direct Buffer Count")
    @Description("Live direct ByteBuffers")
    public long directBufferCount;

    @Label("Threads")
    @Description("Threads of the process")
    public int threads;

    @Label("Cgroup")
    @Description("The process's memory cgroup, or empty when there is none to read")
    public String cgroup;

    @Label("Cgroup Usage")
    @Description("Memory the cgroup uses now (memory.current or memory.usage_in_bytes); 0 without a cgroup")
    @DataAmount
    public long cgroupUsage;

    @Label("Cgroup Limit")
    @Description("The cgroup's memory limit (memory.max or memory.limit_in_bytes); 0 when there is no limit")
    @DataAmount
    public long cgroupLimit;
}
