package dev.hz3.agent.core.sites;

import dev.hz3.agent.core.Log;
import dev.hz3.agent.core.nat.Hz3Sites;
import dev.hz3.jfr.Hz3Events;
import dev.hz3.jfr.NativeAllocationSampleEvent;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * hz3's own samples (hz3_samples_take) as hz3.NativeAllocationSample events, with the Java stack
 * of the call they were taken in.
 *
 * <p>Why they are committed by the allocating thread: JFR records the stack of the thread that
 * commits, and has no API to give an event another thread's stack (nor a start time). A sample
 * hz3 takes inside a marked call records the call's token, and its thread learns at the call's
 * exit that something was sampled (see {@link Hz3Marks}); there, still inside the advised JDK
 * method, it claims the records of its token and the advice commits them: the stack is the very
 * one the site was named from, the advised JDK method on top.
 *
 * <p>hz3's ring is one for the process, so whoever drains it (a thread claiming its token, the
 * periodic hz3.NativeSite) keeps the records of other threads' tokens here until their thread
 * claims them. Records outside any marked call (site 0: the JVM's own mallocs) have no Java stack
 * and are dropped. Records never claimed (a constructor that threw past its mark) are evicted
 * past {@value #MAX_PENDING} and, with those hz3 dropped when its ring was full, counted in each
 * event's recordsLost: they still count in hz3.NativeSite, which reads hz3's table, not the ring.
 */
final class Hz3Samples {

    static final int MAX_PENDING = 4096;
    /**
     * Records per hz3_samples_take. JNA passes the array through JNI's Get/ReleaseLongArrayElements:
     * the JVM copies all of it into a malloc'd buffer and back on every call, whatever hz3 writes.
     * At 512 records (24 KiB, which hz3 then gives back to the OS with a madvise) that was most of
     * a sampled call's claim, which usually finds a record or two.
     */
    private static final int BATCH = 32;

    private final long[] buf = new long[BATCH * Hz3Sites.REC_WORDS];
    private final long[] stats = new long[Hz3Sites.STATS_WORDS];
    /** Token to its records (REC_WORDS words each), oldest token first. */
    private final Map<Long, long[]> pending = new LinkedHashMap<>();
    private int pendingRecords;
    private long unclaimed;
    private final long droppedAtStart;
    private long lostSaid;
    /** lost() as the last drain read it: a claim drains first, so it is as fresh (one JNA call less). */
    private long lostAtDrain;
    /** JFR is up and the event's classes are loaded (see SiteSampler.eventsReady). */
    private volatile boolean events;

    Hz3Samples() {
        droppedAtStart = ringDropped();
    }

    /**
     * The events of the samples hz3 took under token (the calling thread's call that just
     * returned), for site; null when none is to be committed. site null: the call is the agent's
     * own, its records are dropped.
     */
    synchronized NativeAllocationSampleEvent[] claim(long token, Site site) {
        drain();
        long[] recs = pending.remove(token);
        if (recs == null) {
            return null;
        }
        int n = recs.length / Hz3Sites.REC_WORDS;
        pendingRecords -= n;
        if (site == null || !events || !new NativeAllocationSampleEvent().isEnabled()) {
            return null;
        }
        long lost = lostAtDrain;
        NativeAllocationSampleEvent[] out = new NativeAllocationSampleEvent[n];
        for (int i = 0; i < n; i++) {
            out[i] = event(recs, i * Hz3Sites.REC_WORDS, site, lost);
        }
        return out;
    }

    /** Moves hz3's ring into the pending records (the periodic hz3.NativeSite calls it too). */
    synchronized void drain() {
        long n;
        while ((n = Hz3Sites.hz3_samples_take(buf, BATCH)) > 0) {
            for (int i = 0; i < n; i++) {
                int at = i * Hz3Sites.REC_WORDS;
                long site = buf[at + Hz3Sites.REC_SITE];
                if (site < 0) {   // a token (bit 63): a marked call's
                    long[] old = pending.get(site);
                    long[] recs = old == null ? new long[Hz3Sites.REC_WORDS]
                            : Arrays.copyOf(old, old.length + Hz3Sites.REC_WORDS);
                    System.arraycopy(buf, at, recs, recs.length - Hz3Sites.REC_WORDS, Hz3Sites.REC_WORDS);
                    pending.put(site, recs);
                    pendingRecords++;
                }
            }
            if (n < BATCH) {
                break;
            }
        }
        for (Iterator<long[]> it = pending.values().iterator();
                pendingRecords > MAX_PENDING && it.hasNext(); ) {
            int k = it.next().length / Hz3Sites.REC_WORDS;
            it.remove();
            pendingRecords -= k;
            unclaimed += k;
        }
        long lost = lost();
        lostAtDrain = lost;
        if (lost > 2 * lostSaid) {
            Log.warn("native attribution: " + lost + " of hz3's samples could not be given a"
                    + " stack (its ring of samples was full, or their call never returned); they"
                    + " still count in hz3.NativeSite; hz3.NativeAllocationSample's recordsLost"
                    + " says how many (said again when it doubles)");
            lostSaid = lost;
        }
    }

    /** Records hz3 dropped (ring full) since this sampler started, plus those never claimed. */
    private long lost() {
        return ringDropped() - droppedAtStart + unclaimed;
    }

    private long ringDropped() {
        Hz3Sites.hz3_sampling_stats_get(stats);
        return stats[Hz3Sites.STATS_RING_DROPPED];
    }

    private static NativeAllocationSampleEvent event(long[] r, int at, Site site, long lost) {
        NativeAllocationSampleEvent e = new NativeAllocationSampleEvent();
        e.source = "hz3";
        e.address = r[at + Hz3Sites.REC_ADDR];
        e.size = r[at + Hz3Sites.REC_SIZE];
        e.weight = r[at + Hz3Sites.REC_WEIGHT];
        e.kind = site.kind();
        e.site = site.site;
        long tc = r[at + Hz3Sites.REC_TIER_CLS];
        int tier = (int) tc;
        int cls = (int) (tc >>> 32);
        e.tier = tier >= 0 && tier < Hz3Events.TIERS.size() ? Hz3Events.TIERS.get(tier) : "";
        e.sizeClass = cls;   // UINT32_MAX: -1, above the span tiers
        e.allocationTime = r[at + Hz3Sites.REC_TIME_MS];
        e.recordsLost = lost;
        return e;
    }

    /** Loads what a claim uses before an advised call can need it (see SiteSampler.warmUp). */
    void warmUp() {
        drain();
    }

    /** Loads what a claim's events use; claims make events from now on. */
    void eventsReady() {
        event(new long[Hz3Sites.REC_WORDS], 0, new Site(0, "", "", 0), 0);
        events = true;
    }
}
