package dev.hz3.jfr;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * Which malloc this process really uses (the library that the symbol {@code malloc} resolves
 * to), hz3's version and settings when it is hz3, and the agent's view of it. Committed at every
 * chunk boundary, with an exact snapshot when hz3 is the malloc (and hz3.Retention,
 * hz3.ProcessMemory or hz3.GlibcHeap), so each chunk of a recording, and its end, has them all.
 */
@Name(Hz3Events.ALLOCATOR_INFO)
@Label("hz3 Allocator Info")
@Category({Hz3Events.CATEGORY_ROOT, Hz3Events.CATEGORY_HZ3})
@Description("The process's malloc as found through the symbol malloc, hz3's version and settings, and the agent's state")
@StackTrace(false)
@Period("everyChunk")
public class AllocatorInfoEvent extends jdk.jfr.Event {

    @Label("Malloc")
    @Description("The malloc in use: hz3, glibc, jemalloc, tcmalloc, mimalloc or the library's file name")
    public String malloc;

    @Label("Malloc Version")
    @Description("Its version where it tells (hz3_version, gnu_get_libc_version, mi_version)")
    public String mallocVersion;

    @Label("Malloc Library")
    @Description("The file that defines the malloc symbol the process uses (dladdr)")
    public String mallocLibrary;

    @Label("hz3 Status")
    @Description("active, absent (not loaded), not the malloc, or refused (older than the agent)")
    public String hz3Status;

    @Label("hz3 Version")
    @Description("hz3_version() of the loaded libhz3, empty when none is loaded")
    public String hz3Version;

    @Label("Preload")
    @Description("LD_PRELOAD of the process")
    public String preload;

    @Label("Scan Budget")
    @Description("hz3 scan_seg_budget: segments the census reads per epoch")
    public long scanSegBudget;

    @Label("Purge Delay")
    @Description("hz3 purge_delay_ms: how long free pages stay before they are decommitted")
    @Timespan(Timespan.MILLISECONDS)
    public long purgeDelay;

    @Label("Epoch Interval")
    @Description("hz3 epoch_interval_ms: the maintenance thread's period (0: none)")
    @Timespan(Timespan.MILLISECONDS)
    public long epochInterval;

    @Label("Snapshot Interval")
    @Description("hz3 snapshot_min_ms: least time between two snapshots handed to the listener")
    @Timespan(Timespan.MILLISECONDS)
    public long snapshotMin;

    @Label("Exit Report")
    @Description("hz3 obs: whether hz3 writes its report at exit (HZ3_OBS)")
    public boolean obs;

    @Label("Agent Version")
    @Description("Version of the hz3 agent")
    public String agentVersion;

    @Label("Agent JNA Version")
    @Description("Version of the JNA the agent uses (its own, apart from any the application has)")
    public String jnaVersion;

    @Label("Agent Options")
    @Description("The agent's options in effect")
    public String options;
}
