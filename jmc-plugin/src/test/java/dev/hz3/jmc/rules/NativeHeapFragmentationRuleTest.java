package dev.hz3.jmc.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.unit.IQuantity;
import org.openjdk.jmc.common.unit.UnitLookup;
import org.openjdk.jmc.common.util.IPreferenceValueProvider;
import org.openjdk.jmc.common.util.TypedPreference;
import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.Severity;

import dev.hz3.jmc.SyntheticRecording.SizeClass;
import dev.hz3.jmc.SyntheticRecording.Tier;

/**
 * Reading rule 2 at and around each threshold: partial share 50% (INFO) and 75% (WARNING), share
 * of partial pages at most 25% used 50% and 75%, and the 4 MiB floor (1024 pages).
 */
class NativeHeapFragmentationRuleTest extends RuleTestSupport {

    private final NativeHeapFragmentationRule rule = new NativeHeapFragmentationRule();

    private IResult one(Tier t) throws Exception {
        return evaluate(rule, r -> r.census(t, Tier.of("medium", 10, 0, 100, 0)));
    }

    @Test
    void partialShareAtInfoLimitIsInfo() throws Exception {
        IResult r = one(Tier.of("small", 0, 2048, 2048, 2048)); // 50%, all low
        assertSeverity(Severity.INFO, r);
        assertScore(25, r);
    }

    @Test
    void partialShareJustBelowInfoLimitIsOk() throws Exception {
        IResult r = one(Tier.of("small", 0, 2048, 2049, 2048));
        assertSeverity(Severity.OK, r);
        assertTrue(score(r) < 25 && score(r) > 20, "score " + score(r));
        assertTrue(r.getSummary().startsWith("No tier is fragmented"), r.getSummary());
    }

    @Test
    void partialShareAtWarningLimitIsWarning() throws Exception {
        IResult r = one(Tier.of("small", 0, 3072, 1024, 3072)); // 75%
        assertSeverity(Severity.WARNING, r);
        assertScore(75, r);
    }

    @Test
    void partialShareJustBelowWarningLimitIsInfo() throws Exception {
        IResult r = one(Tier.of("small", 0, 3072, 1025, 3072));
        assertSeverity(Severity.INFO, r);
        assertTrue(score(r) > 70, "score " + score(r));
    }

    @Test
    void lowOccupancyAtInfoLimitIsInfo() throws Exception {
        IResult r = one(Tier.of("small", 0, 4096, 0, 2048)); // all partial, half of them <= 25%
        assertSeverity(Severity.INFO, r);
        assertScore(25, r);
    }

    @Test
    void lowOccupancyJustBelowInfoLimitIsOk() throws Exception {
        assertSeverity(Severity.OK, one(Tier.of("small", 0, 4096, 0, 2047)));
    }

    @Test
    void lowOccupancyAtWarningLimitIsWarning() throws Exception {
        IResult r = one(Tier.of("small", 0, 4096, 0, 3072));
        assertSeverity(Severity.WARNING, r);
        assertScore(75, r);
    }

    @Test
    void lowOccupancyJustBelowWarningLimitIsInfo() throws Exception {
        assertSeverity(Severity.INFO, one(Tier.of("small", 0, 4096, 0, 3071)));
    }

    @Test
    void partialPagesAtTheFloorCount() throws Exception {
        IResult r = one(Tier.of("sub4k", 0, 1024, 0, 1024)); // exactly 4 MiB, all partial, all low
        assertSeverity(Severity.WARNING, r);
        assertEquals("sub4k", r.getResult(NativeHeapFragmentationRule.TIER));
        assertEquals(4L << 20, r.getResult(NativeHeapFragmentationRule.PARTIAL_BYTES).longValueIn(UnitLookup.BYTE));
    }

    @Test
    void partialPagesBelowTheFloorAreOk() throws Exception {
        IResult r = one(Tier.of("sub4k", 0, 1023, 0, 1023));
        assertSeverity(Severity.OK, r);
        assertScore(0, r);
        assertTrue(r.getSummary().contains("sub4k"), r.getSummary());
    }

    @Test
    void namesTheTierAndItsSizeClasses() throws Exception {
        IResult r = evaluate(rule, rec -> rec.census(
                List.of(Tier.of("small", 100, 12000, 400, 11800), Tier.of("sub4k", 10, 50, 10, 40)),
                List.of(new SizeClass(19, 1024, "small", 2700, 2690), new SizeClass(18, 896, "small", 2500, 2490),
                        new SizeClass(40, 2304, "sub4k", 30, 20)),
                -1));
        assertSeverity(Severity.WARNING, r);
        assertTrue(r.getSummary().contains("small tier"), r.getSummary());
        assertTrue(r.getExplanation().contains("class 19") && r.getExplanation().contains("class 18"),
                r.getExplanation());
        assertTrue(!r.getExplanation().contains("class 40"), "only the tier's classes: " + r.getExplanation());
        // 5,200 of 12,000 partial pages in the top classes: spread, a general change (reading rule 4).
        assertTrue(r.getExplanation().contains("spread"), r.getExplanation());
        assertTrue(r.getSolution() != null && !r.getSolution().isEmpty());
    }

    @Test
    void theSnapshotWithTheMostPartialPagesCounts() throws Exception {
        IResult r = evaluate(rule, rec -> {
            rec.census(Tier.of("small", 0, 4000, 100, 3900));
            rec.census(Tier.of("small", 4000, 10, 100, 5));
        });
        assertSeverity(Severity.WARNING, r);
    }

    @Test
    void preferencesMoveTheLimits() throws Exception {
        Map<TypedPreference<IQuantity>, IQuantity> prefs = Map.of(
                NativeHeapFragmentationRule.PARTIAL_SHARE_INFO, UnitLookup.PERCENT_UNITY.quantity(0.4),
                NativeHeapFragmentationRule.MIN_PARTIAL, UnitLookup.BYTE.quantity(1 << 20));
        IResult r = evaluate(rule, prefs, rec -> rec.census(Tier.of("small", 0, 400, 600, 400))); // 40%, 1.6 MiB
        assertSeverity(Severity.INFO, r);
        assertScore(25, r);
    }

    @Test
    void withoutTheCensusItIsNotApplicable() throws Exception {
        IItemCollection items = record(rec -> rec.processMemory(100 << 20, 20 << 20, 1 << 20, 40 << 20, 30 << 20));
        assertSeverity(Severity.NA, evaluate(rule, items, IPreferenceValueProvider.DEFAULT_VALUES));
        assertSeverity(Severity.NA, Hz3Rules.evaluate(rule, items, null));
    }

    @Test
    void noPartialPagesIsOk() throws Exception {
        IResult r = one(Tier.of("small", 10, 0, 5000, 0));
        assertSeverity(Severity.OK, r);
    }


    /*
     * Consistency: a later sweep taken while pages changed hands claims 75% of the small tier
     * partial, all of it at most 25% used (a WARNING on its own); the consistent census before it
     * has 10% partial (OK). The rule must read the consistent one, and say that it set the other
     * aside; with only the inconsistent one, it reads that and says the figures are approximate.
     */
    private static final Tier QUIET = Tier.of("small", 0, 410, 3686, 0);       // 10% partial
    private static final Tier MIXED = Tier.of("small", 0, 3072, 1024, 3072);   // 75% partial, all low

    @Test
    void aConsistentCensusIsReadInsteadOfALaterInconsistentOne() throws Exception {
        IResult r = evaluate(rule, rec -> {
            rec.census(QUIET);
            rec.consistent(false).census(MIXED);
        });
        assertSeverity(Severity.OK, r);
        assertTrue(score(r) < 25, "score " + score(r));
        assertTrue(r.getExplanation().contains("1 inconsistent census(es)"), r.getExplanation());
    }

    @Test
    void theInconsistentCensusAloneStillGivesItsFindingAndSaysSo() throws Exception {
        IResult r = evaluate(rule, rec -> rec.consistent(false).census(MIXED));
        assertSeverity(Severity.WARNING, r);
        assertScore(75, r);
        assertTrue(r.getExplanation().contains("Every census in this recording is inconsistent"),
                r.getExplanation());
    }
}
