package dev.hz3.agent.core.sites;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hz3.agent.boot.NativeAllocHooks;
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
        Site site = new Site(1, "k", "s", "e", "unsafe");
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
        SiteSampler sampler = new SiteSampler(512 * 1024, 10, false);
        long kept = keep(sampler);
        churn(sampler);
        List<SiteSampler.Tally> tally = sampler.tally();
        assertEquals(1, tally.size(), () -> "only keep() holds memory: " + tally.size());
        SiteSampler.Tally t = tally.get(0);
        assertTrue(t.site.site.contains(".keep:"), t.site.site);
        assertEquals("unsafe", t.site.kind);
        double ratio = t.liveBytes / kept;
        assertTrue(ratio > 0.9 && ratio < 1.1, "estimated " + t.liveBytes + " of " + kept);
    }

    private static long keep(SiteSampler sampler) {
        long bytes = 0;
        for (int i = 0; i < 40_000; i++) {
            long size = 1_000 + (i % 7) * 9_000;     // 1,000 .. 55,000 bytes
            sampler.onAlloc(0x1000_0000L + 64L * 1024 * i, size, NativeAllocHooks.KIND_UNSAFE);
            bytes += size;
        }
        return bytes;
    }

    private static void churn(SiteSampler sampler) {
        for (int i = 0; i < 40_000; i++) {
            long a = 0x7000_0000_0000L + 64L * 1024 * i;
            sampler.onAlloc(a, 30_000, NativeAllocHooks.KIND_UNSAFE);
            sampler.onFree(a);
        }
    }
}
