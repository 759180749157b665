package dev.hz3.jmc.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openjdk.jmc.common.IDisplayable;
import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.util.IPreferenceValueProvider;
import org.openjdk.jmc.common.util.TypedPreference;
import org.openjdk.jmc.flightrecorder.JfrLoaderToolkit;
import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.IRule;
import org.openjdk.jmc.flightrecorder.rules.Severity;


/**
 * What a user reads of the rules, on a real recording (the Fragment sample on JDK 17, the one the
 * report tests use): plain text only, since JMC shows every result text as such; thresholds shown
 * as JMC shows a percentage; and one snapshot per finding, so the fragmentation and hot-spot rules
 * quote the same figures for the same class.
 */
class RuleTextTest {

    static IItemCollection fragment;
    static List<IResult> results;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = new GZIPInputStream(
                RuleTextTest.class.getResourceAsStream("/dev/hz3/jmc/report/fragment-jdk17.jfr.gz"))) {
            fragment = JfrLoaderToolkit.loadEvents(in);
        }
        results = Hz3Rules.evaluate(fragment, IPreferenceValueProvider.DEFAULT_VALUES);
    }

    @Test
    void everyResultIsPlainText() {
        for (IResult r : results) {
            RuleTestSupport.assertPlainText(r);
        }
        // Lists are lines of their own, not run together.
        String fragmentation = results.get(0).getExplanation();
        assertTrue(fragmentation.contains("\n- class "), fragmentation);
    }

    /** JMC's own HTML report of the same results: before, it showed our markup escaped ("&lt;p&gt;"). */
    @Test
    void jmcsHtmlReportShowsNoMarkupOfOurs() {
        String html = org.openjdk.jmc.flightrecorder.rules.report.html.JfrHtmlRulesReport.createReport(fragment);
        assertTrue(html.contains("Native heap fragmentation"), "the hz3 rules ran");
        for (String tag : List.of("p", "ul", "li", "b", "code")) {
            assertFalse(html.contains("&lt;" + tag + "&gt;"), "escaped <" + tag + "> in JMC's report");
        }
    }

    @Test
    void thresholdsShowAsPercentages() {
        for (IRule rule : Hz3Rules.all()) {
            for (TypedPreference<?> p : rule.getConfigurationAttributes()) {
                Object v = p.getDefaultValue();
                String shown = v instanceof IDisplayable ? ((IDisplayable) v).displayUsing(IDisplayable.AUTO) : "";
                assertFalse(shown.contains("\u00d7"), p.getIdentifier() + " shows as " + shown);
            }
        }
        assertEquals("50 %", NativeHeapFragmentationRule.PARTIAL_SHARE_INFO.getDefaultValue()
                .displayUsing(IDisplayable.AUTO).replace('\u00a0', ' '));
    }

    @Test
    void fragmentationAndHotSpotsQuoteOneSnapshot() {
        IResult fragmentation = results.get(0);
        IResult hotSpots = results.get(2);
        assertEquals(snapshot(fragmentation.getExplanation()), snapshot(hotSpots.getExplanation()));
        // The class both name has the same partial pages in both.
        Matcher m = Pattern.compile("class (\\d+) \\([^)]*\\): ([\\d,]+) partial pages").matcher(
                fragmentation.getExplanation());
        assertTrue(m.find(), fragmentation.getExplanation());
        assertTrue(hotSpots.getExplanation().contains("class " + m.group(1) + ":"), hotSpots.getExplanation());
        assertTrue(hotSpots.getExplanation().contains(m.group(2) + " partial pages"), hotSpots.getExplanation());
    }

    @Test
    void theBucketsSayWhatTheyCountUnderThePagesNames() {
        String text = results.get(0).getExplanation();
        assertTrue(text.contains("empty and full pages included") && text.contains("\u226425%: ")
                && text.contains(">75%: "), text);
    }

    /** Fragment frees its short-lived half and hz3 returns it: a little stays, reused, no finding. */
    @Test
    void fragmentsFewEmptyPagesAreReusedNotKept() {
        IResult r = results.get(1);
        assertEquals(Severity.OK, r.getSeverity(), r.getSummary());
        assertTrue(r.getSummary().startsWith("hz3 returns what is freed: at most"), r.getSummary());
    }

    @Test
    void glibcIsNotApplicableOnHz3AndHasATopicOfItsOwn() {
        IResult glibc = results.get(3);
        assertEquals(Severity.NA, glibc.getSeverity());
        for (IRule rule : Hz3Rules.all().subList(0, 3)) {
            assertFalse(rule.getTopic().equals(glibc.getRule().getTopic()), rule.getId());
        }
    }

    private static String snapshot(String text) {
        Matcher m = Pattern.compile("snapshot (\\d+)").matcher(text);
        assertTrue(m.find(), text);
        return m.group(1);
    }
}
