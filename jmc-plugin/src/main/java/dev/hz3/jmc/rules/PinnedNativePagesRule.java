package dev.hz3.jmc.rules;

import static dev.hz3.jmc.rules.RuleSupport.bytes;
import static dev.hz3.jmc.rules.RuleSupport.count;
import static dev.hz3.jmc.rules.RuleSupport.plain;

import java.util.Comparator;
import java.util.List;

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
import dev.hz3.jmc.census.SiteSample;

/**
 * Java call sites whose surviving objects keep partly used pages resident (hz3.NativeSite's
 * pinnedPages and pinnedBytes, which hz3 fills in when it is the malloc): the bytes those pages
 * hold that no live object uses, which freeing the site's objects would let hz3 return. Both are
 * estimates, scaled from the site's live samples by hz3's exact count of each size class's partly
 * used pages per live block (include/hz3.h, hz3_site_stat), and the rule's text says so.
 *
 * <p>Reads one round of hz3.NativeSite events, the one with the most pinned bytes in all (one
 * moment per finding). Each site scores against its pinned bytes: INFO at 4 MiB, WARNING at
 * 16 MiB; sites from the info limit up are named. N/A without site events, and N/A when the
 * pinned figures are -1 (another malloc than hz3).
 */
public class PinnedNativePagesRule extends AbstractRule {

    private static final String RESULT_ID = "Hz3PinnedNativePages";

    public static final TypedPreference<IQuantity> PINNED_INFO = RuleSupport.mebibytePreference(
            "hz3.pinned.info", "Pinned_INFO", 4);
    public static final TypedPreference<IQuantity> PINNED_WARNING = RuleSupport.mebibytePreference(
            "hz3.pinned.warning", "Pinned_WARNING", 16);
    public static final TypedPreference<IQuantity> SITES_NAMED = RuleSupport.numberPreference(
            "hz3.pinned.sitesNamed", "Pinned_SITES_NAMED", 5);

    public static final TypedResult<String> PINNING_SITES = RuleSupport.textResult("pinningSites",
            "Sites that pin pages");
    public static final TypedResult<IQuantity> TOP_PINNED = RuleSupport.memoryResult("topPinned",
            "Pinned bytes of the worst site");

    public PinnedNativePagesRule() {
        super(RESULT_ID, Messages.get("Pinned_RULE_NAME"), Hz3Attributes.TOPIC_NATIVE_SITES,
                List.of(PINNED_INFO, PINNED_WARNING, SITES_NAMED),
                List.of(TypedResult.SCORE, PINNING_SITES, TOP_PINNED), RequiredEventsBuilder.create().build());
    }

    @Override
    protected IResult getResult(IItemCollection items, IPreferenceValueProvider vp, IResultValueProvider rp) {
        NativeSites sites = NativeSites.of(items);
        if (sites.isEmpty()) {
            return RuleSupport.notApplicable(this, vp, Messages.get("Sites_NA"), Messages.get("Sites_NA_LONG"));
        }
        if (!sites.hasPinning()) {
            return RuleSupport.notApplicable(this, vp, Messages.get("Pinned_NO_HZ3"), Messages.get("Pinned_NO_HZ3_LONG"));
        }
        long info = RuleSupport.bytes(vp, PINNED_INFO);
        long warning = RuleSupport.bytes(vp, PINNED_WARNING);
        int named = (int) Math.max(1, RuleSupport.number(vp, SITES_NAMED));

        List<SiteSample> round = sites.rounds().stream().filter(r -> r.stream().anyMatch(SiteSample::hasPinning))
                .max(Comparator.comparingLong(NativeSites::pinnedBytes).thenComparingLong(r -> r.get(0).timeNanos()))
                .orElseThrow();
        List<SiteSample> pinning = round.stream().filter(SiteSample::hasPinning)
                .sorted(Comparator.comparingLong(SiteSample::pinnedBytes).reversed()).toList();
        SiteSample worst = pinning.get(0);
        double score = RuleSupport.score(worst.pinnedBytes(), info, warning);
        Severity severity = Severity.get(score);
        List<SiteSample> over = pinning.stream().filter(s -> s.pinnedBytes() >= info).limit(named).toList();
        String when = RuleSupport.time(round.get(0).timeNanos());
        ResultBuilder b = ResultBuilder.createFor(this, vp).setSeverity(severity);
        if (over.isEmpty()) {
            b.setSummary(Messages.format("Pinned_OK", bytes(worst.pinnedBytes()), RuleSupport.call(worst.key()), bytes(info)))
                    .setExplanation(RuleSupport.paragraphs(Messages.format("Pinned_OK_LONG", when,
                            bytes(NativeSites.pinnedBytes(round)), bytes(info), bytes(warning))));
        } else {
            StringBuilder list = new StringBuilder();
            for (SiteSample s : over) {
                list.append(Messages.format("Pinned_SITE", RuleSupport.call(s.site()), plain(s.kind()), bytes(s.pinnedBytes()),
                        count(s.pinnedPages()), bytes(s.liveBytes()),
                        s.nativeLiveBytes() >= 0 ? bytes(s.nativeLiveBytes()) : "-"));
            }
            String names = String.join(", ", over.stream().map(s -> RuleSupport.call(s.key())).toList());
            b.setSummary(Messages.format("Pinned_SUMMARY", over.size(), names, bytes(worst.pinnedBytes())))
                    .setExplanation(RuleSupport.paragraphs(Messages.format("Pinned_SITES", when, list.toString())
                            + Messages.get("Pinned_READING")))
                    .setSolution(Messages.get("Pinned_SOLUTION"));
        }
        return b.addResult(TypedResult.SCORE, UnitLookup.NUMBER_UNITY.quantity(score))
                .addResult(PINNING_SITES, String.join(", ", over.stream().map(s -> RuleSupport.call(s.key())).toList()))
                .addResult(TOP_PINNED, RuleSupport.byteQuantity(worst.pinnedBytes())).build();
    }
}
