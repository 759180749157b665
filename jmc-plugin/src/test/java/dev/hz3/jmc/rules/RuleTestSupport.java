package dev.hz3.jmc.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.RunnableFuture;

import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.unit.IQuantity;
import org.openjdk.jmc.common.util.IPreferenceValueProvider;
import org.openjdk.jmc.common.util.TypedPreference;
import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.IRule;
import org.openjdk.jmc.flightrecorder.rules.Severity;
import org.openjdk.jmc.flightrecorder.rules.TypedResult;

import dev.hz3.jmc.SyntheticRecording;

/** Runs a rule on a real recording of synthetic events, directly and the way JMC's engine does. */
abstract class RuleTestSupport {

    interface Body {
        void record(SyntheticRecording r) throws Exception;
    }

    static IItemCollection record(Body body) throws Exception {
        try (SyntheticRecording r = SyntheticRecording.start()) {
            body.record(r);
            return r.load();
        }
    }

    /** The rule's own evaluation (no required-events check first). */
    static IResult evaluate(IRule rule, IItemCollection items, IPreferenceValueProvider vp) throws Exception {
        RunnableFuture<IResult> f = rule.createEvaluation(items, vp, null);
        f.run();
        IResult r = f.get();
        assertNotNull(r);
        assertTrue(r.getSummary() != null && !r.getSummary().isEmpty(), "summary");
        assertTrue(!r.getSummary().contains("!") || !r.getSummary().matches(".*![A-Za-z_]+!.*"),
                "missing message key in " + r.getSummary());
        if (r.getExplanation() != null) {
            assertTrue(!r.getExplanation().matches("(?s).*![A-Za-z_]+!.*"), "missing key: " + r.getExplanation());
        }
        assertPlainText(r);
        return r;
    }

    /** Markup: a tag, or an HTML entity. */
    static final java.util.regex.Pattern MARKUP = java.util.regex.Pattern
            .compile("</?[A-Za-z][A-Za-z0-9]*(\\s[^>]*)?/?>|&(#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);");

    /**
     * JMC shows a result's summary, explanation and solution as plain text: any markup would be
     * seen literally (issue 11: "<p>", "<ul>", "<li>" in the Results view), and so would a leading
     * or trailing line break.
     */
    static void assertPlainText(IResult r) {
        for (String text : new String[] {r.getSummary(), r.getExplanation(), r.getSolution()}) {
            if (text == null) {
                continue;
            }
            assertTrue(!MARKUP.matcher(text).find(), "markup in " + text);
            assertEquals(text.strip(), text, "leading or trailing white space");
            assertTrue(!text.contains("\n\n\n"), "empty lines in " + text);
        }
    }

    static IResult evaluate(IRule rule, Body body) throws Exception {
        return evaluate(rule, record(body), IPreferenceValueProvider.DEFAULT_VALUES);
    }

    static IResult evaluate(IRule rule, Map<TypedPreference<IQuantity>, IQuantity> prefs, Body body)
            throws Exception {
        return evaluate(rule, record(body), SyntheticRecording.prefs(prefs));
    }

    static double score(IResult r) {
        IQuantity q = r.getResult(TypedResult.SCORE);
        assertNotNull(q, "score of " + r.getSummary());
        return q.doubleValue();
    }

    static void assertSeverity(Severity expected, IResult r) {
        assertEquals(expected, r.getSeverity(), () -> "severity of: " + r.getSummary() + " / " + r.getExplanation());
    }

    static void assertScore(double expected, IResult r) {
        assertEquals(expected, score(r), 1e-6, () -> "score of: " + r.getSummary());
    }

    /** Text of a result with JMC's no-break spaces ("30\u00a0MiB") as plain ones, for comparing. */
    static String readable(String s) {
        return s == null ? null : s.replace('\u00a0', ' ').replace('\u202f', ' ');
    }
}
