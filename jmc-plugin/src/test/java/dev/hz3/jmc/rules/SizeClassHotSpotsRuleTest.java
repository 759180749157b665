package dev.hz3.jmc.rules;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.openjdk.jmc.common.util.IPreferenceValueProvider;
import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.Severity;

import dev.hz3.jmc.SyntheticRecording.SizeClass;
import dev.hz3.jmc.SyntheticRecording.Tier;

/**
 * Reading rules 3 and 4 at and around each threshold: the top 3 classes' share of all partial
 * pages 50% (INFO) and 75% (WARNING), and the 4 MiB floor.
 */
class SizeClassHotSpotsRuleTest extends RuleTestSupport {

    private final SizeClassHotSpotsRule rule = new SizeClassHotSpotsRule();

    /** 4000 partial pages in all; the top three classes hold a, b, c; two more hold 10 each. */
    private IResult census(long total, long a, long b, long c) throws Exception {
        return evaluate(rule, r -> r.census(List.of(Tier.of("small", 0, total, 1000, total / 2)),
                List.of(new SizeClass(7, 112, "small", a, a), new SizeClass(3, 48, "small", b, b),
                        new SizeClass(12, 208, "small", c, c), new SizeClass(1, 16, "small", 10, 5),
                        new SizeClass(2, 32, "small", 10, 5)),
                -1));
    }

    @Test
    void topShareAtInfoLimitIsInfo() throws Exception {
        IResult r = census(4000, 1000, 600, 400); // 2000 of 4000
        assertSeverity(Severity.INFO, r);
        assertScore(25, r);
        assertTrue(r.getSummary().contains("class 7") && r.getSummary().contains("class 3")
                && r.getSummary().contains("class 12"), r.getSummary());
    }

    @Test
    void topShareJustBelowInfoLimitIsOkAndSaysSpread() throws Exception {
        IResult r = census(4000, 1000, 600, 399);
        assertSeverity(Severity.OK, r);
        assertTrue(r.getSummary().contains("spread"), r.getSummary());
        assertTrue(r.getExplanation().contains("many sizes"), r.getExplanation());
    }

    @Test
    void topShareAtWarningLimitIsWarning() throws Exception {
        IResult r = census(4000, 2000, 600, 400); // 3000 of 4000
        assertSeverity(Severity.WARNING, r);
        assertScore(75, r);
        assertTrue(r.getExplanation().contains("208"), "object sizes named: " + r.getExplanation());
    }

    @Test
    void topShareJustBelowWarningLimitIsInfo() throws Exception {
        assertSeverity(Severity.INFO, census(4000, 1999, 600, 400));
    }

    @Test
    void fewPartialPagesAreOk() throws Exception {
        assertSeverity(Severity.WARNING, census(1024, 1000, 10, 10)); // 4 MiB: judged
        IResult r = census(1023, 1000, 10, 10);
        assertSeverity(Severity.OK, r);
        assertScore(0, r);
        assertTrue(r.getSummary().startsWith("Few partial pages"), r.getSummary());
    }

    @Test
    void withoutSizeClassEventsItIsNotApplicable() throws Exception {
        var items = record(r -> r.census(Tier.of("small", 0, 4000, 100, 4000)));
        assertSeverity(Severity.NA, evaluate(rule, items, IPreferenceValueProvider.DEFAULT_VALUES));
        assertSeverity(Severity.NA, Hz3Rules.evaluate(rule, items, null));
    }
}
