package dev.hz3.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;
import jdk.jfr.Timestamp;
import jdk.jfr.Unsigned;

/**
 * One hz3 epoch: the allocator's maintenance step (purging, reclaiming, advancing the census).
 * Mirrors struct hz3_epoch_info; committed from hz3's listener on its maintenance thread, so
 * the thread that ran the epoch is in explicit fields (on JDK 17 a JFR event committed from a
 * native callback thread has no eventThread, and on later JDKs it names the dispatcher).
 */
@Name(Hz3Events.EPOCH)
@Label("hz3 Epoch")
@Category({Hz3Events.CATEGORY_ROOT, Hz3Events.CATEGORY_HZ3})
@Description("One epoch of the hz3 allocator: pages it gave back to the OS and the census work it did")
@StackTrace(false)
public class EpochEvent extends jdk.jfr.Event {

    @Label("Sequence")
    @Description("The epoch's number in hz3's one global sequence (snapshots name the epochs they span)")
    @Unsigned
    public long seq;

    @Label("Reason")
    @Description("Why the epoch ran: slow_path, thread_exit, forced, timer, purge, snapshot or exit")
    public String reason;

    @Label("OS Thread Id")
    @Description("Linux thread id (gettid) of the thread that ran the epoch")
    public int osThreadId;

    @Label("OS Thread Name")
    @Description("Kernel name (comm, at most 15 characters) of the thread that ran the epoch")
    public String osThreadName;

    @Label("Java Thread Id")
    @Description("Thread id of the Java thread that ran the epoch, or 0 when it has none or none could be told apart")
    public long javaThreadId;

    @Label("Java Thread Name")
    @Description("Name of the Java thread that ran the epoch; empty when javaThreadId is 0")
    public String javaThreadName;

    @Label("Epoch Start")
    @Description("Wall-clock time when the epoch started, as hz3 took it")
    @Timestamp(Timestamp.MILLISECONDS_SINCE_EPOCH)
    public long epochStart;

    @Label("Epoch Duration")
    @Description("How long the epoch took")
    @Timespan(Timespan.NANOSECONDS)
    public long epochDuration;

    @Label("Pages Purged")
    @Description("4 KiB pages this epoch decommitted (MADV_DONTNEED)")
    public long pagesPurged;

    @Label("Bytes Purged")
    @Description("Pages purged times the page size")
    @DataAmount
    public long bytesPurged;

    @Label("madvise Calls")
    @Description("MADV_DONTNEED calls this epoch made (one per run of free pages)")
    public long madviseCalls;

    @Label("Segments Unmapped")
    @Description("Wholly free segments this epoch gave back")
    public long segmentsUnmapped;

    @Label("Segments Scanned")
    @Description("Segments the census sweep read in this epoch")
    public long segmentsScanned;

    @Label("Spans Reclaimed")
    @Description("Spans of exited threads found empty and given back")
    public long spansReclaimed;

    @Label("Large Unmapped")
    @Description("Cached large-object mappings given back")
    public long largeUnmapped;
}
