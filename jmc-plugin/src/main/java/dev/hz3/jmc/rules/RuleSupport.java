package dev.hz3.jmc.rules;

import java.util.Locale;

import org.openjdk.jmc.common.IDisplayable;
import org.openjdk.jmc.common.unit.IQuantity;
import org.openjdk.jmc.common.unit.UnitLookup;
import org.openjdk.jmc.common.util.IPreferenceValueProvider;
import org.openjdk.jmc.common.util.TypedPreference;
import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.IRule;
import org.openjdk.jmc.flightrecorder.rules.ResultBuilder;
import org.openjdk.jmc.flightrecorder.rules.Severity;
import org.openjdk.jmc.flightrecorder.rules.TypedResult;
import org.openjdk.jmc.flightrecorder.rules.util.RulesToolkit;

/** What the hz3 rules share: scores from thresholds, formatting, preference constructors. */
final class RuleSupport {

    private RuleSupport() {
    }

    /**
     * JMC's score for a value against two limits: 25 (INFO) at infoLimit, 75 (WARNING) at
     * warningLimit, below 25 under infoLimit, towards 100 above warningLimit.
     */
    static double score(double value, double infoLimit, double warningLimit) {
        if (warningLimit <= infoLimit) {
            return value >= warningLimit ? 75 : 0;
        }
        return Math.max(0, Math.min(100, RulesToolkit.mapExp100(value, infoLimit, warningLimit)));
    }

    static TypedPreference<IQuantity> percentPreference(String id, String nameKey, double fraction) {
        return new TypedPreference<>(id, Messages.get(nameKey), Messages.get(nameKey + "_DESC"), UnitLookup.PERCENTAGE,
                UnitLookup.PERCENT.quantity(Math.round(fraction * 10000) / 100.0));
    }

    static TypedPreference<IQuantity> mebibytePreference(String id, String nameKey, long mebibytes) {
        return new TypedPreference<>(id, Messages.get(nameKey), Messages.get(nameKey + "_DESC"), UnitLookup.MEMORY,
                UnitLookup.MEMORY.getUnit(org.openjdk.jmc.common.unit.BinaryPrefix.MEBI).quantity(mebibytes));
    }

    static TypedPreference<IQuantity> secondsPreference(String id, String nameKey, long seconds) {
        return new TypedPreference<>(id, Messages.get(nameKey), Messages.get(nameKey + "_DESC"), UnitLookup.TIMESPAN,
                UnitLookup.SECOND.quantity(seconds));
    }

    static TypedPreference<IQuantity> numberPreference(String id, String nameKey, long n) {
        return new TypedPreference<>(id, Messages.get(nameKey), Messages.get(nameKey + "_DESC"), UnitLookup.NUMBER,
                UnitLookup.NUMBER_UNITY.quantity(n));
    }

    static double fraction(IPreferenceValueProvider vp, TypedPreference<IQuantity> p) {
        return vp.getPreferenceValue(p).doubleValueIn(UnitLookup.PERCENT_UNITY);
    }

    static long bytes(IPreferenceValueProvider vp, TypedPreference<IQuantity> p) {
        return vp.getPreferenceValue(p).clampedLongValueIn(UnitLookup.BYTE);
    }

    static long millis(IPreferenceValueProvider vp, TypedPreference<IQuantity> p) {
        return vp.getPreferenceValue(p).clampedLongValueIn(UnitLookup.MILLISECOND);
    }

    static long number(IPreferenceValueProvider vp, TypedPreference<IQuantity> p) {
        return vp.getPreferenceValue(p).clampedLongValueIn(UnitLookup.NUMBER_UNITY);
    }

    static TypedResult<IQuantity> percentResult(String id, String name) {
        return new TypedResult<>(id, name, name, UnitLookup.PERCENTAGE, IQuantity.class);
    }

    static TypedResult<IQuantity> memoryResult(String id, String name) {
        return new TypedResult<>(id, name, name, UnitLookup.MEMORY, IQuantity.class);
    }

    static TypedResult<String> textResult(String id, String name) {
        return new TypedResult<>(id, name, name, UnitLookup.PLAIN_TEXT, String.class);
    }

    /** A share as JMC shows percentages ("96 %", not "0.96 ×100 %"). */
    static IQuantity percentQuantity(double fraction) {
        return UnitLookup.PERCENT.quantity(fraction * 100);
    }

    static IQuantity byteQuantity(long bytes) {
        return UnitLookup.BYTE.quantity(bytes);
    }

    /** "48.9 MiB", as JMC shows memory. */
    static String bytes(long bytes) {
        return UnitLookup.BYTE.quantity(bytes).displayUsing(IDisplayable.AUTO);
    }

    /** "96 %" for 0.956. */
    static String percent(double fraction) {
        return String.format(Locale.ROOT, "%.0f %%", fraction * 100);
    }

    /** "12,522". */
    static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /** "1.5 s", "500 ms". */
    static String millisText(long ms) {
        return UnitLookup.MILLISECOND.quantity(ms).displayUsing(IDisplayable.AUTO);
    }

    /** A wall-clock time as JMC shows it. */
    static String time(long epochNanos) {
        return UnitLookup.EPOCH_NS.quantity(epochNanos).displayUsing(IDisplayable.AUTO);
    }

    /**
     * Text from a recording, fit for a result: JMC shows results as plain text, so nothing is
     * escaped, but control characters (other than tab and line feed) become U+FFFD so that a
     * recorded name cannot move a terminal's cursor or break a line of the report.
     */
    static String plain(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            b.append((c < 0x20 && c != '\t' && c != '\n') || (c >= 0x7f && c <= 0x9f) ? '\ufffd' : c);
        }
        return b.toString();
    }

    /**
     * A method or call site as text without angle brackets, which JMC's views and the report would
     * take for markup: "java.util.zip.Deflater.<init>" reads "new java.util.zip.Deflater",
     * "a.B.<init>:12" reads "new a.B:12", a class initializer "a.B static init".
     */
    static String call(String s) {
        String p = plain(s);
        int at = p.indexOf(".<init>");
        if (at > 0) {
            return "new " + p.substring(0, at) + p.substring(at + ".<init>".length());
        }
        return p.replace(".<clinit>", " static init");
    }

    /**
     * What the rule left out or could not avoid: inconsistent censuses set aside because
     * consistent ones exist, or a warning that only inconsistent ones exist. Empty otherwise.
     */
    static String consistencyText(dev.hz3.jmc.census.Hz3Recording recording) {
        if (recording.onlyInconsistent()) {
            return Messages.get("General_ONLY_INCONSISTENT");
        }
        int aside = recording.inconsistentSetAside();
        return aside == 0 ? "" : Messages.format("General_INCONSISTENT_SET_ASIDE", aside);
    }

    /** An explanation made of paragraphs that each start with a line break, without the first one. */
    static String paragraphs(String text) {
        return text.strip();
    }

    /** A not-applicable result: the recording lacks what the rule reads. */
    static IResult notApplicable(IRule rule, IPreferenceValueProvider vp, String summary, String explanation) {
        return ResultBuilder.createFor(rule, vp).setSeverity(Severity.NA).setSummary(summary)
                .setExplanation(RuleSupport.paragraphs(explanation)).build();
    }

    static Severity severity(double score) {
        return Severity.get(score);
    }
}
