package dev.hz3.jmc.rules;

import static dev.hz3.jmc.rules.RuleSupport.bytes;
import static dev.hz3.jmc.rules.RuleSupport.count;
import static dev.hz3.jmc.rules.RuleSupport.plain;
import static dev.hz3.jmc.rules.RuleSupport.percent;

import java.util.Comparator;
import java.util.List;
import java.util.Map;

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
import org.openjdk.jmc.flightrecorder.rules.util.RulesToolkit.EventAvailability;
import org.openjdk.jmc.flightrecorder.rules.util.RulesToolkit.RequiredEventsBuilder;

import dev.hz3.jmc.Hz3Attributes;
import dev.hz3.jmc.census.Census;
import dev.hz3.jmc.census.ClassCensus;
import dev.hz3.jmc.census.Hz3Recording;

/**
 * The seed's reading rules 3 and 4: when a few size classes make most partial pages, fix those
 * classes; when partial pages are spread over many classes, only a general change (packing,
 * active sets) helps.
 *
 * <p>At the snapshot of the fragmentation rule's finding (else the one with the most partial pages;
 * at least 4 MiB of them), the top 3 classes' share of all partial pages scores INFO at 50% and WARNING at 75%. Below that the result is OK
 * and says the partial pages are spread.
 */
public class SizeClassHotSpotsRule extends AbstractRule {

    private static final String RESULT_ID = "Hz3SizeClassHotSpots";

    private static final Map<String, EventAvailability> REQUIRED_EVENTS = RequiredEventsBuilder.create()
            .addEventType(Hz3Attributes.TierOccupancy.TYPE, EventAvailability.AVAILABLE)
            .addEventType(Hz3Attributes.PartialSizeClass.TYPE, EventAvailability.AVAILABLE).build();

    public static final TypedPreference<IQuantity> TOP_CLASSES = RuleSupport.numberPreference(
            "hz3.hotspots.classes", "HotSpots_CLASSES", 3);
    public static final TypedPreference<IQuantity> SHARE_INFO = RuleSupport.percentPreference(
            "hz3.hotspots.share.info", "HotSpots_SHARE_INFO", 0.50);
    public static final TypedPreference<IQuantity> SHARE_WARNING = RuleSupport.percentPreference(
            "hz3.hotspots.share.warning", "HotSpots_SHARE_WARNING", 0.75);
    public static final TypedPreference<IQuantity> MIN_PARTIAL = RuleSupport.mebibytePreference(
            "hz3.hotspots.minPartial", "HotSpots_MIN_PARTIAL", 4);

    public static final TypedResult<IQuantity> TOP_SHARE = RuleSupport.percentResult("topShare",
            "Share of partial pages in the top classes");
    public static final TypedResult<String> CLASSES = RuleSupport.textResult("classes", "Top classes");

    public SizeClassHotSpotsRule() {
        super(RESULT_ID, Messages.get("HotSpots_RULE_NAME"), Hz3Attributes.TOPIC_SIZE_CLASSES,
                List.of(TOP_CLASSES, SHARE_INFO, SHARE_WARNING, MIN_PARTIAL),
                List.of(TypedResult.SCORE, TOP_SHARE, CLASSES), REQUIRED_EVENTS);
    }

    @Override
    protected IResult getResult(IItemCollection items, IPreferenceValueProvider vp, IResultValueProvider rp) {
        Hz3Recording recording = Hz3Recording.of(items);
        // The snapshot of the fragmentation rule's finding (one snapshot per finding), else the one
        // with the most partial pages.
        NativeHeapFragmentationRule.Finding fragmentation = NativeHeapFragmentationRule.worst(recording, vp);
        Census worst = java.util.Optional.ofNullable(fragmentation).map(NativeHeapFragmentationRule.Finding::census)
                .filter(c -> !c.classes().isEmpty())
                .orElseGet(() -> recording.trustedCensuses().stream().filter(c -> !c.classes().isEmpty())
                        .max(Comparator.comparingLong(Census::pagesPartial).thenComparingLong(Census::timeNanos))
                        .orElse(null));
        if (worst == null) {
            return RuleSupport.notApplicable(this, vp, Messages.get("HotSpots_NO_CLASSES"),
                    Messages.get("HotSpots_NO_CLASSES_LONG"));
        }
        int k = (int) Math.max(1, RuleSupport.number(vp, TOP_CLASSES));
        double shareInfo = RuleSupport.fraction(vp, SHARE_INFO);
        double shareWarning = RuleSupport.fraction(vp, SHARE_WARNING);
        long minPartial = RuleSupport.bytes(vp, MIN_PARTIAL);

        long partial = worst.pagesPartial();
        List<ClassCensus> top = worst.classes().stream()
                .sorted(Comparator.comparingLong(ClassCensus::pagesPartial).reversed()).limit(k).toList();
        long topPages = top.stream().mapToLong(ClassCensus::pagesPartial).sum();
        double share = partial == 0 ? 0 : Math.min(1.0, (double) topPages / partial);
        String names = top.stream().map(c -> Messages.format("HotSpots_CLASS_NAME", c.sizeClass(),
                bytes(c.objectSize()), plain(c.tier()))).reduce((a, b) -> a + ", " + b).orElse("-");

        long partialBytes = partial * Hz3Attributes.PAGE_SIZE;
        if (partialBytes < minPartial) {
            return ResultBuilder.createFor(this, vp).setSeverity(Severity.OK)
                    .setSummary(Messages.format("HotSpots_FEW_PARTIAL", bytes(partialBytes), bytes(minPartial)))
                    .setExplanation(RuleSupport.paragraphs(Messages.get("HotSpots_FEW_PARTIAL_LONG")))
                    .addResult(TypedResult.SCORE, UnitLookup.NUMBER_UNITY.quantity(0))
                    .addResult(TOP_SHARE, RuleSupport.percentQuantity(share)).addResult(CLASSES, names).build();
        }
        double score = RuleSupport.score(share, shareInfo, shareWarning);
        Severity severity = Severity.get(score);
        StringBuilder list = new StringBuilder();
        for (ClassCensus c : top) {
            list.append(Messages.format("HotSpots_CLASS", c.sizeClass(), bytes(c.objectSize()), plain(c.tier()),
                    c.spanPages(), count(c.pagesPartial()),
                    percent(partial == 0 ? 0 : (double) c.pagesPartial() / partial),
                    percent(c.lowOccupancyShare()), bytes(c.tailWasteBytes())));
        }
        String where = Messages.format("HotSpots_WHERE", RuleSupport.time(worst.timeNanos()), worst.seqLast(),
                count(partial), bytes(partialBytes), top.size(), list.toString());
        ResultBuilder b = ResultBuilder.createFor(this, vp).setSeverity(severity);
        if (severity.compareTo(Severity.INFO) >= 0) {
            b.setSummary(Messages.format("HotSpots_SUMMARY", top.size(), percent(share), names))
                    .setExplanation(RuleSupport.paragraphs(where + Messages.get("HotSpots_READING")))
                    .setSolution(Messages.get("HotSpots_SOLUTION"));
        } else {
            b.setSummary(Messages.format("HotSpots_SPREAD", top.size(), percent(share), count(partial)))
                    .setExplanation(RuleSupport.paragraphs(where + Messages.get("HotSpots_SPREAD_READING")));
        }
        return b.addResult(TypedResult.SCORE, UnitLookup.NUMBER_UNITY.quantity(score))
                .addResult(TOP_SHARE, RuleSupport.percentQuantity(share)).addResult(CLASSES, names).build();
    }
}
