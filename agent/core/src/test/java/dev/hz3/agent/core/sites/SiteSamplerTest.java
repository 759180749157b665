package dev.hz3.agent.core.sites;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hz3.agent.boot.NativeAllocHooks;
import example.Workload;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandleProxies;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The sampler's table and estimator, driven directly (no instrumentation, no JFR recording). */
class SiteSamplerTest {

    @Test
    void liveSamplesIsAMap() {
        LiveSamples t = new LiveSamples();
        Map<Long, Sample> ref = new HashMap<>();
        Random r = new Random(7);
        Site site = new Site(1, "s", "e", NativeAllocHooks.KIND_UNSAFE);
        for (int i = 0; i < 200_000; i++) {
            long a = 16L * (1 + r.nextInt(5_000));   // collisions and reuse, as malloc's
            if (r.nextBoolean()) {
                Sample s = new Sample(a, 1, 1, site, i);
                t.put(s);
                ref.put(a, s);
            } else {
                assertSame(ref.remove(a), t.remove(a), "remove " + a);
            }
        }
        assertEquals(ref.size(), t.all().size());
        for (Map.Entry<Long, Sample> e : ref.entrySet()) {
            assertSame(e.getValue(), t.remove(e.getKey()));
        }
        assertTrue(t.all().isEmpty());
        assertNull(t.remove(16));
    }

    @Test
    void weightIsSizeOverProbability() {
        double n = 512 * 1024;
        assertEquals(n, SiteSampler.weight(1, n), 1.0);                    // tiny: one sample is N
        assertEquals(10 * n, SiteSampler.weight((long) (10 * n), n), 1e-3 * n); // huge: its size
        double s = 123_457;
        assertEquals(s / (1 - Math.exp(-s / n)), SiteSampler.weight((long) s, n), 1e-6);
    }

    /** Kept blocks of mixed sizes are estimated within 10%; freed ones leave nothing. */
    @Test
    void estimatesLiveBytesPerSite() {
        estimatesLiveBytesPerSite(SiteNames.WALKER_AFTER);
    }

    /** The same once the JDK's StackWalker names the sampled calls (a long run's). */
    @Test
    void estimatesLiveBytesPerSiteWithTheStackWalker() {
        estimatesLiveBytesPerSite(0);
    }

    private static void estimatesLiveBytesPerSite(long walkerAfter) {
        SiteSampler sampler = new SiteSampler(512 * 1024, 10, false, walkerAfter);
        sampler.activate();
        long kept;
        try {
            kept = Workload.keep();
            Workload.churn();
        } finally {
            sampler.deactivate();
        }
        List<SiteSampler.Tally> tally = sampler.tally();
        assertEquals(1, tally.size(), () -> "only keep() holds memory: " + tally.size());
        SiteSampler.Tally t = tally.get(0);
        assertEquals("example.Workload.keep", t.site.site.substring(0, t.site.site.indexOf(':')));
        assertEquals("unsafe", t.site.kind());
        double ratio = t.liveBytes / kept;
        assertTrue(ratio > 0.9 && ratio < 1.1, "estimated " + t.liveBytes + " of " + kept);
    }

    /** A call from the agent's own code (this test's package) is not a site, however large. */
    @Test
    void theAgentsOwnCallsAreNoSite() {
        theAgentsOwnCallsAreNoSite(SiteNames.WALKER_AFTER);
        theAgentsOwnCallsAreNoSite(0);
    }

    private static void theAgentsOwnCallsAreNoSite(long walkerAfter) {
        SiteSampler sampler = new SiteSampler(1024, 10, false, walkerAfter);
        for (int i = 0; i < 100; i++) {
            assertNull(sampler.onAlloc(0x1000_0000L + 64L * 1024 * i, 1 << 20,
                    NativeAllocHooks.KIND_UNSAFE));
        }
        assertTrue(sampler.tally().isEmpty(), () -> "sites: " + sampler.tally().size());
    }

    /**
     * A call whose every frame is the JDK's (a JDK thread's own work) is named after its first
     * JDK frame past the allocation machinery, with its line: the sampler's second walk, which
     * must land on that frame and not on one of its own. Made here with a thread that runs a
     * method handle's proxy (JDK frames, and hidden ones the walker skips) onto the sampler.
     */
    @Test
    void aCallOfJdkFramesOnlyIsNamedAfterTheFirstOfThem() throws Exception {
        aCallOfJdkFramesOnlyIsNamedAfterTheFirstOfThem(SiteNames.WALKER_AFTER);
    }

    @Test
    void aCallOfJdkFramesOnlyIsNamedAfterTheFirstOfThemWithTheStackWalker() throws Exception {
        aCallOfJdkFramesOnlyIsNamedAfterTheFirstOfThem(0);
    }

    private static void aCallOfJdkFramesOnlyIsNamedAfterTheFirstOfThem(long walkerAfter) throws Exception {
        SiteSampler sampler = new SiteSampler(1024, 10, false, walkerAfter);
        MethodHandle alloc = MethodHandles.lookup().findVirtual(SiteSampler.class, "onAlloc",
                MethodType.methodType(Object.class, long.class, long.class, int.class));
        Runnable r = MethodHandleProxies.asInterfaceInstance(Runnable.class, MethodHandles.dropReturn(
                MethodHandles.insertArguments(alloc, 0, sampler, 0x1000_0000L, 1L << 20,
                        NativeAllocHooks.KIND_UNSAFE)));
        Thread t = new Thread(r, "jdk-only");
        t.start();
        t.join();
        List<SiteSampler.Tally> tally = sampler.tally();
        assertEquals(1, tally.size(), () -> "one sampled call: " + tally.size());
        Site site = tally.get(0).site;
        assertTrue(site.site.matches("(java|jdk)\\.[\\w.$]+\\.[\\w$<>]+:-?\\d+"), site.site);
        assertEquals("", site.entry);
    }
}
