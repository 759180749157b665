package dev.hz3.jmc.rules;

import static dev.hz3.jmc.rules.RuleSupport.bytes;
import static dev.hz3.jmc.rules.RuleSupport.plain;
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
import dev.hz3.jmc.census.EpochSample;
import dev.hz3.jmc.census.Hz3Recording;
import dev.hz3.jmc.census.ProcessMemorySample;
import dev.hz3.jmc.census.TierCensus;

/**
 * The seed's reading rule 1: many empty pages, a large cand_decommit_pages, is memory that can be
 * returned, but only when nobody takes it again.
 *
 * <p>hz3 keeps a free page for reuse: its maintenance thread (every HZ3_EPOCH_INTERVAL_MS) returns
 * pages that stayed free for HZ3_PURGE_DELAY_MS, and leaves a segment alone while pages in it are
 * freed within the delay (they would fault straight back in). So the rule reads windows of
 * snapshots at least 2 s long (preference "Held for") and takes the empty pages present in every
 * snapshot of a window (their lowest count):
 * <ul>
 * <li>when the window is longer than the purge delay plus the epoch interval and the maintenance
 * thread ran in it (a timer epoch in the window, when the recording has hz3.Epoch events), no page
 * can have stayed empty throughout: the empty pages seen are freed and taken again within the delay,
 * a steady workload's reuse, and are not a finding;
 * <li>otherwise (a purge delay longer than the window, no maintenance thread, or none ran) they are
 * held: scored against what hz3 holds in RAM (hz3.Snapshot censusResidentBytes), INFO at 10%,
 * WARNING at 25%, when at least 8 MiB.
 * </ul>
 * The result names the tiers, sets the bytes against the process's RSS and says which setting
 * returns them.
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

    /** hz3's defaults (native-hz3 epoch.c), for recordings without hz3.AllocatorInfo. */
    static final long DEFAULT_PURGE_DELAY_MS = 500;
    static final long DEFAULT_EPOCH_INTERVAL_MS = 200;
    /**
     * The reason of the epochs hz3's maintenance thread runs every HZ3_EPOCH_INTERVAL_MS (keep in
     * sync with jfr-events Hz3Events.EPOCH_REASONS).
     */
    static final String TIMER_REASON = "timer";

    public ReturnableNativeMemoryRule() {
        super(RESULT_ID, Messages.get("Returnable_RULE_NAME"), Hz3Attributes.TOPIC_NATIVE_HEAP,
                List.of(SHARE_INFO, SHARE_WARNING, MIN_BYTES, HELD_FOR),
                List.of(TypedResult.SCORE, CANDIDATE_BYTES, CANDIDATE_SHARE), REQUIRED_EVENTS);
    }

    /** Candidates held through a window of censuses [first, last], at their lowest. */
    private record Held(Census first, Census last, long bytes, double share) {
    }

    @Override
    protected IResult getResult(IItemCollection items, IPreferenceValueProvider vp, IResultValueProvider rp) {
        Hz3Recording recording = Hz3Recording.of(items);
        return judge(recording, recording.trustedCensuses(), vp);
    }

    /**
     * The result over these censuses of the recording. The rule judges the trusted ones; a test
     * may judge all of a real recording's, to see the criterion at work on the snapshots of a busy
     * workload, which the consistency filter sets aside.
     */
    public IResult judge(Hz3Recording recording, List<Census> censuses, IPreferenceValueProvider vp) {
        if (censuses.isEmpty()) {
            return RuleSupport.notApplicable(this, vp, Messages.get("General_NO_CENSUS"),
                    Messages.get("General_NO_CENSUS_LONG"));
        }
        double shareInfo = RuleSupport.fraction(vp, SHARE_INFO);
        double shareWarning = RuleSupport.fraction(vp, SHARE_WARNING);
        long minBytes = RuleSupport.bytes(vp, MIN_BYTES);
        long heldMillis = RuleSupport.millis(vp, HELD_FOR);
        long heldNanos = heldMillis * 1_000_000L;
        AllocatorSettings settings = recording.allocator();
        long delay = settings.purgeDelayMillis() >= 0 ? settings.purgeDelayMillis() : DEFAULT_PURGE_DELAY_MS;
        long interval = settings.epochIntervalMillis() >= 0 ? settings.epochIntervalMillis()
                : DEFAULT_EPOCH_INTERVAL_MS;
        long keptNanos = (delay + interval) * 1_000_000L;

        Held best = null;
        double bestScore = -1;
        Held most = null;
        Held reused = null;
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
            if (interval > 0 && h.last().timeNanos() - h.first().timeNanos() > keptNanos && maintained(recording, h)) {
                // Longer than hz3 keeps a free page, with its maintenance running: reused, not held.
                if (reused == null || held > reused.bytes()) {
                    reused = h;
                }
                continue;
            }
            if (most == null || held > most.bytes()) {
                most = h;
            }
            double s = held < minBytes ? 0 : RuleSupport.score(share, shareInfo, shareWarning);
            if (s > bestScore || (s == bestScore && held > best.bytes())) {
                best = h;
                bestScore = s;
            }
        }
        if (best == null && reused == null) {
            Census last = censuses.get(censuses.size() - 1);
            long span = (last.timeNanos() - censuses.get(0).timeNanos()) / 1_000_000L;
            return RuleSupport.notApplicable(this, vp,
                    Messages.format("Returnable_TOO_SHORT", censuses.size(), millisText(span), millisText(heldMillis)),
                    Messages.format("Returnable_TOO_SHORT_LONG", millisText(heldMillis)));
        }
        String settingsText = settingsText(settings, delay, interval);
        if (best == null) {
            long purged = purgedBetween(recording, reused);
            return ResultBuilder.createFor(this, vp).setSeverity(Severity.OK)
                    .setSummary(reused.bytes() >= minBytes
                            ? Messages.format("Returnable_SUMMARY_REUSED", bytes(reused.bytes()), millisText(delay))
                            : Messages.format("Returnable_SUMMARY_LITTLE", bytes(reused.bytes()), millisText(heldMillis)))
                    .setExplanation(RuleSupport.paragraphs(Messages.format("Returnable_REUSED_LONG",
                            RuleSupport.time(reused.first().timeNanos()), RuleSupport.time(reused.last().timeNanos()),
                            bytes(reused.bytes()), millisText(delay), millisText(interval),
                            purged < 0 ? "" : Messages.format("Returnable_PURGED", bytes(purged)))
                            + Messages.format("Returnable_CRITERION", millisText(heldMillis))
                            + RuleSupport.consistencyText(recording)))
                    .addResult(TypedResult.SCORE, UnitLookup.NUMBER_UNITY.quantity(0))
                    .addResult(CANDIDATE_BYTES, RuleSupport.byteQuantity(0))
                    .addResult(CANDIDATE_SHARE, RuleSupport.percentQuantity(0)).build();
        }
        Severity severity = Severity.get(bestScore);
        ResultBuilder b = ResultBuilder.createFor(this, vp).setSeverity(severity);
        if (severity.compareTo(Severity.INFO) < 0) {
            b.setSummary(Messages.format("Returnable_SUMMARY_OK", bytes(most.bytes()), percent(most.share()),
                    millisText(heldMillis)));
            b.setExplanation(RuleSupport.paragraphs(
                    Messages.format("Returnable_EXPLANATION_OK", bytes(minBytes), percent(shareInfo)) + settingsText
                            + Messages.format("Returnable_CRITERION", millisText(heldMillis))
                            + RuleSupport.consistencyText(recording)));
        } else {
            long spanMillis = (best.last().timeNanos() - best.first().timeNanos()) / 1_000_000L;
            b.setSummary(Messages.format("Returnable_SUMMARY", bytes(best.bytes()), percent(best.share()),
                    millisText(spanMillis)));
            StringBuilder explanation = new StringBuilder();
            explanation.append(Messages.format("Returnable_WHERE", RuleSupport.time(best.first().timeNanos()),
                    RuleSupport.time(best.last().timeNanos()), tiersText(best.first()),
                    bytes(best.first().residentBytes())));
            Optional<ProcessMemorySample> pm = recording.processMemoryNear(best.first().timeNanos());
            if (pm.isPresent() && pm.get().rss() > 0) {
                explanation.append(Messages.format("Returnable_RSS", bytes(pm.get().rss()),
                        percent(Math.min(1.0, (double) best.bytes() / pm.get().rss()))));
            }
            explanation.append(settingsText);
            explanation.append(interval == 0 ? Messages.get("Returnable_HELD_NO_TIMER")
                    : !maintained(recording, best) ? Messages.get("Returnable_HELD_NO_EPOCH")
                            : Messages.format("Returnable_HELD_DELAY", millisText(spanMillis), millisText(delay)));
            explanation.append(Messages.format("Returnable_CRITERION", millisText(heldMillis)));
            explanation.append(RuleSupport.consistencyText(recording));
            b.setExplanation(RuleSupport.paragraphs(explanation.toString()));
            b.setSolution(Messages.get("Returnable_SOLUTION")
                    + (interval == 0 ? Messages.get("Returnable_SOLUTION_TIMER")
                            : Messages.format("Returnable_SOLUTION_DELAY", millisText(delay))));
        }
        return b.addResult(TypedResult.SCORE, UnitLookup.NUMBER_UNITY.quantity(Math.max(0, bestScore)))
                .addResult(CANDIDATE_BYTES, RuleSupport.byteQuantity(best.bytes()))
                .addResult(CANDIDATE_SHARE, RuleSupport.percentQuantity(best.share())).build();
    }

    /**
     * hz3's maintenance thread ran in the window: a timer epoch started in it, or the recording has
     * no hz3.Epoch events to tell (then the settings are taken at their word).
     */
    private static boolean maintained(Hz3Recording recording, Held h) {
        if (recording.epochs().isEmpty()) {
            return true;
        }
        return recording.epochsBetween(h.first().timeNanos(), h.last().timeNanos()).stream()
                .anyMatch(e -> TIMER_REASON.equals(e.reason()));
    }

    /** Bytes hz3's epochs gave back in the window, or -1 when the recording has no hz3.Epoch events. */
    private static long purgedBetween(Hz3Recording recording, Held h) {
        if (recording.epochs().isEmpty()) {
            return -1;
        }
        return recording.epochsBetween(h.first().timeNanos(), h.last().timeNanos()).stream()
                .mapToLong(EpochSample::pagesPurged).sum() * Hz3Attributes.PAGE_SIZE;
    }

    private static String tiersText(Census c) {
        StringBuilder b = new StringBuilder();
        for (TierCensus t : c.tiers()) {
            if (t.candDecommitPages() > 0) {
                if (b.length() > 0) {
                    b.append(", ");
                }
                b.append(plain(t.tier())).append(' ').append(bytes(t.candidateBytes()));
            }
        }
        return b.length() == 0 ? "-" : b.toString();
    }

    private static String settingsText(AllocatorSettings a, long delay, long interval) {
        String text = a.purgeDelayMillis() >= 0
                ? Messages.format("Returnable_PURGE_DELAY", millisText(delay), millisText(interval))
                : Messages.format("Returnable_PURGE_DELAY_UNKNOWN", millisText(delay), millisText(interval));
        if (a.epochIntervalMillis() == 0) {
            text += Messages.get("Returnable_NO_TIMER");
        }
        return text;
    }
}
