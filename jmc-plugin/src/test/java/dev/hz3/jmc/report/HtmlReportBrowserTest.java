package dev.hz3.jmc.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.hz3.jmc.Hz3Attributes;
import dev.hz3.jmc.SyntheticRecording;
import dev.hz3.jmc.SyntheticRecording.SizeClass;
import dev.hz3.jmc.SyntheticRecording.Tier;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;

/**
 * The HTML report of a synthetic recording, opened in headless Chromium with the network cut off:
 * it loads nothing, logs nothing to the console, draws every chart, and every number in its tables
 * and every series in its charts equals what the JDK's own RecordingFile reads from the recording.
 * A screenshot is kept at target/report-test/hz3-report.png.
 */
class HtmlReportBrowserTest {

    static final Path OUT = Path.of(System.getProperty("hz3.test.out", "target/report-test"));
    static Path rec;
    static Path html;
    static String page;
    static String dom;
    static String stdout;
    static List<RecordedEvent> events;

    @BeforeAll
    static void makeReport() throws Exception {
        Files.createDirectories(OUT);
        try (SyntheticRecording r = SyntheticRecording.start(OUT)) {
            r.allocator("hz3", 500, 200);
            for (int i = 0; i < 4; i++) {
                long partial = 3000 + 700 * i;
                r.census(List.of(Tier.of("small", 50 + i, partial, 500 - 10 * i, partial - 100),
                        Tier.of("sub4k", 4, 30 + i, 8, 12), Tier.of("medium", 3, 0, 900 + i, 0),
                        Tier.of("large", 0, 0, 40, 0), Tier.of("free", 200 * (3 - i), 0, 0, 0)),
                        List.of(new SizeClass(19, 1024, "small", 900 + i, 880), new SizeClass(18, 896, "small", 850, 800),
                                new SizeClass(17, 768, "small", 700 - i, 650), new SizeClass(40, 2304, "sub4k", 30, 10)),
                        i == 2 ? -1 : (60L << 20) + i);
                r.processMemory((300L << 20) + (i << 20), 60L << 20, 1L << 20, (100L << 20) + i, 40L << 20);
                r.glibc(2 + i, 10L << 20, (3L << 20) * i);
                SyntheticRecording.pause(40);
            }
            rec = r.dump();
        }
        Path target = OUT.resolve("synthetic.jfr");
        Files.move(rec, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        rec = target;
        html = OUT.resolve("hz3-report.html");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Hz3Report.run(new String[] {rec.toString(), html.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        stdout = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        page = Files.readString(html);
        events = RecordingFile.readAllEvents(rec);

        Chromium.Run run = Chromium.run(List.of("--dump-dom", "--virtual-time-budget=2000"), html);
        assertEquals(0, run.exit(), run.stderr());
        dom = run.stdout();
        assertTrue(Chromium.consoleLines(run.stderr()).isEmpty(),
                "console messages: " + Chromium.consoleLines(run.stderr()));
    }

    @Test
    void printsASummary() {
        assertTrue(stdout.contains("Native heap fragmentation") && stdout.contains("report: " + html), stdout);
        assertTrue(stdout.contains("WARNING"), stdout);
    }

    @Test
    void loadsNothingFromAnywhere() {
        assertFalse(Pattern.compile("(?i)<(link|img|iframe|object|embed|source|audio|video)\\b").matcher(page).find());
        assertFalse(Pattern.compile("(?i)<script[^>]*\\bsrc=").matcher(page).find());
        assertFalse(Pattern.compile("(?i)url\\(|@import").matcher(page).find());
        Matcher m = Pattern.compile("(?i)(https?:)?//[a-z0-9.-]+\\.[a-z]{2,}").matcher(page);
        while (m.find()) {
            assertEquals("http://www.w3.org", m.group(), "the only URL is the SVG namespace name");
        }
    }

    @Test
    void scriptRanWithoutErrors() {
        assertTrue(dom.contains("data-rendered=\"true\""), "the chart script finished");
        Matcher m = Pattern.compile("<div id=\"hz3-errors\">(.*?)</div>", Pattern.DOTALL).matcher(dom);
        assertTrue(m.find());
        assertEquals("", m.group(1).trim(), "errors the page reported");
    }

    @Test
    void screenshot() throws Exception {
        Path png = OUT.resolve("hz3-report.png");
        Files.deleteIfExists(png);
        Chromium.Run run = Chromium.run(
                List.of("--screenshot=" + png.toAbsolutePath(), "--window-size=1400,3400", "--hide-scrollbars"), html);
        assertEquals(0, run.exit(), run.stderr());
        assertTrue(Files.size(png) > 20_000, "screenshot " + png);
    }

    // ---- what RecordingFile reads

    static List<RecordedEvent> of(String type) {
        return events.stream().filter(e -> e.getEventType().getName().equals(type))
                .sorted(Comparator.comparing(RecordedEvent::getEndTime)).toList();
    }

    static long ms(RecordedEvent e) {
        return e.getEndTime().toEpochMilli();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> data() {
        Matcher m = Pattern.compile("<script type=\"application/json\" id=\"" + HtmlReport.DATA_ID + "\">(.*?)</script>",
                Pattern.DOTALL).matcher(dom);
        assertTrue(m.find(), "data element in the DOM");
        return (Map<String, Object>) MiniJson.parse(m.group(1));
    }

    static List<Long> longs(Object list) {
        return ((List<?>) list).stream().map(o -> ((BigDecimal) o).longValueExact()).toList();
    }

    static void assertTimes(List<Long> expected, Object actual, String what) {
        List<Long> got = longs(actual);
        assertEquals(expected.size(), got.size(), what);
        for (int i = 0; i < got.size(); i++) {
            assertTrue(Math.abs(expected.get(i) - got.get(i)) <= 1, what + "[" + i + "]: " + expected + " vs " + got);
        }
    }

    /** TierOccupancy events by seqLast, in time order. */
    static Map<Long, List<RecordedEvent>> censuses() {
        Map<Long, List<RecordedEvent>> m = new TreeMap<>();
        of(Hz3Attributes.TierOccupancy.TYPE).forEach(e -> m.computeIfAbsent(e.getLong("seqLast"), k -> new ArrayList<>())
                .add(e));
        return m;
    }

    @Test
    @SuppressWarnings("unchecked")
    void chartDataEqualsTheRecording() {
        Map<String, Object> d = data();
        // Occupancy buckets per tier over time.
        Map<String, List<RecordedEvent>> byTier = of(Hz3Attributes.TierOccupancy.TYPE).stream()
                .collect(Collectors.groupingBy(e -> e.getString("tier"), LinkedHashMap::new, Collectors.toList()));
        List<Map<String, Object>> tiers = (List<Map<String, Object>>) d.get("tiers");
        assertEquals(byTier.keySet(), tiers.stream().map(t -> t.get("tier")).collect(Collectors.toSet()));
        for (Map<String, Object> t : tiers) {
            List<RecordedEvent> es = byTier.get((String) t.get("tier"));
            assertTimes(es.stream().map(HtmlReportBrowserTest::ms).toList(), t.get("t"), "t of " + t.get("tier"));
            List<String> fields = new ArrayList<>(Hz3Attributes.OCC_BUCKETS);
            fields.addAll(List.of("pagesPartial", "candDecommitPages", "residentBytes"));
            for (String field : fields) {
                assertEquals(es.stream().map(e -> e.getLong(field)).toList(), longs(t.get(field)),
                        t.get("tier") + "." + field);
            }
            assertEquals(es.stream().map(e -> e.getLong("seqLast")).toList(), longs(t.get("seq")));
        }
        // The table census: most partial pages, the later on ties.
        Map<Long, List<RecordedEvent>> censuses = censuses();
        long seq = censuses.entrySet().stream()
                .max(Comparator.<Map.Entry<Long, List<RecordedEvent>>>comparingLong(
                        en -> en.getValue().stream().mapToLong(e -> e.getLong("pagesPartial")).sum())
                        .thenComparing(en -> en.getValue().get(0).getEndTime()))
                .get().getKey();
        assertEquals(seq, ((BigDecimal) ((Map<String, Object>) d.get("census")).get("seqLast")).longValueExact());
        List<RecordedEvent> classes = of(Hz3Attributes.PartialSizeClass.TYPE).stream()
                .filter(e -> e.getLong("seqLast") == seq).sorted(Comparator.comparingLong(e -> e.getLong("rank")))
                .toList();
        List<Map<String, Object>> rows = (List<Map<String, Object>>) d.get("classes");
        assertEquals(classes.size(), rows.size());
        for (int i = 0; i < rows.size(); i++) {
            List<String> fields = new ArrayList<>(List.of("rank", "sizeClass", "objectSize", "pagesPartial"));
            fields.addAll(Hz3Attributes.OCC_BUCKETS);
            fields.addAll(List.of("tailWasteBytes", "partialBytes"));
            for (String field : fields) {
                assertEquals(classes.get(i).getLong(field), ((BigDecimal) rows.get(i).get(field)).longValueExact(),
                        "class row " + i + " " + field);
            }
            assertEquals(classes.get(i).getString("tier"), rows.get(i).get("tier"));
        }
        // Reclaim candidates (resident empty pages, all tiers) against hz3's resident memory and RSS.
        Map<String, Object> reclaim = (Map<String, Object>) d.get("reclaim");
        Map<Long, RecordedEvent> snapshots = of(Hz3Attributes.Snapshot.TYPE).stream()
                .collect(Collectors.toMap(e -> e.getLong("seqLast"), e -> e, (a, b) -> b));
        List<Map.Entry<Long, List<RecordedEvent>>> inTime = censuses.entrySet().stream()
                .sorted(Comparator.comparing(en -> en.getValue().stream().map(RecordedEvent::getEndTime)
                        .max(Comparator.naturalOrder()).get()))
                .toList();
        assertEquals(inTime.stream().map(en -> en.getValue().stream().mapToLong(e -> e.getLong("candDecommitPages"))
                .sum() * Hz3Attributes.PAGE_SIZE).toList(), longs(reclaim.get("candidateBytes")));
        assertEquals(inTime.stream().map(en -> {
            RecordedEvent s = snapshots.get(en.getKey());
            long resident = s == null ? 0 : s.getLong("censusResidentBytes");
            return resident > 0 ? resident : en.getValue().stream().mapToLong(e -> e.getLong("residentBytes")).sum();
        }).toList(), longs(reclaim.get("hz3ResidentBytes")));
        List<RecordedEvent> pm = of(Hz3Attributes.ProcessMemory.TYPE);
        assertEquals(pm.stream().map(e -> e.getLong("rss")).toList(),
                longs(((Map<String, Object>) d.get("rss")).get("rss")));
        Map<String, Object> process = (Map<String, Object>) d.get("process");
        assertTimes(pm.stream().map(HtmlReportBrowserTest::ms).toList(), process.get("t"), "process t");
        for (String part : Hz3Attributes.ProcessMemory.RSS_PARTS) {
            assertEquals(pm.stream().map(e -> e.getLong(part)).toList(), longs(process.get(part)), part);
        }
        List<RecordedEvent> gl = of(Hz3Attributes.GlibcHeap.TYPE);
        Map<String, Object> glibc = (Map<String, Object>) d.get("glibc");
        for (String f : List.of("arenas", "inUseBytes", "freeBytes")) {
            assertEquals(gl.stream().map(e -> e.getLong(f)).toList(), longs(glibc.get(f)), f);
        }
    }

    /** What the script drew: one shape per series, with as many points as the data has. */
    @Test
    @SuppressWarnings("unchecked")
    void everyChartSeriesWasDrawn() {
        Map<String, Object> d = data();
        Map<String, Integer> drawn = new LinkedHashMap<>();
        Matcher m = Pattern.compile("<(span|rect)\\b[^>]*?data-series=\"([^\"]+)\"[^>]*?(?:data-points|data-value)=\"([^\"]+)\"")
                .matcher(dom);
        while (m.find()) {
            drawn.put(m.group(2), (int) Double.parseDouble(m.group(3)));
        }
        for (Map<String, Object> t : (List<Map<String, Object>>) d.get("tiers")) {
            boolean resident = Hz3Attributes.OCC_BUCKETS.stream()
                    .anyMatch(b -> longs(t.get(b)).stream().anyMatch(v -> v > 0));
            for (String b : Hz3Attributes.OCC_BUCKETS) {
                String key = t.get("tier") + "." + b;
                if (resident) {
                    assertEquals(longs(t.get(b)).size(), drawn.get(key), key);
                }
            }
        }
        for (Map<String, Object> row : (List<Map<String, Object>>) d.get("classes")) {
            for (String b : Hz3Attributes.OCC_BUCKETS) {
                String key = "class" + row.get("sizeClass") + "." + b;
                assertEquals(((BigDecimal) row.get(b)).intValueExact(), drawn.get(key), key);
            }
        }
        int censusCount = longs(((Map<String, Object>) d.get("reclaim")).get("t")).size();
        assertEquals(censusCount, drawn.get("reclaim.candidateBytes"));
        assertEquals(censusCount, drawn.get("reclaim.hz3ResidentBytes"));
        int samples = longs(((Map<String, Object>) d.get("rss")).get("t")).size();
        assertEquals(samples, drawn.get("rss.rss"));
        for (String part : Hz3Attributes.ProcessMemory.RSS_PARTS) {
            assertEquals(samples, drawn.get("process." + part), part);
        }
        assertEquals(4, drawn.get("glibc.freeBytes"));
    }

    /** Every table cell that shows an event's field shows what RecordingFile reads for that event. */
    @Test
    void everyTableNumberEqualsTheRecording() {
        Pattern cell = Pattern.compile("<td class=\"(\\w+)\" data-event=\"([^\"]+)\" data-field=\"([^\"]+)\" "
                + "data-key=\"([^\"]+)\" data-value=\"([^\"]*)\"([^>]*)>([^<]*)</td>");
        Matcher m = cell.matcher(dom);
        Map<String, Integer> perEvent = new TreeMap<>();
        while (m.find()) {
            String type = m.group(2);
            String field = m.group(3);
            String key = m.group(4);
            String value = m.group(5);
            String shown = m.group(7).replace("&amp;", "&");
            RecordedEvent e = find(type, key);
            String where = type + " " + key + " " + field;
            Object v = e.getValue(field);
            if (v instanceof Double || v instanceof Float) {
                assertEquals(((Number) v).doubleValue(), Double.parseDouble(value), 0.0, where);
            } else if (v instanceof Number n) {
                assertEquals(n.longValue(), Long.parseLong(value), where);
                if (m.group(6).contains("bytes")) {
                    assertTrue(m.group(6).contains("\"" + Format.count(n.longValue()) + " bytes\""), where);
                } else {
                    assertEquals(n.longValue(), Long.parseLong(shown.replace(",", "")), where + " as shown");
                }
            } else {
                assertEquals(String.valueOf(v), value, where);
                assertEquals(String.valueOf(v), shown, where);
            }
            perEvent.merge(type, 1, Integer::sum);
        }
        assertTrue(perEvent.getOrDefault(Hz3Attributes.TierOccupancy.TYPE, 0) == 5 * 13, perEvent.toString());
        assertTrue(perEvent.getOrDefault(Hz3Attributes.PartialSizeClass.TYPE, 0) >= 4 * 16, perEvent.toString());
        assertEquals(10, perEvent.get(Hz3Attributes.ProcessMemory.TYPE));
        assertEquals(8, perEvent.get(Hz3Attributes.GlibcHeap.TYPE));
    }

    static RecordedEvent find(String type, String key) {
        List<RecordedEvent> es = of(type);
        if (key.equals("last")) {
            return es.get(es.size() - 1);
        }
        Map<String, String> k = new LinkedHashMap<>();
        for (String part : key.split(";")) {
            String[] kv = part.split("=", 2);
            k.put(kv[0], kv[1]);
        }
        List<RecordedEvent> match = es.stream().filter(e -> k.entrySet().stream()
                .allMatch(en -> String.valueOf((Object) e.getValue(en.getKey())).equals(en.getValue()))).toList();
        assertEquals(1, match.size(), "events of " + type + " with " + key);
        return match.get(0);
    }
}
