package dev.hz3.jfr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import jdk.jfr.Description;
import jdk.jfr.Label;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Keep in sync: native-hz3/include/hz3.h against the event classes and the names in
 * {@link Hz3Events}. A field added to one of hz3's structs, or an enum member renamed, fails
 * here until the events follow.
 */
class HeaderMirrorTest {

    private static CHeader header;

    @BeforeAll
    static void readHeader() throws Exception {
        header = CHeader.parse(CHeader.hz3Header());
    }

    @Test
    void tierCensusIsMirroredByTierOccupancy() {
        assertMirrored("hz3_tier_census", TierOccupancyEvent.class,
                Hz3Events.TIER_CENSUS_RENAMES, List.of());
    }

    @Test
    void classCensusIsMirroredByPartialSizeClass() {
        assertMirrored("hz3_class_census", PartialSizeClassEvent.class,
                Hz3Events.CLASS_CENSUS_RENAMES, List.of());
    }

    @Test
    void epochInfoIsMirroredByEpoch() {
        assertMirrored("hz3_epoch_info", EpochEvent.class, Hz3Events.EPOCH_RENAMES, List.of());
    }

    @Test
    void snapshotScalarsAreMirroredBySnapshot() {
        List<String> arrays = new ArrayList<>();
        List<String> names = header.expandedFieldNames("hz3_snapshot", arrays);
        Set<String> notMirrored = Hz3Events.SNAPSHOT_NOT_MIRRORED.keySet();
        List<String> expected = new ArrayList<>(arrays);
        names.stream().filter(notMirrored::contains).forEach(expected::add);
        assertEquals(new LinkedHashSet<>(notMirrored).stream().sorted().toList(),
                expected.stream().sorted().toList(),
                "struct hz3_snapshot: the fields hz3.Snapshot leaves to other events changed;"
                        + " update Hz3Events.SNAPSHOT_NOT_MIRRORED");
        assertMirrored("hz3_snapshot", SnapshotEvent.class, Hz3Events.SNAPSHOT_RENAMES,
                List.copyOf(notMirrored));
    }

    @Test
    void enumsMatch() {
        assertEquals(Hz3Events.TIERS.subList(0, 4),
                suffixes("hz3_tier", "HZ3_TIER_"), "enum hz3_tier");
        assertEquals(Hz3Events.TIERS.size() - 1, header.defineNumber("HZ3_TIER_FREE"));
        assertEquals(Hz3Events.TIER_LARGE,
                header.enumMembers("hz3_tier").get("HZ3_TIER_LARGE").intValue());
        assertEquals(Hz3Events.CENSUS_TIERS, header.defineNumber("HZ3_CENSUS_TIERS"));
        assertEquals(Hz3Events.CENSUS_CLASSES, header.defineNumber("HZ3_CENSUS_CLASSES"));
        assertEquals(Hz3Events.EPOCH_REASONS,
                suffixes("hz3_epoch_reason", "HZ3_EPOCH_"), "enum hz3_epoch_reason");
        assertEquals(Hz3Events.PAGE_STATES, header.enumSuffixesFor("HZ3_PS_COUNT"),
                "enum hz3_page_state_census");
        assertEquals(Hz3Events.OCCUPANCY_BUCKETS, header.enumSuffixesFor("HZ3_OCC_COUNT"),
                "enum hz3_occupancy");
    }

    @Test
    void javaNameRule() {
        assertEquals("liveObjects", Hz3Events.javaName("live_objects"));
        assertEquals("occ0", Hz3Events.javaName("occ_0"));
        assertEquals("occ1to25", Hz3Events.javaName("occ_1_25"));
        assertEquals("occ75to100", Hz3Events.javaName("occ_75_100"));
        assertEquals("pagesUntouched", Hz3Events.javaName("pages_untouched"));
        assertEquals("seq", Hz3Events.javaName("seq"));
    }

    private List<String> suffixes(String enumName, String prefix) {
        return header.enumMembers(enumName).entrySet().stream()
                .sorted(Map.Entry.comparingByValue())
                .map(e -> e.getKey().substring(prefix.length()).toLowerCase())
                .collect(Collectors.toList());
    }

    /**
     * Every field of the C struct (enum-indexed arrays expanded) has its event field, with a
     * label and a description; ignored lists C fields that are mirrored elsewhere.
     */
    private static void assertMirrored(String struct, Class<?> event, Map<String, String> renames,
            List<String> ignored) {
        List<String> skipped = new ArrayList<>();
        List<String> cFields = header.expandedFieldNames(struct, skipped);
        skipped.removeAll(ignored);
        assertTrue(skipped.isEmpty(), () -> "struct " + struct + " has array fields " + skipped
                + " that no event mirrors");
        for (String renamed : renames.keySet()) {
            assertTrue(cFields.contains(renamed) || ignored.contains(renamed),
                    () -> "Hz3Events renames " + renamed + ", which struct " + struct
                            + " no longer has");
        }
        for (String c : cFields) {
            if (ignored.contains(c)) {
                continue;
            }
            String j = Hz3Events.javaName(c, renames);
            Field f;
            try {
                f = event.getField(j);
            } catch (NoSuchFieldException e) {
                throw new AssertionError("struct " + struct + " field " + c + " has no event field "
                        + event.getSimpleName() + "." + j + " (keep in sync with hz3.h)");
            }
            assertTrue(Modifier.isPublic(f.getModifiers()));
            assertNotNull(f.getAnnotation(Label.class), event.getSimpleName() + "." + j + " label");
            assertNotNull(f.getAnnotation(Description.class),
                    event.getSimpleName() + "." + j + " description");
        }
    }
}
