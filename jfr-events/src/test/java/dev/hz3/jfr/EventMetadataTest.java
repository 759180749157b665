package dev.hz3.jfr;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import jdk.jfr.Configuration;
import jdk.jfr.EventType;
import jdk.jfr.Period;
import jdk.jfr.ValueDescriptor;
import org.junit.jupiter.api.Test;

/** Every hz3 event is named, labelled, described and categorised, and hz3.jfc covers them. */
class EventMetadataTest {

    @Test
    void everyEventAndFieldIsNamedLabelledAndDescribed() {
        assertEquals(Hz3Events.ALL.size(), Hz3Events.CLASSES.size());
        for (int i = 0; i < Hz3Events.CLASSES.size(); i++) {
            EventType t = EventType.getEventType(Hz3Events.CLASSES.get(i));
            assertEquals(Hz3Events.ALL.get(i), t.getName());
            assertTrue(t.getName().startsWith(Hz3Events.NAME_PREFIX));
            assertNotNull(t.getLabel(), t.getName());
            assertNotNull(t.getDescription(), t.getName());
            assertArrayEquals(Hz3Events.category(), t.getCategoryNames().toArray(), t.getName());
            Class<?> cls = Hz3Events.CLASSES.get(i);
            for (ValueDescriptor f : t.getFields()) {
                if (!declares(cls, f.getName())) {
                    continue;   // JFR's own startTime, duration, eventThread
                }
                assertNotNull(f.getLabel(), t.getName() + "." + f.getName() + " label");
                assertNotNull(f.getDescription(), t.getName() + "." + f.getName() + " description");
            }
            // No stack traces: these events describe the process, not the code that commits
            // them; but for the samples of native attribution, whose stack is the point.
            assertEquals(Hz3Events.WITH_STACK_TRACE.contains(t.getName()),
                    t.getSettingDescriptors().stream()
                    .anyMatch(s -> s.getName().equals("stackTrace")
                            && s.getDefaultValue().equals("true")), t.getName());
        }
    }

    @Test
    void byteAmountsCarryTheirContentType() {
        EventType t = EventType.getEventType(TierOccupancyEvent.class);
        assertEquals("jdk.jfr.DataAmount", t.getField("liveBytes").getContentType());
        assertEquals("jdk.jfr.Percentage", t.getField("occupancy").getContentType());
        EventType e = EventType.getEventType(EpochEvent.class);
        assertEquals("jdk.jfr.Timestamp", e.getField("epochStart").getContentType());
        assertEquals("jdk.jfr.Timespan", e.getField("epochDuration").getContentType());
    }

    @Test
    void jfcEnablesEveryEventAndNothingElse() throws Exception {
        Configuration c;
        try (Reader r = new InputStreamReader(
                Hz3Events.class.getResourceAsStream("hz3.jfc"), StandardCharsets.UTF_8)) {
            c = Configuration.create(r);
        }
        assertEquals("hz3", c.getLabel());
        Map<String, String> s = c.getSettings();
        Set<String> events = new HashSet<>();
        for (String key : s.keySet()) {
            String event = key.substring(0, key.indexOf('#'));
            assertTrue(Hz3Events.ALL.contains(event), "hz3.jfc names unknown event " + event);
            events.add(event);
        }
        assertEquals(Set.copyOf(Hz3Events.ALL), events);
        for (String name : Hz3Events.ALL) {
            assertEquals("true", s.get(name + "#enabled"), name);
        }
        for (Class<? extends jdk.jfr.Event> cls : Hz3Events.CLASSES) {
            EventType t = EventType.getEventType(cls);
            boolean periodic = cls.isAnnotationPresent(Period.class);
            assertEquals(periodic, s.containsKey(t.getName() + "#period"),
                    t.getName() + ": a period in hz3.jfc exactly for periodic events");
        }
    }

    /** Whether cls declares the JFR field of that id (a Java field of that name or {@code @Name}). */
    private static boolean declares(Class<?> cls, String field) {
        // JFR adds private startTime and duration fields to event classes; ours are public.
        for (java.lang.reflect.Field f : cls.getFields()) {
            jdk.jfr.Name n = f.getAnnotation(jdk.jfr.Name.class);
            if (field.equals(n != null ? n.value() : f.getName())) {
                return true;
            }
        }
        return false;
    }

    @Test
    void bucketFieldsCarryTheirIds() {
        for (Class<?> c : java.util.List.of(TierOccupancyEvent.class, PartialSizeClassEvent.class)) {
            EventType t = EventType.getEventType(c.asSubclass(jdk.jfr.Event.class));
            for (String id : Hz3Events.BUCKET_FIELDS) {
                assertNotNull(t.getField(id), t.getName() + "." + id);
            }
            for (String old : Hz3Events.BUCKET_FIELDS_BEFORE) {
                assertEquals(null, t.getField(old), t.getName() + " still has " + old);
            }
        }
    }
}
