package dev.hz3.jmc.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.openjdk.jmc.common.util.IPreferenceValueProvider;
import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.Severity;

import dev.hz3.jmc.SiteRecording;

/**
 * "Native memory growth" on chosen series of hz3.NativeSite events (a child JVM commits them, one
 * round every few tens of ms): a site that grows all along is a leak; one that grows and then
 * holds (a cache) is not, even beside a leak. The samples' real recordings are tested in
 * samples (NativeLeakRuleTest).
 */
class NativeMemoryGrowthRuleTest {

    static final long MIB = 1 << 20;
    static final String LEAK = "com.example.Sessions.open:57";
    static final String CACHE = "com.example.Cache.fill:30";

    static IResult evaluate(SiteRecording r) throws Exception {
        return RuleTestSupport.evaluate(new NativeMemoryGrowthRule(), r.load(), IPreferenceValueProvider.DEFAULT_VALUES);
    }

    /** Eight rounds: the leak adds 4 MiB each; the cache fills in three rounds to 30 MiB, then holds. */
    static SiteRecording leakBesideCache(boolean withLeak) {
        SiteRecording r = new SiteRecording();
        long[] cache = {10, 20, 30, 30, 30, 30, 30, 30};
        for (int i = 0; i < cache.length; i++) {
            if (withLeak) {
                r.site(LEAK, "deflater", (i + 1) * 4 * MIB, 1000L * (i + 1));
            }
            r.site(CACHE, "direct buffer", cache[i] * MIB, 1000L * (i + 1));
            r.endRound();
        }
        return r;
    }

    @Test
    void aSiteGrowingAllAlongIsNamedAndTheCacheIsNot() throws Exception {
        IResult r = evaluate(leakBesideCache(true));
        RuleTestSupport.assertSeverity(Severity.WARNING, r);
        assertTrue(summary(r).startsWith("Native memory grows steadily at 1 Java call site(s): " + LEAK
                + " (deflater)"), summary(r));
        String text = RuleTestSupport.readable(r.getExplanation());
        // 32 MiB at the end, 28 MiB more than the first sample; oldest sample 8 s old.
        assertTrue(text.contains("- " + LEAK + " (deflater, through new java.util.zip.Deflater): grows "), text);
        assertTrue(text.contains("32 MiB live at the end, 28 MiB more than at its first sample"), text);
        assertTrue(text.contains("its oldest live sample is 8 s old"), text);
        assertTrue(text.contains("1 site(s) grew and then held, as a cache or a pool does, and are not reported: "
                + CACHE + " (direct buffer)"), text);
        assertTrue(RuleTestSupport.readable(r.getSolution()).contains("call end() when done"), RuleTestSupport.readable(r.getSolution()));
        assertFalse(RuleTestSupport.readable(r.getSolution()).contains("Direct buffers"), "advice only for the leaking kind: " + RuleTestSupport.readable(r.getSolution()));
    }

    @Test
    void aCacheThatFillsAndHoldsIsNotALeak() throws Exception {
        IResult r = evaluate(leakBesideCache(false));
        RuleTestSupport.assertSeverity(Severity.OK, r);
        assertEquals("No Java call site's native memory grows steadily (1 sites seen; the largest, " + CACHE
                + " (direct buffer), holds 30 MiB).", summary(r));
    }

    @Test
    void withoutSiteEventsItSaysHowToTurnAttributionOn() throws Exception {
        IResult r = RuleTestSupport.evaluate(new NativeMemoryGrowthRule(), RuleTestSupport.record(s -> {
        }), IPreferenceValueProvider.DEFAULT_VALUES);
        RuleTestSupport.assertSeverity(Severity.NA, r);
        assertEquals("The recording has no hz3.NativeSite events: native attribution was off.", summary(r));
        assertTrue(RuleTestSupport.readable(r.getExplanation()).contains("-javaagent:hz3-agent.jar=attribution=on"), RuleTestSupport.readable(r.getExplanation()));
    }

    static String summary(IResult r) {
        return RuleTestSupport.readable(r.getSummary());
    }
}
