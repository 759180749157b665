package dev.hz3.jmc.rules;

import static dev.hz3.jmc.rules.RuleSupport.bytes;
import static dev.hz3.jmc.rules.RuleSupport.html;
import static dev.hz3.jmc.rules.RuleSupport.millisText;
import static dev.hz3.jmc.rules.RuleSupport.percent;

import java.util.List;
import java.util.Map;
import java.util.Optional;

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
import dev.hz3.jmc.census.AllocatorSettings;
import dev.hz3.jmc.census.Census;
import dev.hz3.jmc.census.Hz3Recording;
import dev.hz3.jmc.census.ProcessMemorySample;
import dev.hz3.jmc.census.TierCensus;

/**
 * The seed's reading rule 1: many empty pages, a large cand_decommit_pages, is memory that can be
 * returned. hz3 decommits free pages itself after its purge delay, so a snapshot taken just after a
 * burst of frees shows candidates that are about to go: only candidates that stay resident through
 * every snapshot of a window of at least 2 s count ("held").
 *
 * <p>Score: the held candidates over what hz3 holds in RAM (hz3.Snapshot censusResidentBytes),
 * INFO at 10%, WARNING at 25%, when at least 8 MiB are held. The result names the tiers, sets the
 * bytes against the process's RSS and says what returns them.
 */
public class ReturnableNativeMemoryRule extends AbstractRule {

    private static final String RESULT_ID = "Hz3ReturnableNativeMemory";

    private static final Map<String, EventAvailability> REQUIRED_EVENTS = RequiredEventsBuilder.create()
            .addEventType(Hz3Attributes.TierOccupancy.TYPE, EventAvailability.AVAILABLE).build();

    public static final TypedPreference<IQuantity> SHARE_INFO = RuleSupport.percentPreference(
            "hz3.returnable.share.info", "Returnable_SHARE_INFO", 0.10);
    public static final TypedPreference<IQuantity> SHARE_WARNING = RuleSupport.percentPreference(
            "hz3.returnable.share.warning", "Returnable_SHARE_WARNING", 0.25);
    public static final TypedPreference<IQuantity> MIN_BYTES = RuleSupport.mebibytePreference(
            "hz3.returnable.minBytes", "Returnable_MIN_BYTES", 8);
    public static final TypedPreference<IQuantity> HELD_FOR = RuleSupport.secondsPreference(
            "hz3.returnable.heldFor", "Returnable_HELD_FOR", 2);

    public static final TypedResult<IQuantity> CANDIDATE_BYTES = RuleSupport.memoryResult("candidateBytes",
            "Returnable memory held");
    public static final TypedResult<IQuantity> CANDIDATE_SHARE = RuleSupport.percentResult("candidateShare",
            "Returnable share of hz3's resident memory");

    public ReturnableNativeMemoryRule() {
        super(RESULT_ID, Messages.get("Returnable_RULE_NAME"), Hz3Attributes.TOPIC,
                List.of(SHARE_INFO, SHARE_WARNING, MIN_BYTES, HELD_FOR),
                List.of(TypedResult.SCORE, CANDIDATE_BYTES, CANDIDATE_SHARE), REQUIRED_EVENTS);
    }

    /** Candidates held through a window of censuses [first, last], at their lowest. */
    private record Held(Census first, Census last, long bytes, double share) {
    }

    @Override
    protected IResult getResult(IItemCollection items, IPreferenceValueProvider vp, IResultValueProvider rp) {
        Hz3Recording recording = Hz3Recording.of(items);
        List<Census> censuses = recording.trustedCensuses();
        if (censuses.isEmpty()) {
            return RuleSupport.notApplicable(this, vp, Messages.get("General_NO_CENSUS"),
                    Messages.get("General_NO_CENSUS_LONG"));
        }
        double shareInfo = RuleSupport.fraction(vp, SHARE_INFO);
        double shareWarning = RuleSupport.fraction(vp, SHARE_WARNING);
        long minBytes = RuleSupport.bytes(vp, MIN_BYTES);
        long heldMillis = RuleSupport.millis(vp, HELD_FOR);
        long heldNanos = heldMillis * 1_000_000L;

        Held best = null;
        double bestScore = -1;
        Held most = null;
        for (int i = 0; i < censuses.size(); i++) {
            Census first = censuses.get(i);
            int k = i + 1;
            while (k < censuses.size() && censuses.get(k).timeNanos() - first.timeNanos() < heldNanos) {
                k++;
            }
            if (k >= censuses.size()) {
                break;
            }
            long held = Long.MAX_VALUE;
            double share = Double.MAX_VALUE;
            for (int j = i; j <= k; j++) {
                Census c = censuses.get(j);
                held = Math.min(held, c.candidateBytes());
                long resident = c.residentBytes();
                share = Math.min(share, resident <= 0 ? 0 : Math.min(1.0, (double) c.candidateBytes() / resident));
            }
            Held h = new Held(first, censuses.get(k), held, share);
            if (most == null || held > most.bytes()) {
                most = h;
            }
            double s = held < minBytes ? 0 : RuleSupport.score(share, shareInfo, shareWarning);
            if (s > bestScore || (s == bestScore && held > best.bytes())) {
                best = h;
                bestScore = s;
            }
        }
        if (best == null) {
            Census last = censuses.get(censuses.size() - 1);
            long span = (last.timeNanos() - censuses.get(0).timeNanos()) / 1_000_000L;
            return RuleSupport.notApplicable(this, vp,
                    Messages.format("Returnable_TOO_SHORT", censuses.size(), millisText(span), millisText(heldMillis)),
                    Messages.format("Returnable_TOO_SHORT_LONG", millisText(heldMillis)));
        }
        Severity severity = Severity.get(bestScore);
        ResultBuilder b = ResultBuilder.createFor(this, vp).setSeverity(severity);
        if (severity.compareTo(Severity.INFO) < 0) {
            b.setSummary(Messages.format("Returnable_SUMMARY_OK", bytes(most.bytes()), percent(most.share()),
                    millisText(heldMillis)));
            b.setExplanation(Messages.format("Returnable_EXPLANATION_OK", bytes(minBytes), percent(shareInfo))
                    + settingsText(recording.allocator()) + RuleSupport.consistencyText(recording));
        } else {
            b.setSummary(Messages.format("Returnable_SUMMARY", bytes(best.bytes()), percent(best.share()),
                    millisText((best.last().timeNanos() - best.first().timeNanos()) / 1_000_000L)));
            StringBuilder explanation = new StringBuilder();
            explanation.append(Messages.format("Returnable_WHERE", RuleSupport.time(best.first().timeNanos()),
                    RuleSupport.time(best.last().timeNanos()), tiersText(best.first()),
                    bytes(best.first().residentBytes())));
            Optional<ProcessMemorySample> pm = recording.processMemoryNear(best.first().timeNanos());
            if (pm.isPresent() && pm.get().rss() > 0) {
                explanation.append(Messages.format("Returnable_RSS", bytes(pm.get().rss()),
                        percent(Math.min(1.0, (double) best.bytes() / pm.get().rss()))));
            }
            explanation.append(settingsText(recording.allocator()));
            explanation.append(RuleSupport.consistencyText(recording));
            b.setExplanation(explanation.toString());
            b.setSolution(Messages.get("Returnable_SOLUTION"));
        }
        return b.addResult(TypedResult.SCORE, UnitLookup.NUMBER_UNITY.quantity(Math.max(0, bestScore)))
                .addResult(CANDIDATE_BYTES, RuleSupport.byteQuantity(best.bytes()))
                .addResult(CANDIDATE_SHARE, RuleSupport.percentQuantity(best.share())).build();
    }

    private static String tiersText(Census c) {
        StringBuilder b = new StringBuilder();
        for (TierCensus t : c.tiers()) {
            if (t.candDecommitPages() > 0) {
                if (b.length() > 0) {
                    b.append(", ");
                }
                b.append(html(t.tier())).append(' ').append(bytes(t.candidateBytes()));
            }
        }
        return b.length() == 0 ? "-" : b.toString();
    }

    private static String settingsText(AllocatorSettings a) {
        String text = a.purgeDelayMillis() >= 0
                ? Messages.format("Returnable_PURGE_DELAY", millisText(a.purgeDelayMillis()))
                : Messages.get("Returnable_PURGE_DELAY_UNKNOWN");
        if (a.epochIntervalMillis() == 0) {
            text += Messages.get("Returnable_NO_TIMER");
        }
        return text;
    }
}
