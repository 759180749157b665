package dev.hz3.jmc.rules;

import static dev.hz3.jmc.rules.RuleSupport.bytes;
import static dev.hz3.jmc.rules.RuleSupport.count;
import static dev.hz3.jmc.rules.RuleSupport.plain;
import static dev.hz3.jmc.rules.RuleSupport.percent;

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
import dev.hz3.jmc.census.TierCensus;

/**
 * The seed's reading rule 2: in some tier, partial pages (neither empty nor full) dominate the
 * resident pages and most of them are at most 25% used. That memory is fragmented: a page comes
 * back only when its last object is freed, so caps and decay will not return it.
 *
 * <p>Each (snapshot, tier) is scored twice against two limits each, and the lower score counts
 * (both must hold): the partial share of resident pages (INFO at 50%, WARNING at 75%) and the
 * share of partial pages in the (0, 25%] bucket (INFO at 50%, WARNING at 75%). Tiers with less
 * than 4 MiB of partial pages are not scored. The worst (snapshot, tier) of the recording is the
 * result, named with its size classes; the hot-spot rule reads the same snapshot.
 */
public class NativeHeapFragmentationRule extends AbstractRule {

    private static final String RESULT_ID = "Hz3NativeHeapFragmentation";

    private static final Map<String, EventAvailability> REQUIRED_EVENTS = RequiredEventsBuilder.create()
            .addEventType(Hz3Attributes.TierOccupancy.TYPE, EventAvailability.AVAILABLE).build();

    public static final TypedPreference<IQuantity> PARTIAL_SHARE_INFO = RuleSupport.percentPreference(
            "hz3.fragmentation.partialShare.info", "Fragmentation_PARTIAL_INFO", 0.50);
    public static final TypedPreference<IQuantity> PARTIAL_SHARE_WARNING = RuleSupport.percentPreference(
            "hz3.fragmentation.partialShare.warning", "Fragmentation_PARTIAL_WARNING", 0.75);
    public static final TypedPreference<IQuantity> LOW_OCCUPANCY_INFO = RuleSupport.percentPreference(
            "hz3.fragmentation.lowOccupancy.info", "Fragmentation_LOW_INFO", 0.50);
    public static final TypedPreference<IQuantity> LOW_OCCUPANCY_WARNING = RuleSupport.percentPreference(
            "hz3.fragmentation.lowOccupancy.warning", "Fragmentation_LOW_WARNING", 0.75);
    public static final TypedPreference<IQuantity> MIN_PARTIAL = RuleSupport.mebibytePreference(
            "hz3.fragmentation.minPartial", "Fragmentation_MIN_PARTIAL", 4);

    public static final TypedResult<String> TIER = RuleSupport.textResult("tier", "Tier");
    public static final TypedResult<IQuantity> PARTIAL_SHARE = RuleSupport.percentResult("partialShare",
            "Partial share of resident pages");
    public static final TypedResult<IQuantity> LOW_OCCUPANCY_SHARE = RuleSupport.percentResult("lowOccupancyShare",
            "Share of partial pages at most 25% used");
    public static final TypedResult<IQuantity> PARTIAL_BYTES = RuleSupport.memoryResult("partialBytes",
            "Partial pages");

    /** The buckets as the pages' columns name them (jfr-events labels of occ0 ... occ75to100). */
    static final List<String> BUCKET_NAMES = List.of("0%", "\u226425%", "25-50%", "50-75%", ">75%");

    /** How many of the tier's classes the explanation names. */
    private static final int CLASSES_NAMED = 5;
    /** Classes whose share of the tier's partial pages decides "concentrated" or "spread". */
    private static final int CONCENTRATION_CLASSES = 3;

    public NativeHeapFragmentationRule() {
        super(RESULT_ID, Messages.get("Fragmentation_RULE_NAME"), Hz3Attributes.TOPIC_NATIVE_HEAP,
                List.of(PARTIAL_SHARE_INFO, PARTIAL_SHARE_WARNING, LOW_OCCUPANCY_INFO, LOW_OCCUPANCY_WARNING,
                        MIN_PARTIAL),
                List.of(TypedResult.SCORE, TIER, PARTIAL_SHARE, LOW_OCCUPANCY_SHARE, PARTIAL_BYTES), REQUIRED_EVENTS);
    }

    @Override
    protected IResult getResult(IItemCollection items, IPreferenceValueProvider vp, IResultValueProvider rp) {
        Hz3Recording recording = Hz3Recording.of(items);
        if (recording.censuses().isEmpty()) {
            return RuleSupport.notApplicable(this, vp, Messages.get("General_NO_CENSUS"),
                    Messages.get("General_NO_CENSUS_LONG"));
        }
        long minPartial = RuleSupport.bytes(vp, MIN_PARTIAL);
        Finding finding = worst(recording, vp);
        Census worstCensus = finding == null ? null : finding.census();
        TierCensus worst = finding == null ? null : finding.tier();
        double worstScore = finding == null ? -1 : finding.score();
        TierCensus largest = null;
        for (Census c : recording.trustedCensuses()) {
            for (TierCensus t : c.tiers()) {
                if (largest == null || t.pagesPartial() > largest.pagesPartial()) {
                    largest = t;
                }
            }
        }
        if (worst == null) {
            long most = largest == null ? 0 : largest.partialBytes();
            String summary = most == 0 ? Messages.get("Fragmentation_NO_PARTIAL")
                    : Messages.format("Fragmentation_BELOW_FLOOR", bytes(most), plain(largest.tier()),
                            bytes(minPartial));
            return ResultBuilder.createFor(this, vp).setSeverity(Severity.OK).setSummary(summary)
                    .setExplanation(RuleSupport.paragraphs(Messages.format("Fragmentation_BELOW_FLOOR_LONG", bytes(minPartial))
                            + RuleSupport.consistencyText(recording)))
                    .addResult(TypedResult.SCORE, UnitLookup.NUMBER_UNITY.quantity(0)).build();
        }

        Severity severity = Severity.get(worstScore);
        String tier = plain(worst.tier());
        String summary = severity.compareTo(Severity.INFO) >= 0
                ? Messages.format("Fragmentation_SUMMARY", tier, percent(worst.partialShare()),
                        percent(worst.lowOccupancyShare()), bytes(worst.partialBytes()))
                : Messages.format("Fragmentation_SUMMARY_OK", tier, percent(worst.partialShare()),
                        percent(worst.lowOccupancyShare()));
        StringBuilder explanation = new StringBuilder();
        explanation.append(Messages.format("Fragmentation_CENSUS", RuleSupport.time(worstCensus.timeNanos()),
                worstCensus.seqLast(), tier, count(worst.residentPages()), count(worst.pagesEmpty()),
                count(worst.pagesPartial()), count(worst.pagesFull()), percent(worst.lowOccupancyShare()),
                buckets(worst.occ())));
        explanation.append(classesText(worstCensus, worst));
        explanation.append(RuleSupport.consistencyText(recording));
        ResultBuilder b = ResultBuilder.createFor(this, vp).setSeverity(severity).setSummary(summary);
        if (severity.compareTo(Severity.INFO) >= 0) {
            explanation.append(Messages.get("Fragmentation_READING"));
            b.setSolution(Messages.get("Fragmentation_SOLUTION"));
        }
        return b.setExplanation(RuleSupport.paragraphs(explanation.toString()))
                .addResult(TypedResult.SCORE, UnitLookup.NUMBER_UNITY.quantity(worstScore))
                .addResult(TIER, worst.tier())
                .addResult(PARTIAL_SHARE, RuleSupport.percentQuantity(worst.partialShare()))
                .addResult(LOW_OCCUPANCY_SHARE, RuleSupport.percentQuantity(worst.lowOccupancyShare()))
                .addResult(PARTIAL_BYTES, RuleSupport.byteQuantity(worst.partialBytes())).build();
    }

    /** The worst tier of the recording, the census it is in and its score. */
    record Finding(Census census, TierCensus tier, double score) {
    }

    /**
     * The worst (snapshot, tier) of the trusted censuses, or null when no tier holds the least
     * amount of partial pages. The hot-spot rule names the classes of this same snapshot: one
     * snapshot per finding, so a class never shows two sets of figures.
     */
    static Finding worst(Hz3Recording recording, IPreferenceValueProvider vp) {
        double partialInfo = RuleSupport.fraction(vp, PARTIAL_SHARE_INFO);
        double partialWarning = RuleSupport.fraction(vp, PARTIAL_SHARE_WARNING);
        double lowInfo = RuleSupport.fraction(vp, LOW_OCCUPANCY_INFO);
        double lowWarning = RuleSupport.fraction(vp, LOW_OCCUPANCY_WARNING);
        long minPartial = RuleSupport.bytes(vp, MIN_PARTIAL);
        Finding worst = null;
        for (Census c : recording.trustedCensuses()) {
            for (TierCensus t : c.tiers()) {
                if (t.pagesPartial() == 0 || t.partialBytes() < minPartial) {
                    continue;
                }
                double s = Math.min(RuleSupport.score(t.partialShare(), partialInfo, partialWarning),
                        RuleSupport.score(t.lowOccupancyShare(), lowInfo, lowWarning));
                if (worst == null || s > worst.score()
                        || (s == worst.score() && t.pagesPartial() > worst.tier().pagesPartial())) {
                    worst = new Finding(c, t, s);
                }
            }
        }
        return worst;
    }

    static String buckets(long[] occ) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < occ.length; i++) {
            if (i > 0) {
                b.append(", ");
            }
            b.append(BUCKET_NAMES.get(i)).append(": ").append(count(occ[i]));
        }
        return b.toString();
    }

    /** The tier's classes with the most partial pages, and whether a few or many are to blame. */
    private static String classesText(Census census, TierCensus tier) {
        List<ClassCensus> classes = census.classesOf(tier.tier());
        if (classes.isEmpty()) {
            return Messages.get("Fragmentation_NO_CLASSES");
        }
        StringBuilder list = new StringBuilder();
        for (ClassCensus c : classes.subList(0, Math.min(CLASSES_NAMED, classes.size()))) {
            list.append(Messages.format("Fragmentation_CLASS", c.sizeClass(), bytes(c.objectSize()),
                    count(c.pagesPartial()), bytes(c.pagesPartial() * Hz3Attributes.PAGE_SIZE),
                    percent(c.lowOccupancyShare()), bytes(c.tailWasteBytes())));
        }
        long top = classes.stream().limit(CONCENTRATION_CLASSES).mapToLong(ClassCensus::pagesPartial).sum();
        double share = tier.pagesPartial() == 0 ? 0 : Math.min(1.0, (double) top / tier.pagesPartial());
        String concentration = share >= 0.5
                ? Messages.format("Fragmentation_CONCENTRATED", Math.min(CONCENTRATION_CLASSES, classes.size()),
                        percent(share))
                : Messages.format("Fragmentation_SPREAD", Math.min(CONCENTRATION_CLASSES, classes.size()),
                        percent(share));
        return Messages.format("Fragmentation_CLASSES", list.toString(), concentration);
    }
}
