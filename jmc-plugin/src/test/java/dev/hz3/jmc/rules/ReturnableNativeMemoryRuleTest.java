package dev.hz3.jmc.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.openjdk.jmc.common.unit.IQuantity;
import org.openjdk.jmc.common.unit.UnitLookup;
import org.openjdk.jmc.common.util.IPreferenceValueProvider;
import org.openjdk.jmc.common.util.TypedPreference;
import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.Severity;

import dev.hz3.jmc.SyntheticRecording;
import dev.hz3.jmc.SyntheticRecording.Tier;

/**
 * Reading rule 1 at and around each threshold: held candidates over hz3's resident memory 10%
 * (INFO) and 25% (WARNING), the 8 MiB floor, and "held": present in every snapshot of a window
 * (shortened to 100 ms here so the test need not wait 2 s).
 */
class ReturnableNativeMemoryRuleTest extends RuleTestSupport {

    private static final long MIB = 1 << 20;
    private final ReturnableNativeMemoryRule rule = new ReturnableNativeMemoryRule();
    private final Map<TypedPreference<IQuantity>, IQuantity> shortWindow = Map.of(ReturnableNativeMemoryRule.HELD_FOR,
            UnitLookup.MILLISECOND.quantity(100));

    /** Two censuses 150 ms apart, each with candidatePages empty pages, hz3 holding residentBytes. */
    private IResult held(long candidatePages, long residentBytes) throws Exception {
        return evaluate(rule, shortWindow, r -> {
            for (int i = 0; i < 2; i++) {
                r.census(List.of(Tier.of("free", candidatePages, 0, 0, 0), Tier.of("small", 0, 100, 1000, 50)),
                        List.of(), residentBytes);
                SyntheticRecording.pause(150);
            }
        });
    }

    @Test
    void heldShareAtInfoLimitIsInfo() throws Exception {
        IResult r = held(2560, 100 * MIB); // 10 MiB of 100 MiB
        assertSeverity(Severity.INFO, r);
        assertScore(25, r);
        assertEquals(10 * MIB, r.getResult(ReturnableNativeMemoryRule.CANDIDATE_BYTES).longValueIn(UnitLookup.BYTE));
    }

    @Test
    void heldShareJustBelowInfoLimitIsOk() throws Exception {
        IResult r = held(2559, 100 * MIB);
        assertSeverity(Severity.OK, r);
        assertTrue(r.getSummary().startsWith("hz3 returns what is freed"), r.getSummary());
    }

    @Test
    void heldShareAtWarningLimitIsWarning() throws Exception {
        IResult r = held(6400, 100 * MIB); // 25 MiB
        assertSeverity(Severity.WARNING, r);
        assertScore(75, r);
        assertTrue(r.getSolution().contains("System.trim_native_heap")
                && r.getSolution().contains("java -jar hz3-agent.jar attach PID purge")
                && r.getSolution().contains("HZ3_PURGE_DELAY_MS"), r.getSolution());
        assertTrue(r.getExplanation().contains("free"), "names the tier: " + r.getExplanation());
    }

    @Test
    void heldShareJustBelowWarningLimitIsInfo() throws Exception {
        assertSeverity(Severity.INFO, held(6399, 100 * MIB));
    }

    @Test
    void theFloorDecides() throws Exception {
        assertSeverity(Severity.WARNING, held(2048, 20 * MIB)); // 8 MiB, 40%
        IResult r = held(2047, 20 * MIB);
        assertSeverity(Severity.OK, r);
        assertScore(0, r);
    }

    @Test
    void candidatesThatDoNotStayAreNotReturnable() throws Exception {
        IResult r = evaluate(rule, shortWindow, rec -> {
            rec.census(List.of(Tier.of("free", 0, 0, 0, 0), Tier.of("small", 0, 100, 1000, 50)), List.of(),
                    100 * MIB);
            SyntheticRecording.pause(150);
            rec.census(List.of(Tier.of("free", 12800, 0, 0, 0)), List.of(), 100 * MIB); // 50 MiB, only once
        });
        assertSeverity(Severity.OK, r);
    }

    @Test
    void namesRssAndTheSettingsOfThisProcess() throws Exception {
        IResult r = evaluate(rule, shortWindow, rec -> {
            rec.allocator("hz3", 250, 200);
            rec.processMemory(400 * MIB, 100 * MIB, 2 * MIB, 200 * MIB, 50 * MIB);
            for (int i = 0; i < 3; i++) {
                rec.census(List.of(Tier.of("free", 12800, 0, 0, 0)), List.of(), 100 * MIB);
                SyntheticRecording.pause(60);
            }
        });
        assertSeverity(Severity.WARNING, r);
        assertTrue(r.getExplanation().contains("RSS") && r.getExplanation().contains("400"), r.getExplanation());
        assertTrue(r.getExplanation().contains("250"), "purge delay of the process: " + r.getExplanation());
    }

    /**
     * Steady reuse: empty pages in every snapshot of a window longer than hz3's purge delay plus its
     * epoch interval, with its maintenance running. A page that stayed empty that long would have
     * been returned, so these are freed and taken again within the delay: not a finding.
     */
    private IResult window(long purgeDelayMs, long epochIntervalMs, String epochReason) throws Exception {
        return evaluate(rule, shortWindow, rec -> {
            rec.allocator("hz3", purgeDelayMs, epochIntervalMs);
            for (int i = 0; i < 3; i++) {
                rec.census(List.of(Tier.of("free", 12800, 0, 0, 0), Tier.of("small", 0, 100, 1000, 50)), List.of(),
                        100 * MIB); // 50 MiB empty of 100 MiB
                if (epochReason != null) {
                    SyntheticRecording.pause(30);
                    rec.epoch(epochReason, 256);
                }
                SyntheticRecording.pause(120);
            }
        });
    }

    @Test
    void emptyPagesReusedWithinThePurgeDelayAreNotAFinding() throws Exception {
        IResult r = window(20, 10, null); // 150 ms windows > 20 + 10 ms
        assertSeverity(Severity.OK, r);
        assertScore(0, r);
        assertTrue(r.getSummary().startsWith("hz3 reuses what is freed"), r.getSummary());
        assertTrue(r.getExplanation().contains("takes again within the delay"), r.getExplanation());
        assertEquals(null, r.getSolution());
    }

    @Test
    void withTimerEpochsInTheWindowReuseIsConfirmedAndThePurgeNamed() throws Exception {
        IResult r = window(20, 10, "timer");
        assertSeverity(Severity.OK, r);
        String text = r.getExplanation().replace('\u00a0', ' ');
        assertTrue(text.matches("(?s).*ran meanwhile, returning [1-3] MiB.*"), text);
    }

    @Test
    void memoryKeptLongerThanTheWindowByALongPurgeDelayStillWarns() throws Exception {
        IResult r = window(60_000, 200, "timer"); // hz3 keeps these pages for a minute
        assertSeverity(Severity.WARNING, r);
        String text = r.getExplanation().replace('\u00a0', ' ');
        assertTrue(text.contains("hz3 keeps a free page for 1 min"), text);
        assertTrue(r.getSolution().contains("HZ3_PURGE_DELAY_MS") && r.getSolution().contains("System.trim_native_heap"),
                r.getSolution());
    }

    @Test
    void withoutAMaintenanceThreadKeptMemoryWarns() throws Exception {
        IResult r = window(20, 0, null);
        assertSeverity(Severity.WARNING, r);
        assertTrue(r.getSolution().contains("HZ3_EPOCH_INTERVAL_MS above 0"), r.getSolution());
    }

    @Test
    void whenNoTimerEpochRanInTheWindowKeptMemoryWarns() throws Exception {
        IResult r = window(20, 10, "slow_path"); // the recording has epochs, none of the maintenance thread
        assertSeverity(Severity.WARNING, r);
        assertTrue(r.getExplanation().contains("ran no timer epoch"), r.getExplanation());
    }

    @Test
    void tooShortARecordingIsNotApplicable() throws Exception {
        IResult r = evaluate(rule, rec -> {
            rec.census(Tier.of("free", 12800, 0, 0, 0));
            rec.census(Tier.of("free", 12800, 0, 0, 0));
        }); // default window: 2 s
        assertSeverity(Severity.NA, r);
        assertTrue(r.getSummary().replace('\u00a0', ' ').contains("2 s apart"), r.getSummary());
    }

    @Test
    void withoutTheCensusItIsNotApplicable() throws Exception {
        var items = record(rec -> rec.glibc(4, 100 * MIB, 50 * MIB));
        assertSeverity(Severity.NA, evaluate(rule, items, IPreferenceValueProvider.DEFAULT_VALUES));
        assertSeverity(Severity.NA, Hz3Rules.evaluate(rule, items, null));
    }
}
