package dev.hz3.samples.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;

/**
 * The JVM's own census, as its recording has it: the hz3.TierOccupancy and hz3.PartialSizeClass
 * events of one census (seqLast), to compare with what the metrics said for that census.
 */
final class Census {

    static final List<String> TIERS = List.of("small", "sub4k", "medium", "large", "free");
    static final String[] STATES = {"untouched", "decommitted", "empty", "full", "partial"};
    static final String[] STATE_FIELDS = {"pagesUntouched", "pagesDecommitted", "pagesEmpty",
        "pagesFull", "pagesPartial"};
    static final String[] BUCKETS = {"0", "1-25", "25-50", "50-75", "75-100"};
    static final List<String> BUCKET_FIELDS = dev.hz3.jmc.Hz3Attributes.OCC_BUCKETS;
    static final long PAGE = 4096;

    private final List<RecordedEvent> events;

    Census(Path jfr) throws IOException {
        events = RecordingFile.readAllEvents(jfr);
    }

    private List<RecordedEvent> of(String type, long seq) {
        return events.stream().filter(e -> e.getEventType().getName().equals(type)
                && e.getLong("seqLast") == seq).toList();
    }

    /** What the metrics said, as a function of a series key, for census seq: equal to the recording's. */
    interface Series {
        double value(String key);
    }

    /** Asserts that every tier's page, bucket and live figures of census seq are those of the series. */
    void assertSameAs(long seq, Series s, int top, String who) {
        List<RecordedEvent> tiers = of("hz3.TierOccupancy", seq);
        assertEquals(TIERS.size(), tiers.size(), () -> who + ": census " + seq + " has "
                + tiers.size() + " hz3.TierOccupancy events in the recording");
        for (RecordedEvent t : tiers) {
            String tier = t.getString("tier");
            for (int i = 0; i < STATES.length; i++) {
                String key = "hz3_tier_pages_bytes{state=\"" + STATES[i] + "\",tier=\"" + tier + "\"}";
                assertEquals(t.getLong(STATE_FIELDS[i]) * PAGE, (long) s.value(key), who + " " + key);
            }
            for (int i = 0; i < BUCKETS.length; i++) {
                String key = "hz3_tier_occupancy_bytes{occupancy=\"" + BUCKETS[i] + "\",tier=\"" + tier + "\"}";
                assertEquals(t.getLong(BUCKET_FIELDS.get(i)) * PAGE, (long) s.value(key), who + " " + key);
            }
            String live = "hz3_tier_live_bytes{tier=\"" + tier + "\"}";
            assertEquals(t.getLong("liveBytes"), (long) s.value(live), who + " " + live);
        }
        List<RecordedEvent> classes = of("hz3.PartialSizeClass", seq);
        assertFalse(classes.isEmpty(), who + ": census " + seq + " has no hz3.PartialSizeClass");
        for (RecordedEvent c : classes) {
            if (c.getInt("rank") <= top) {
                String key = "hz3_partial_class_bytes{rank=\"" + c.getInt("rank") + "\"}";
                assertEquals(c.getLong("pagesPartial") * PAGE, (long) s.value(key), who + " " + key);
                String size = "hz3_partial_class_object_size_bytes{rank=\"" + c.getInt("rank") + "\"}";
                assertEquals(c.getLong("objectSize"), (long) s.value(size), who + " " + size);
            }
        }
    }

}
