package dev.hz3.jmc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import org.junit.jupiter.api.Test;
import org.openjdk.jmc.common.IState;
import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.util.StateToolkit;
import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.IRule;
import org.openjdk.jmc.flightrecorder.rules.Severity;
import org.openjdk.jmc.common.util.IPreferenceValueProvider;

import dev.hz3.jmc.SyntheticRecording.SizeClass;
import dev.hz3.jmc.SyntheticRecording.Tier;
import dev.hz3.jmc.census.Census;
import dev.hz3.jmc.census.ClassCensus;
import dev.hz3.jmc.census.Hz3Recording;
import dev.hz3.jmc.census.TierCensus;
import dev.hz3.jmc.rules.Hz3Rules;
import jdk.jfr.AnnotationElement;
import jdk.jfr.Event;
import jdk.jfr.EventFactory;
import jdk.jfr.Recording;
import jdk.jfr.ValueDescriptor;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;

/**
 * Recordings made before the buckets got their present ids carry occ0 ... occ75to100: the rules,
 * the census reader (and through it the report) and the pages read them all the same.
 */
class OldBucketIdsTest {

    /** JFR's own fields of every event, which EventFactory adds itself. */
    static final List<String> IMPLICIT = List.of("startTime", "duration", "eventThread", "stackTrace");

    /**
     * A copy of an hz3 recording as one made before the rename: every hz3 event committed again, in
     * order, through an event type with the same metadata (names, labels, content types) but the
     * buckets' old ids. Times are those of the copy.
     */
    static Path withOldBucketIds(Path recording, Path out) throws Exception {
        Map<String, String> oldId = new HashMap<>();
        for (int b = 0; b < Hz3Attributes.OCC_BUCKETS.size(); b++) {
            oldId.put(Hz3Attributes.OCC_BUCKETS.get(b), Hz3Attributes.OCC_BUCKETS_BEFORE.get(b));
        }
        Map<String, EventFactory> factories = new HashMap<>();
        // With the jfr-events classes registered, the copy's metadata would hold two types of each
        // name (JMC then renames one): an old recording has the old type only.
        for (Class<? extends Event> c : dev.hz3.jfr.Hz3Events.CLASSES) {
            jdk.jfr.FlightRecorder.unregister(c);
        }
        try (Recording copy = new Recording()) {
            try {
                List<RecordedEvent> events = new ArrayList<>(RecordingFile.readAllEvents(recording));
                events.removeIf(e -> !e.getEventType().getName().startsWith(Hz3Attributes.PREFIX));
                for (RecordedEvent e : events) {
                    factories.computeIfAbsent(e.getEventType().getName(), n -> {
                        List<ValueDescriptor> fields = new ArrayList<>();
                        for (ValueDescriptor v : e.getEventType().getFields()) {
                            if (!IMPLICIT.contains(v.getName())) {
                                fields.add(new ValueDescriptor(javaType(v), oldId.getOrDefault(v.getName(), v.getName()),
                                        v.getAnnotationElements()));
                            }
                        }
                        // The type's name is not among its annotation elements: without it, the
                        // factory names the type after its generated class.
                        List<AnnotationElement> annotations = new ArrayList<>(e.getEventType().getAnnotationElements());
                        annotations.removeIf(a -> a.getTypeName().equals(jdk.jfr.Name.class.getName()));
                        annotations.add(new AnnotationElement(jdk.jfr.Name.class, n));
                        EventFactory f = EventFactory.create(annotations, fields);
                        copy.enable(n);
                        return f;
                    });
                }
                copy.start();
                for (RecordedEvent e : events) {
                    EventFactory f = factories.get(e.getEventType().getName());
                    Event c = f.newEvent();
                    int i = 0;
                    for (ValueDescriptor v : e.getEventType().getFields()) {
                        if (!IMPLICIT.contains(v.getName())) {
                            c.set(i++, e.getValue(v.getName()));
                        }
                    }
                    c.commit();
                }
                copy.stop();
                copy.dump(out);
            } finally {
                factories.values().forEach(EventFactory::unregister);
                for (Class<? extends Event> c : dev.hz3.jfr.Hz3Events.CLASSES) {
                    jdk.jfr.FlightRecorder.register(c);
                }
            }
        }
        return out;
    }

    static Class<?> javaType(ValueDescriptor v) {
        switch (v.getTypeName()) {
        case "int": return int.class;
        case "long": return long.class;
        case "double": return double.class;
        case "float": return float.class;
        case "boolean": return boolean.class;
        case "short": return short.class;
        case "byte": return byte.class;
        case "char": return char.class;
        case "java.lang.String": return String.class;
        default: throw new IllegalArgumentException("no copy of field " + v.getName() + " of type " + v.getTypeName());
        }
    }

    /** The figures a census gives, without its time (the copy's events are later). */
    static List<String> figures(List<Census> censuses) {
        List<String> out = new ArrayList<>();
        for (Census c : censuses) {
            for (TierCensus t : c.tiers()) {
                out.add(c.seqLast() + " " + t.tier() + " partial=" + t.pagesPartial() + " occ="
                        + java.util.Arrays.toString(t.occ()) + " resident=" + t.residentBytes());
            }
            for (ClassCensus k : c.classes()) {
                out.add(c.seqLast() + " class " + k.sizeClass() + " partial=" + k.pagesPartial() + " occ="
                        + java.util.Arrays.toString(k.occ()));
            }
        }
        return out;
    }

    @Test
    void anOldRecordingGivesTheSameFiguresAndFindings() throws Exception {
        Path dir = Files.createTempDirectory("hz3-old-ids");
        try {
            Path now;
            try (SyntheticRecording r = SyntheticRecording.start(dir)) {
                for (int i = 0; i < 3; i++) {
                    r.census(List.of(Tier.of("small", 5, 3000 + 100 * i, 400, 2900), Tier.of("sub4k", 1, 20, 3, 10),
                            Tier.of("medium", 2, 0, 300, 0), Tier.of("free", 90, 0, 0, 0)),
                            List.of(new SizeClass(19, 1024, "small", 900, 890), new SizeClass(18, 896, "small", 800, 700)),
                            -1);
                }
                now = r.dump();
            }
            Path old = withOldBucketIds(now, dir.resolve("old-ids.jfr"));
            List<RecordedEvent> oldTiers = RecordingFile.readAllEvents(old).stream()
                    .filter(e -> e.getEventType().getName().equals(Hz3Attributes.TierOccupancy.TYPE)).toList();
            assertEquals(12, oldTiers.size(), "four tiers in three censuses");
            assertTrue(oldTiers.stream().allMatch(e -> e.hasField("occ1to25") && !e.hasField(Hz3Attributes.TierOccupancy.OCC_1_TO_25)),
                    "the copy carries the old ids only");

            IItemCollection newItems = SyntheticRecording.load(now);
            IItemCollection oldItems = SyntheticRecording.load(old);
            List<String> expected = figures(Hz3Recording.of(newItems).censuses());
            assertTrue(expected.stream().anyMatch(f -> f.contains("occ=[5, 2900, 100, 0, 400]")), expected::toString);
            assertEquals(expected, figures(Hz3Recording.of(oldItems).censuses()));

            for (IRule rule : Hz3Rules.all()) {
                IResult a = evaluate(rule, newItems);
                IResult b = evaluate(rule, oldItems);
                assertEquals(a.getSeverity(), b.getSeverity(), rule.getId());
                // The rules that read the buckets say the same; the others may quote the copy's
                // shorter time span.
                if (BUCKET_RULES.contains(rule.getId())) {
                    assertEquals(untimed(a.getSummary()), untimed(b.getSummary()), rule.getId());
                    assertEquals(untimed(a.getExplanation()), untimed(b.getExplanation()), rule.getId());
                }
                if (rule.getId().equals("Hz3NativeHeapFragmentation")) {
                    assertEquals(Severity.WARNING, b.getSeverity(), b.getSummary());
                }
            }
        } finally {
            SyntheticRecording.deleteTree(dir);
        }
    }

    /** The rules that read the occupancy buckets (pages at most 25% used). */
    static final List<String> BUCKET_RULES = List.of("Hz3NativeHeapFragmentation", "Hz3SizeClassHotSpots");

    /** A result's text without the time of its snapshot ("At 12/2/26, 9:18:08.990 PM (snapshot 9)"). */
    static String untimed(String text) {
        return text == null ? null : text.replaceAll("At [^()]* \\(snapshot", "At (snapshot");
    }

    static IResult evaluate(IRule rule, IItemCollection items) throws Exception {
        java.util.concurrent.RunnableFuture<IResult> f = rule.createEvaluation(items,
                IPreferenceValueProvider.DEFAULT_VALUES, null);
        f.run();
        return f.get();
    }

    /**
     * A real recording from before the rename (fragment-jdk17.jfr.gz, Fragment on JDK 17 with the
     * agent): every bucket the census reader gives is the one the JDK's own parser reads under the
     * old id, and not all are zero.
     */
    @Test
    void aRealOldRecordingsBucketsAreRead() throws Exception {
        Path dir = Files.createTempDirectory("hz3-old-real");
        try {
            Path p = dir.resolve("fragment-jdk17.jfr");
            try (InputStream in = new GZIPInputStream(
                    OldBucketIdsTest.class.getResourceAsStream("report/fragment-jdk17.jfr.gz"))) {
                Files.write(p, in.readAllBytes());
            }
            Map<String, long[]> raw = new HashMap<>();
            for (RecordedEvent e : RecordingFile.readAllEvents(p)) {
                if (e.getEventType().getName().equals(Hz3Attributes.TierOccupancy.TYPE)) {
                    long[] occ = new long[5];
                    for (int b = 0; b < 5; b++) {
                        occ[b] = e.getLong(Hz3Attributes.OCC_BUCKETS_BEFORE.get(b));
                    }
                    raw.put(e.getLong("seqLast") + " " + e.getString("tier"), occ);
                }
            }
            assertTrue(raw.values().stream().anyMatch(o -> o[1] > 0), "the recording has pages in (0, 25%]");
            int seen = 0;
            for (Census c : Hz3Recording.of(SyntheticRecording.load(p)).censuses()) {
                for (TierCensus t : c.tiers()) {
                    assertArrayEquals(raw.get(c.seqLast() + " " + t.tier()), t.occ(), c.seqLast() + " " + t.tier());
                    seen++;
                }
            }
            assertEquals(raw.size(), seen);
        } finally {
            SyntheticRecording.deleteTree(dir);
        }
    }

    /**
     * pages.xml lists each bucket column and chart series under its old id too, and the old ids
     * are the fields an old recording has: a page of an old recording shows its buckets.
     */
    @Test
    void thePagesNameTheOldIdsAsWell() throws Exception {
        List<IState> all = new ArrayList<>();
        List<IState> todo = new ArrayList<>(List.of(StateToolkit.fromXMLFile(new java.io.File("src/main/resources/pages.xml"))));
        while (!todo.isEmpty()) {
            for (IState p : todo.remove(0).getChildren("page")) {
                all.add(p);
                todo.add(p);
            }
        }
        int charts = 0;
        for (IState page : all) {
            IState lac = page.getChild("state").getChild("listAndChart");
            List<String> ids = new ArrayList<>();
            for (IState c : lac.getChild("listSettings").getChildren("column")) {
                ids.add(c.getAttribute("id"));
            }
            for (int b = 0; b < 5; b++) {
                String now = Hz3Attributes.OCC_BUCKETS.get(b) + ":number";
                String before = Hz3Attributes.OCC_BUCKETS_BEFORE.get(b) + ":number";
                assertEquals(ids.contains(now), ids.contains(before), page.getAttribute("id") + " " + before);
            }
            IState chart = lac.getChild("chartSettings");
            if (chart != null) {
                List<String> series = List.of(chart.getAttribute("lineChartAttributes").split(","));
                for (int b = 0; b < 5; b++) {
                    assertEquals(series.contains(Hz3Attributes.OCC_BUCKETS.get(b) + ":number"),
                            series.contains(Hz3Attributes.OCC_BUCKETS_BEFORE.get(b) + ":number"),
                            page.getAttribute("id"));
                }
                charts++;
            }
        }
        assertEquals(5, charts, "one chart per tier page");
    }
}
