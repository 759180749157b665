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
 * "Java call sites that pin native pages" on recordings of hz3.NativeSite events that a child JVM
 * commits with chosen pinned figures (hz3 fills them in when it is the malloc), and on ones
 * where they are -1, as under any other malloc.
 */
class PinnedNativePagesRuleTest {

    static final long MIB = 1 << 20;
    static final String CACHE = "com.example.Sessions.open:57";
    static final String SCRATCH = "com.example.Codec.scratch:112";
    static final String SMALL = "com.example.Tiny.buf:9";

    static IResult evaluate(SiteRecording r) throws Exception {
        return RuleTestSupport.evaluate(new PinnedNativePagesRule(), r.load(), IPreferenceValueProvider.DEFAULT_VALUES);
    }

    @Test
    void namesTheSitesAboveTheLimitWithTheirPinnedBytesAndPages() throws Exception {
        // Round 2 pins the most in all (20 + 5 + 1 MiB): the rule quotes it, not round 1.
        IResult r = evaluate(new SiteRecording()
                .site(CACHE, "direct buffer", 40 * MIB, 9000, 0, 1000, 3 * MIB).site(SCRATCH, "unsafe", 8 * MIB, 9000, 0, 10, MIB / 2)
                .endRound()
                .site(CACHE, "direct buffer", 60 * MIB, 19000, 2 * MIB, 5120, 20 * MIB)
                .site(SCRATCH, "unsafe", 9 * MIB, 19000, 0, 1280, 5 * MIB)
                .site(SMALL, "unsafe", 2 * MIB, 19000, 0, 256, MIB));
        // 20 MiB is past the warning limit (16 MiB); 5 MiB past the info limit (4 MiB); 1 MiB below.
        RuleTestSupport.assertSeverity(Severity.WARNING, r);
        assertTrue(summary(r).startsWith("2 Java call site(s) keep partly used native pages resident: "
                + CACHE + " (direct buffer), " + SCRATCH + " (unsafe)"), summary(r));
        assertTrue(summary(r).contains("20 MiB"), summary(r));
        String text = RuleTestSupport.readable(r.getExplanation());
        assertTrue(text.contains("- " + CACHE + " (direct buffer): 20 MiB pinned on 5,120 pages; 60 MiB live"), text);
        assertTrue(text.contains("- " + SCRATCH + " (unsafe): 5 MiB pinned on 1,280 pages"), text);
        assertFalse(text.contains(SMALL), text);
        assertTrue(RuleTestSupport.readable(r.getSolution()).contains("free them in batches"), RuleTestSupport.readable(r.getSolution()));
        assertFalse(RuleTestSupport.readable(r.getSolution()).contains("size class"), "no allocator-internal advice: " + RuleTestSupport.readable(r.getSolution()));
    }

    @Test
    void belowTheInfoLimitIsOk() throws Exception {
        IResult r = evaluate(new SiteRecording().site(CACHE, "direct buffer", 40 * MIB, 9000, 0, 200, 3 * MIB));
        RuleTestSupport.assertSeverity(Severity.OK, r);
        assertTrue(summary(r).contains("at most 3 MiB (" + CACHE + " (direct buffer)), below 4 MiB"), summary(r));
    }

    @Test
    void withoutHz3AsTheMallocItSaysPinningNeedsHz3() throws Exception {
        IResult r = evaluate(new SiteRecording().site(CACHE, "direct buffer", 40 * MIB, 9000).endRound()
                .site(CACHE, "direct buffer", 50 * MIB, 19000));
        RuleTestSupport.assertSeverity(Severity.NA, r);
        assertEquals("Pinned pages are not known: hz3 is not this JVM's malloc.", summary(r));
        assertTrue(RuleTestSupport.readable(r.getExplanation()).contains("bin/hz3-java"), RuleTestSupport.readable(r.getExplanation()));
    }

    @Test
    void withoutSiteEventsItSaysHowToTurnAttributionOn() throws Exception {
        IResult r = RuleTestSupport.evaluate(new PinnedNativePagesRule(), RuleTestSupport.record(s -> {
        }), IPreferenceValueProvider.DEFAULT_VALUES);
        RuleTestSupport.assertSeverity(Severity.NA, r);
        assertTrue(RuleTestSupport.readable(r.getExplanation()).contains("attribution=on"), RuleTestSupport.readable(r.getExplanation()));
    }

    static String summary(IResult r) {
        return RuleTestSupport.readable(r.getSummary());
    }
}
