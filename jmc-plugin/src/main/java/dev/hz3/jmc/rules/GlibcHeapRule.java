package dev.hz3.jmc.rules;

import static dev.hz3.jmc.rules.RuleSupport.bytes;
import static dev.hz3.jmc.rules.RuleSupport.count;
import static dev.hz3.jmc.rules.RuleSupport.percent;

import java.util.List;
import java.util.Map;

import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.unit.IQuantity;
import org.openjdk.jmc.common.unit.UnitLookup;
import org.openjdk.jmc.common.util.IPreferenceValueProvider;
import org.openjdk.jmc.common.util.TypedPreference;
import org.openjdk.jmc.common.version.JavaVersion;
import org.openjdk.jmc.flightrecorder.rules.AbstractRule;
import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.IResultValueProvider;
import org.openjdk.jmc.flightrecorder.rules.ResultBuilder;
import org.openjdk.jmc.flightrecorder.rules.Severity;
import org.openjdk.jmc.flightrecorder.rules.TypedResult;
import org.openjdk.jmc.flightrecorder.rules.util.RulesToolkit;
import org.openjdk.jmc.flightrecorder.rules.util.RulesToolkit.EventAvailability;
import org.openjdk.jmc.flightrecorder.rules.util.RulesToolkit.RequiredEventsBuilder;

import dev.hz3.jmc.Hz3Attributes;
import dev.hz3.jmc.census.GlibcSample;
import dev.hz3.jmc.census.Hz3Recording;

/**
 * For JVMs on glibc's malloc (hz3.GlibcHeap, recorded when hz3 is not the malloc): memory freed
 * by the JVM that glibc keeps in its arenas instead of returning it.
 *
 * <p>Score, at the worst sample: free bytes over the arenas' bytes, INFO at 20%, WARNING at 40%,
 * when at least 16 MiB are kept; and at least INFO when 8 or more arenas keep that much. The
 * result says what returns the memory: hz3 (bin/hz3-java), MALLOC_ARENA_MAX,
 * {@code jcmd PID System.trim_native_heap}, {@code -XX:TrimNativeHeapInterval} on JDK 21+.
 */
public class GlibcHeapRule extends AbstractRule {

    private static final String RESULT_ID = "Hz3GlibcHeap";

    private static final Map<String, EventAvailability> REQUIRED_EVENTS = RequiredEventsBuilder.create()
            .addEventType(Hz3Attributes.GlibcHeap.TYPE, EventAvailability.AVAILABLE).build();

    public static final TypedPreference<IQuantity> KEPT_SHARE_INFO = RuleSupport.percentPreference(
            "hz3.glibc.keptShare.info", "Glibc_KEPT_INFO", 0.20);
    public static final TypedPreference<IQuantity> KEPT_SHARE_WARNING = RuleSupport.percentPreference(
            "hz3.glibc.keptShare.warning", "Glibc_KEPT_WARNING", 0.40);
    public static final TypedPreference<IQuantity> MIN_KEPT = RuleSupport.mebibytePreference(
            "hz3.glibc.minKept", "Glibc_MIN_KEPT", 16);
    public static final TypedPreference<IQuantity> ARENAS = RuleSupport.numberPreference(
            "hz3.glibc.arenas", "Glibc_ARENAS", 8);

    public static final TypedResult<IQuantity> KEPT_BYTES = RuleSupport.memoryResult("keptBytes",
            "Free memory glibc keeps");
    public static final TypedResult<IQuantity> KEPT_SHARE = RuleSupport.percentResult("keptShare",
            "Share of glibc's heap kept free");

    /** The first JDK with -XX:TrimNativeHeapInterval. */
    private static final int TRIM_INTERVAL_JDK = 21;

    public GlibcHeapRule() {
        super(RESULT_ID, Messages.get("Glibc_RULE_NAME"), Hz3Attributes.TOPIC_GLIBC,
                List.of(KEPT_SHARE_INFO, KEPT_SHARE_WARNING, MIN_KEPT, ARENAS),
                List.of(TypedResult.SCORE, KEPT_BYTES, KEPT_SHARE), REQUIRED_EVENTS);
    }

    @Override
    protected IResult getResult(IItemCollection items, IPreferenceValueProvider vp, IResultValueProvider rp) {
        Hz3Recording recording = Hz3Recording.of(items);
        if (recording.glibc().isEmpty()) {
            return RuleSupport.notApplicable(this, vp, Messages.get("Glibc_NA"), Messages.get("Glibc_NA_LONG"));
        }
        double info = RuleSupport.fraction(vp, KEPT_SHARE_INFO);
        double warning = RuleSupport.fraction(vp, KEPT_SHARE_WARNING);
        long minKept = RuleSupport.bytes(vp, MIN_KEPT);
        long arenaLimit = RuleSupport.number(vp, ARENAS);

        GlibcSample worst = null;
        double worstScore = -1;
        for (GlibcSample g : recording.glibc()) {
            double s = 0;
            if (g.freeBytes() >= minKept) {
                s = RuleSupport.score(g.keptShare(), info, warning);
                if (g.arenas() >= arenaLimit) {
                    s = Math.max(s, Severity.INFO.getLimit());
                }
            }
            if (s > worstScore || (s == worstScore && g.freeBytes() > worst.freeBytes())) {
                worst = g;
                worstScore = s;
            }
        }
        Severity severity = Severity.get(worstScore);
        String state = Messages.format("Glibc_STATE", RuleSupport.time(worst.timeNanos()), count(worst.arenas()),
                bytes(worst.arenaBytes()), bytes(worst.inUseBytes()), bytes(worst.freeBytes()),
                bytes(worst.freeInBinsBytes()), bytes(worst.topBytes()), bytes(worst.mmappedBytes()));
        ResultBuilder b = ResultBuilder.createFor(this, vp).setSeverity(severity);
        if (severity.compareTo(Severity.INFO) >= 0) {
            b.setSummary(Messages.format("Glibc_SUMMARY", bytes(worst.freeBytes()), count(worst.arenas()),
                    percent(worst.keptShare())));
            String arenas = worst.arenas() >= arenaLimit
                    ? Messages.format("Glibc_MANY_ARENAS", count(worst.arenas()), count(arenaLimit)) : "";
            b.setExplanation(RuleSupport.paragraphs(state + arenas + Messages.get("Glibc_READING")));
            b.setSolution(Messages.get("Glibc_SOLUTION") + trimAdvice(items));
        } else {
            b.setSummary(Messages.format("Glibc_SUMMARY_OK", bytes(worst.freeBytes()), count(worst.arenas()),
                    percent(worst.keptShare())));
            b.setExplanation(RuleSupport.paragraphs(state + Messages.format("Glibc_OK_LONG", bytes(minKept), percent(info))));
        }
        return b.addResult(TypedResult.SCORE, UnitLookup.NUMBER_UNITY.quantity(Math.max(0, worstScore)))
                .addResult(KEPT_BYTES, RuleSupport.byteQuantity(worst.freeBytes()))
                .addResult(KEPT_SHARE, RuleSupport.percentQuantity(worst.keptShare())).build();
    }

    /** -XX:TrimNativeHeapInterval for this JVM's version, when the recording tells it. */
    private static String trimAdvice(IItemCollection items) {
        JavaVersion v = RulesToolkit.getJavaVersion(items);
        if (v == null) {
            return Messages.get("Glibc_TRIM_UNKNOWN");
        }
        return v.getMajorVersion() >= TRIM_INTERVAL_JDK ? Messages.format("Glibc_TRIM_YES", v.getMajorVersion())
                : Messages.format("Glibc_TRIM_NO", v.getMajorVersion());
    }
}
