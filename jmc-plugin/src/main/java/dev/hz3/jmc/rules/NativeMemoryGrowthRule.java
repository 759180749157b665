package dev.hz3.jmc.rules;

import static dev.hz3.jmc.rules.RuleSupport.bytes;
import static dev.hz3.jmc.rules.RuleSupport.plain;

import java.util.Comparator;
import java.util.List;

import org.openjdk.jmc.common.IDisplayable;
import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.unit.IQuantity;
import org.openjdk.jmc.common.unit.UnitLookup;
import org.openjdk.jmc.common.util.IPreferenceValueProvider;
import org.openjdk.jmc.common.util.TypedPreference;
import org.openjdk.jmc.flightrecorder.rules.AbstractRule;
import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.IResultValueProvider;
import org.openjdk.jmc.flightrecorder.rules.ResultBuilder;
import org.openjdk.jmc.flightrecorder.rules.Severity;
import org.openjdk.jmc.flightrecorder.rules.TypedResult;
import org.openjdk.jmc.flightrecorder.rules.util.RulesToolkit.RequiredEventsBuilder;

import dev.hz3.jmc.Hz3Attributes;
import dev.hz3.jmc.census.NativeSites;
import dev.hz3.jmc.census.SiteSeries;
import dev.hz3.jmc.census.SiteTrend;

/**
 * A leak at a Java call site (agent option attribution=on): a site whose estimated live native
 * bytes grow steadily through the recording, while caches and pools, which grow and then hold,
 * are left alone (see {@link SiteTrend}). WARNING names the growing sites, fastest first, with
 * their rate, live bytes and the age of their oldest live sample, and says what to change at
 * each, by the kind of memory it allocates.
 *
 * <p>No required events: without hz3.NativeSite the rule says how to turn attribution on, which
 * JMC's own "events missing" text would not.
 */
public class NativeMemoryGrowthRule extends AbstractRule {

    private static final String RESULT_ID = "Hz3NativeMemoryGrowth";

    public static final TypedPreference<IQuantity> MIN_GROWTH = RuleSupport.mebibytePreference(
            "hz3.growth.minGrowth", "Growth_MIN_GROWTH", 8);
    public static final TypedPreference<IQuantity> MIN_POINTS = RuleSupport.numberPreference(
            "hz3.growth.minPoints", "Growth_MIN_POINTS", 4);
    public static final TypedPreference<IQuantity> MIN_FIT = RuleSupport.percentPreference(
            "hz3.growth.minFit", "Growth_MIN_FIT", 0.80);
    public static final TypedPreference<IQuantity> LATER_SHARE = RuleSupport.percentPreference(
            "hz3.growth.laterShare", "Growth_LATER_SHARE", 0.50);
    public static final TypedPreference<IQuantity> SITES_NAMED = RuleSupport.numberPreference(
            "hz3.growth.sitesNamed", "Growth_SITES_NAMED", 3);

    public static final TypedResult<String> GROWING_SITES = RuleSupport.textResult("growingSites",
            "Growing sites");
    public static final TypedResult<IQuantity> TOP_GROWTH = RuleSupport.memoryResult("topGrowth",
            "Growth of the fastest growing site");

    public NativeMemoryGrowthRule() {
        super(RESULT_ID, Messages.get("Growth_RULE_NAME"), Hz3Attributes.TOPIC_NATIVE_SITES,
                List.of(MIN_GROWTH, MIN_POINTS, MIN_FIT, LATER_SHARE, SITES_NAMED),
                List.of(TypedResult.SCORE, GROWING_SITES, TOP_GROWTH), RequiredEventsBuilder.create().build());
    }

    @Override
    protected IResult getResult(IItemCollection items, IPreferenceValueProvider vp, IResultValueProvider rp) {
        NativeSites sites = NativeSites.of(items);
        if (sites.isEmpty()) {
            return RuleSupport.notApplicable(this, vp, Messages.get("Sites_NA"), Messages.get("Sites_NA_LONG"));
        }
        long minGrowth = RuleSupport.bytes(vp, MIN_GROWTH);
        int minPoints = (int) Math.max(2, RuleSupport.number(vp, MIN_POINTS));
        double minFit = RuleSupport.fraction(vp, MIN_FIT);
        double laterShare = RuleSupport.fraction(vp, LATER_SHARE);
        int named = (int) Math.max(1, RuleSupport.number(vp, SITES_NAMED));

        List<SiteTrend> trends = sites.series().stream().map(SiteTrend::of)
                .sorted(Comparator.comparingDouble(SiteTrend::bytesPerSecond).reversed()).toList();
        List<SiteTrend> leaks = trends.stream()
                .filter(t -> t.growsSteadily(minPoints, minGrowth, minFit, laterShare)).toList();
        List<SiteTrend> plateaus = trends.stream().filter(t -> !leaks.contains(t) && t.growthBytes() >= minGrowth)
                .toList();
        String criteria = Messages.format("Growth_CRITERIA", bytes(minGrowth), minPoints,
                RuleSupport.percent(minFit), RuleSupport.percent(laterShare));
        String held = plateaus.isEmpty() ? ""
                : Messages.format("Growth_PLATEAUS", plateaus.size(), names(plateaus, named));

        ResultBuilder b = ResultBuilder.createFor(this, vp);
        if (leaks.isEmpty()) {
            SiteSeries largest = sites.series().stream().max(Comparator.comparingLong(s -> s.last().liveBytes()))
                    .orElseThrow();
            return b.setSeverity(Severity.OK)
                    .setSummary(Messages.format("Growth_OK", sites.series().size(), RuleSupport.call(largest.name()),
                            bytes(largest.last().liveBytes())))
                    .setExplanation(RuleSupport.paragraphs(held + criteria))
                    .addResult(TypedResult.SCORE, UnitLookup.NUMBER_UNITY.quantity(0))
                    .addResult(GROWING_SITES, "").addResult(TOP_GROWTH, RuleSupport.byteQuantity(0)).build();
        }
        List<SiteTrend> top = leaks.subList(0, Math.min(named, leaks.size()));
        StringBuilder list = new StringBuilder();
        for (SiteTrend t : top) {
            SiteSeries s = t.series();
            list.append(Messages.format("Growth_SITE", RuleSupport.call(s.site()), plain(s.kind()), RuleSupport.call(s.entry()),
                    perMinute(t.bytesPerSecond()), bytes(s.last().liveBytes()), bytes(t.growthBytes()),
                    duration(t.spanNanos()), duration(s.last().oldestAgeNanos()), s.last().liveSamples()));
        }
        StringBuilder advice = new StringBuilder();
        top.stream().map(t -> t.series().kind()).distinct()
                .forEach(kind -> advice.append(Messages.get(adviceKey(kind))));
        // WARNING from the first steady leak on; faster growth does not make it more certain.
        return b.setSeverity(Severity.WARNING)
                .setSummary(Messages.format("Growth_SUMMARY", leaks.size(), names(top, named),
                        perMinute(top.get(0).bytesPerSecond())))
                .setExplanation(RuleSupport.paragraphs(Messages.format("Growth_SITES", list.toString()) + held
                        + criteria + Messages.get("Growth_READING")))
                .setSolution(RuleSupport.paragraphs(advice + Messages.get("Growth_SOLUTION_CACHE")))
                .addResult(TypedResult.SCORE, UnitLookup.NUMBER_UNITY.quantity(Severity.WARNING.getLimit()))
                .addResult(GROWING_SITES, names(top, named))
                .addResult(TOP_GROWTH, RuleSupport.byteQuantity(top.get(0).growthBytes())).build();
    }

    private static String names(List<SiteTrend> trends, int most) {
        String s = String.join(", ", trends.stream().limit(most).map(t -> RuleSupport.call(t.series().name())).toList());
        return trends.size() > most ? s + Messages.format("Growth_MORE", trends.size() - most) : s;
    }

    /** The advice for a kind of native memory; the Unsafe one for kinds this version does not know. */
    static String adviceKey(String kind) {
        return switch (kind) {
            case "deflater", "inflater" -> "Growth_ADVICE_ZLIB";
            case "direct buffer" -> "Growth_ADVICE_BUFFER";
            case "memory segment" -> "Growth_ADVICE_SEGMENT";
            case "jna memory" -> "Growth_ADVICE_JNA";
            case "native call" -> "Growth_ADVICE_NATIVE";
            default -> "Growth_ADVICE_UNSAFE";
        };
    }

    /** "12.5 MiB/min". */
    static String perMinute(double bytesPerSecond) {
        return bytes(Math.round(bytesPerSecond * 60)) + "/min";
    }

    static String duration(long nanos) {
        return UnitLookup.NANOSECOND.quantity(nanos).displayUsing(IDisplayable.AUTO);
    }
}
