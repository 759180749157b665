package dev.hz3.jmc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.openjdk.jmc.common.item.IItemCollection;

import dev.hz3.jmc.census.Census;
import dev.hz3.jmc.census.Hz3Recording;
import dev.hz3.jmc.census.TierCensus;
import jdk.jfr.Name;
import jdk.jfr.Percentage;

/**
 * Every hz3 event type and field this plug-in names (Hz3Attributes, and through it the rules, the
 * report and pages.xml) exists in jfr-events: the event classes are loaded reflectively and their
 * {@code @Name} and fields read, so a rename there fails here.
 */
class EventNamesTest {

    /** @Name of each jfr-events event class, to its field names. */
    static Map<String, Set<String>> jfrEvents() throws Exception {
        Class<?> names = Class.forName("dev.hz3.jfr.Hz3Events");
        List<?> classes = (List<?>) names.getField("CLASSES").get(null);
        Map<String, Set<String>> events = new HashMap<>();
        for (Object o : classes) {
            Class<?> c = (Class<?>) o;
            Name n = c.getAnnotation(Name.class);
            String type = n != null ? n.value() : c.getName();
            Set<String> fields = new LinkedHashSet<>();
            for (Class<?> k = c; k != null && k != jdk.jfr.Event.class; k = k.getSuperclass()) {
                for (Field f : k.getDeclaredFields()) {
                    if (!Modifier.isStatic(f.getModifiers()) && !Modifier.isTransient(f.getModifiers())) {
                        Name fn = f.getAnnotation(Name.class);
                        fields.add(fn != null ? fn.value() : f.getName());
                    }
                }
            }
            events.put(type, fields);
        }
        return events;
    }

    @Test
    void everyTypeAndFieldNamedExistsInJfrEvents() throws Exception {
        Map<String, Set<String>> events = jfrEvents();
        List<String> missing = new ArrayList<>();
        Hz3Attributes.FIELDS.forEach((type, fields) -> {
            Set<String> have = events.get(type);
            if (have == null) {
                missing.add(type + " (no such event in jfr-events; it has " + events.keySet() + ")");
                return;
            }
            for (String f : fields) {
                if (!have.contains(f)) {
                    missing.add(type + "." + f);
                }
            }
        });
        assertTrue(missing.isEmpty(), "named by jmc-plugin but not in jfr-events: " + missing);
    }

    /** Hz3Attributes is the one place: every field constant it declares is in FIELDS. */
    @Test
    void everyConstantIsListed() throws Exception {
        List<String> unlisted = new ArrayList<>();
        for (Class<?> nested : Hz3Attributes.class.getDeclaredClasses()) {
            String type = (String) nested.getField("TYPE").get(null);
            List<String> listed = Hz3Attributes.FIELDS.get(type);
            assertTrue(listed != null, type + " missing from FIELDS");
            for (Field f : nested.getDeclaredFields()) {
                if (f.getType() == String.class && Modifier.isStatic(f.getModifiers()) && !f.getName().equals("TYPE")) {
                    String value = (String) f.get(null);
                    if (!listed.contains(value)) {
                        unlisted.add(type + "." + value);
                    }
                }
            }
        }
        assertTrue(unlisted.isEmpty(), "constants not in Hz3Attributes.FIELDS: " + unlisted);
        assertTrue(Hz3Attributes.FIELDS.keySet().stream().allMatch(t -> t.startsWith(Hz3Attributes.PREFIX)));
    }

    /**
     * The same event with its counts declared as int (which JMC reads as number quantities, not
     * raw numbers) reads the same: the rules do not depend on how jfr-events declares a count.
     */
    @Name("hz3.TierOccupancy")
    static class IntCountsTierOccupancy extends jdk.jfr.Event {
        String tier;
        long seqLast;
        int pagesEmpty;
        int pagesPartial;
        int pagesFull;
        int occ0;
        int occ1to25;
        int occ25to50;
        int occ50to75;
        int occ75to100;
        int candDecommitPages;
        @jdk.jfr.DataAmount
        long residentBytes;
        @Percentage
        double occupancy;
    }

    @Test
    void countsReadTheSameAsIntOrLong() throws Exception {
        IItemCollection items;
        try (jdk.jfr.Recording r = new jdk.jfr.Recording()) {
            r.enable(IntCountsTierOccupancy.class);
            r.start();
            IntCountsTierOccupancy e = new IntCountsTierOccupancy();
            e.tier = "small";
            e.seqLast = 42;
            e.pagesEmpty = 3;
            e.pagesPartial = 2000;
            e.pagesFull = 1000;
            e.occ0 = 3;
            e.occ1to25 = 1900;
            e.occ25to50 = 100;
            e.occ75to100 = 1000;
            e.candDecommitPages = 3;
            e.residentBytes = 3003 * 4096L;
            e.occupancy = 0.25;
            e.commit();
            r.stop();
            java.nio.file.Path p = java.nio.file.Files.createTempFile("int-counts", ".jfr");
            try {
                r.dump(p);
                items = SyntheticRecording.load(p);
            } finally {
                java.nio.file.Files.delete(p);
            }
        }
        Census c = Hz3Recording.of(items).censuses().get(0);
        TierCensus t = c.tiers().get(0);
        assertEquals(42, c.seqLast());
        assertEquals(2000, t.pagesPartial());
        assertEquals(1900, t.occ()[1]);
        assertEquals(3003, t.residentPages());
        assertEquals(3003 * 4096L, t.residentBytes());
        assertEquals(0.25, t.occupancy(), 1e-12);
    }
}
