package dev.hz3.jmc;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import dev.hz3.jfr.NativeAllocationSampleEvent;
import dev.hz3.jfr.NativeSiteEvent;
import jdk.jfr.Recording;

/**
 * A JVM that records hz3.NativeSite and hz3.NativeAllocationSample events with the values its
 * arguments give, as the agent would commit them, and dumps them to a file: for the tests of what
 * reads site events, with figures (pinned pages above all, which only hz3 fills in) that the test
 * chooses. Arguments: the output file, then per event
 * <pre>
 *   site|KIND|ENTRY|LIVE|OLDEST_AGE_MS|NATIVE_LIVE|PINNED_PAGES|PINNED_BYTES   (rank = place in the round)
 *   sample|SITE|KIND|SIZE|WEIGHT[|SOURCE]                      (stack: this class's frames; source agent)
 *   --                                                                       (the round ends)
 * </pre>
 * where the site event's first field is the site itself (Class.method:line). Rounds are about
 * {@link #ROUND_MILLIS} apart, so that they have distinct times as periodic rounds do.
 */
public final class SiteEventsJvm {

    public static final long ROUND_MILLIS = 40;

    private SiteEventsJvm() {
    }

    public static void main(String[] args) throws Exception {
        try (Recording r = new Recording()) {
            r.enable(NativeSiteEvent.class);
            r.enable(NativeAllocationSampleEvent.class).withStackTrace();
            r.start();
            int rank = 0;
            for (int i = 1; i < args.length; i++) {
                String[] f = args[i].split("\\|", -1);
                if (args[i].equals("--")) {
                    rank = 0;
                    // Time must pass between rounds: the readers order and space rounds by their times.
                    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ROUND_MILLIS);
                    while (System.nanoTime() < until) {
                        LockSupport.parkNanos(until - System.nanoTime());
                    }
                } else if (f[0].equals("sample")) {
                    allocateAt(f[1], f[2], Long.parseLong(f[3]), Long.parseLong(f[4]), f.length > 5 ? f[5] : "agent");
                } else {
                    NativeSiteEvent e = new NativeSiteEvent();
                    e.rank = ++rank;
                    e.site = f[0];
                    e.kind = f[1];
                    e.entry = f[2];
                    e.liveBytes = Long.parseLong(f[3]);
                    e.liveSamples = Math.max(1, e.liveBytes >> 19);
                    e.oldestAge = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(f[4]));
                    e.sampleBytes = 512 << 10;
                    e.nativeLiveBytes = Long.parseLong(f[5]);
                    e.pinnedPages = Long.parseLong(f[6]);
                    e.pinnedBytes = Long.parseLong(f[7]);
                    e.commit();
                }
            }
            r.stop();
            r.dump(Path.of(args[0]));
        }
    }

    /** The frame the samples' stacks start from (after the JFR's own commit frames). */
    static void allocateAt(String site, String kind, long size, long weight, String source) {
        NativeAllocationSampleEvent e = new NativeAllocationSampleEvent();
        e.address = 0x7f00_0000_0000L + size;
        e.size = size;
        e.weight = weight;
        e.kind = kind;
        e.site = site;
        e.source = source;
        e.commit();
    }
}
