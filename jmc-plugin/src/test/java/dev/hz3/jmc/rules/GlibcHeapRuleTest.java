package dev.hz3.jmc.rules;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.openjdk.jmc.common.util.IPreferenceValueProvider;
import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.Severity;

import dev.hz3.jmc.SyntheticRecording.Tier;

/**
 * glibc's kept memory at and around each threshold: free over arena bytes 20% (INFO) and 40%
 * (WARNING), the 16 MiB floor, and 8 arenas.
 */
class GlibcHeapRuleTest extends RuleTestSupport {

    private static final long MIB = 1 << 20;
    private final GlibcHeapRule rule = new GlibcHeapRule();

    private IResult glibc(int arenas, long inUse, long free) throws Exception {
        return evaluate(rule, r -> r.glibc(arenas, inUse, free));
    }

    @Test
    void keptShareAtInfoLimitIsInfo() throws Exception {
        IResult r = glibc(2, 80 * MIB, 20 * MIB);
        assertSeverity(Severity.INFO, r);
        assertScore(25, r);
    }

    @Test
    void keptShareJustBelowInfoLimitIsOk() throws Exception {
        assertSeverity(Severity.OK, glibc(2, 80 * MIB + 1, 20 * MIB));
    }

    @Test
    void keptShareAtWarningLimitIsWarningAndSaysWhatToDo() throws Exception {
        IResult r = glibc(2, 60 * MIB, 40 * MIB);
        assertSeverity(Severity.WARNING, r);
        assertScore(75, r);
        String s = r.getSolution();
        assertTrue(s.contains("bin/hz3-java") && s.contains("MALLOC_ARENA_MAX=2")
                && s.contains("System.trim_native_heap") && s.contains("-XX:TrimNativeHeapInterval"), s);
        assertTrue(r.getSummary().contains("2 arenas"), r.getSummary());
    }

    @Test
    void keptShareJustBelowWarningLimitIsInfo() throws Exception {
        assertSeverity(Severity.INFO, glibc(2, 60 * MIB + 1, 40 * MIB));
    }

    @Test
    void theFloorDecides() throws Exception {
        assertSeverity(Severity.WARNING, glibc(2, 4 * MIB, 16 * MIB));
        IResult r = glibc(2, 4 * MIB, 16 * MIB - 1);
        assertSeverity(Severity.OK, r);
        assertScore(0, r);
    }

    @Test
    void manyArenasKeepingMemoryAreInfo() throws Exception {
        IResult r = glibc(8, 1000 * MIB, 16 * MIB); // 1.6% kept, but in 8 arenas
        assertSeverity(Severity.INFO, r);
        assertScore(25, r);
        assertTrue(r.getExplanation().contains("8 arenas"), r.getExplanation());
        assertSeverity(Severity.OK, glibc(7, 1000 * MIB, 16 * MIB));
    }

    @Test
    void underHz3ItIsNotApplicable() throws Exception {
        var items = record(r -> r.census(Tier.of("small", 0, 4000, 100, 4000)));
        assertSeverity(Severity.NA, evaluate(rule, items, IPreferenceValueProvider.DEFAULT_VALUES));
        assertSeverity(Severity.NA, Hz3Rules.evaluate(rule, items, null));
    }
}
