package dev.hz3.jmc.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.hz3.jfr.ProcessMemoryEvent;
import dev.hz3.jmc.SyntheticRecording;
import dev.hz3.jmc.SyntheticRecording.SizeClass;
import dev.hz3.jmc.SyntheticRecording.Tier;
import jdk.jfr.Event;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordingFile;

/**
 * The report's charts as a browser draws them, read back from the page's uPlot instances by a
 * probe script that the test adds to a copy of the page (window.hz3Charts), in headless Chromium
 * 1000 px wide with the network cut off. Two synthetic recordings: one under hz3 with the JDK's
 * jdk.ResidentSetSize and NMT events and an inconsistent snapshot, one under glibc whose cgroup
 * sets no limit.
 */
class ReportChartsBrowserTest {

    static final Path OUT = HtmlReportBrowserTest.OUT.resolve("charts");
    /**
     * From JDK 20 (NMT) and 21 (jdk.ResidentSetSize) the JDK defines these event types itself, and
     * JMC's parser drops a second type of the same name, so the synthetic ones cannot be made
     * there: the checks that need them run on JDK 17 (the build's first pass) and are skipped,
     * saying so, on later JDKs.
     */
    static final boolean JDK_OWNS_MEMORY_EVENTS = Runtime.version().feature() >= 20;
    static final int RSS_HZ3 = 13;
    static final int RSS_GLIBC = 7;
    static Map<String, Object> hz3;
    static Map<String, Object> glibc;
    static String glibcPage;
    static String glibcSummary;

    @BeforeAll
    static void makeReports() throws Exception {
        Files.createDirectories(OUT);
        hz3 = probe(record(false), "hz3");
        glibc = probe(record(true), "glibc");
        glibcPage = Files.readString(OUT.resolve("glibc.html"));
    }

    @AfterAll
    static void cleanUp() throws Exception {
        // The pages and the recordings stay for a person to look at; nothing else is left.
        for (String f : List.of("hz3-probe.html", "glibc-probe.html")) {
            Files.deleteIfExists(OUT.resolve(f));
        }
    }

    /** A recording of 4 samples 60 ms apart, with the JDK's RSS sampled more often than ours. */
    static Path record(boolean onGlibc) throws Exception {
        Path rec;
        try (Recording jdk = new Recording(); SyntheticRecording r = SyntheticRecording.start(OUT)) {
            if (!JDK_OWNS_MEMORY_EVENTS) {
                for (Class<?> c : JdkEvents.CLASSES) {
                    @SuppressWarnings("unchecked")
                    Class<? extends Event> e = (Class<? extends Event>) c;
                    jdk.enable(e);
                }
            }
            jdk.start();
            int rss = onGlibc ? RSS_GLIBC : RSS_HZ3;
            int rssDone = 0;
            if (onGlibc) {
                r.allocator("glibc", 0, 0);
            } else {
                r.allocator("hz3", 500, 200);
            }
            for (int i = 0; i < 4; i++) {
                if (onGlibc) {
                    r.glibc(2 + i, (10L << 20) + (i << 20), (3L << 20) * i);
                    ProcessMemoryEvent e = new ProcessMemoryEvent();
                    e.rss = (150L << 20) + (i << 20);
                    e.javaHeap = 64L << 20;
                    e.threadStacks = 2L << 20;
                    e.fileMappings = 30L << 20;
                    e.otherMappings = e.rss - e.javaHeap - e.threadStacks - e.fileMappings;
                    e.cgroup = "/test";
                    e.cgroupUsage = e.rss;
                    e.cgroupLimit = 0;
                    e.commit();
                } else {
                    long partial = 3000 + 700 * i;
                    r.consistent(i != 2);
                    r.census(List.of(Tier.of("small", 50 + i, partial, 500 - 10 * i, partial - 100),
                            Tier.of("sub4k", 4, 30 + i, 8, 12), Tier.of("medium", 3, 0, 900 + i, 0),
                            Tier.of("large", 0, 0, 40, 0), Tier.of("free", 200 * (3 - i), 0, 0, 0)),
                            List.of(new SizeClass(19, 1024, "small", 900 + i, 880)), (60L << 20) + i);
                    r.processMemory((300L << 20) + (i << 20), 60L << 20, 1L << 20, (100L << 20) + i, 40L << 20);
                    if (!JDK_OWNS_MEMORY_EVENTS) {
                        JdkEvents.nmt(64L << 20, (12L << 20) + (i << 20), 3L << 20);
                    }
                }
                // RSS a little above the breakdown, so that the top tick is set by it.
                for (; rssDone < rss * (i + 1) / 4; rssDone++) {
                    if (!JDK_OWNS_MEMORY_EVENTS) {
                        JdkEvents.rss((310L << 20) + (rssDone << 19));
                    }
                    SyntheticRecording.pause(15);
                }
                SyntheticRecording.pause(20);
            }
            rec = r.dump();
            jdk.stop();
        }
        Path target = OUT.resolve((onGlibc ? "glibc" : "hz3") + ".jfr");
        Files.move(rec, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return target;
    }

    /** Writes the report, runs the probe on a copy of it at 1000 px and returns what it found. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> probe(Path rec, String name) throws Exception {
        return probe(rec, name, OUT);
    }

    /** As {@link #probe(Path, String)}, the pages in out; the caller deletes NAME-probe.html. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> probe(Path rec, String name, Path dir) throws Exception {
        Path html = dir.resolve(name + ".html");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Hz3Report.run(new String[] {rec.toString(), html.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        if (name.equals("glibc")) {
            glibcSummary = out.toString(StandardCharsets.UTF_8);
        }
        String page = Files.readString(html);
        String probe;
        try (var in = ReportChartsBrowserTest.class.getResourceAsStream("chart-probe.js")) {
            probe = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        int end = page.lastIndexOf("</body>");
        Path probed = dir.resolve(name + "-probe.html");
        Files.writeString(probed, page.substring(0, end) + "<script>\n" + probe + "</script>\n" + page.substring(end));
        Chromium.Run run = Chromium.run(List.of("--dump-dom", "--virtual-time-budget=3000", "--window-size=1000,3000"),
                probed);
        assertEquals(0, run.exit(), run.stderr());
        assertTrue(Chromium.consoleLines(run.stderr()).isEmpty(), "console: " + Chromium.consoleLines(run.stderr()));
        Matcher m = Pattern.compile("<pre id=\"probe\">(.*?)</pre>", Pattern.DOTALL).matcher(run.stdout());
        assertTrue(m.find(), "the probe ran: " + run.stdout().substring(0, Math.min(2000, run.stdout().length())));
        String json = m.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
        return (Map<String, Object>) MiniJson.parse(json);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) {
        return (List<Object>) o;
    }

    static double num(Object o) {
        return ((BigDecimal) o).doubleValue();
    }

    static Map<String, Object> chart(Map<String, Object> probe, String id) {
        Map<String, Object> c = map(map(probe.get("charts")).get(id));
        assertNotNull(c, "chart " + id + " in " + map(probe.get("charts")).keySet());
        return c;
    }

    @Test
    void nothingLoadedAndNoErrors() {
        for (Map<String, Object> p : List.of(hz3, glibc)) {
            assertEquals(List.of(), p.get("resources"), "network requests");
            assertEquals("", ((String) p.get("errors")).trim());
            assertTrue((Boolean) p.get("rendered"));
        }
        assertTrue(glibcPage.contains("Copyright (c) 2022 Leon Sorokin"), "uPlot's license notice");
    }

    @Test
    void everyChartHasTheRecordingsTimeRange() {
        for (Map<String, Object> p : List.of(hz3, glibc)) {
            Map<String, Object> charts = map(p.get("charts"));
            assertTrue(charts.size() >= 2, charts.keySet().toString());
            double dur = num(p.get("durationS"));
            for (String id : charts.keySet()) {
                Map<String, Object> c = chart(p, id);
                assertEquals(0.0, num(c.get("xMin")), 1e-9, id);
                assertEquals(dur, num(c.get("xMax")), 1e-9, id);
                assertEquals("hz3", c.get("syncKey"), id);
            }
        }
        List<String> expected = new java.util.ArrayList<>(List.of("tier-small", "tier-free", "reclaim", "process"));
        if (!JDK_OWNS_MEMORY_EVENTS) {
            expected.add("nmt");
        }
        assertTrue(map(hz3.get("charts")).keySet().containsAll(expected), map(hz3.get("charts")).keySet().toString());
    }

    /** One cursor: set on one chart at mid-recording, every chart shows it at the same time. */
    @Test
    void oneCursorForAllCharts() {
        for (Map<String, Object> p : List.of(hz3, glibc)) {
            Map<String, Object> at = map(p.get("cursorAt"));
            assertEquals(map(p.get("charts")).keySet(), at.keySet());
            for (Map.Entry<String, Object> e : at.entrySet()) {
                assertNotNull(e.getValue(), e.getKey() + ": no cursor");
                assertEquals(num(p.get("durationS")) / 2, num(e.getValue()), num(p.get("durationS")) / 100, e.getKey());
            }
        }
    }

    /** The test's own arithmetic: a step of 2^k bytes, the smallest that reaches max in 5 steps. */
    static List<String> binaryTicks(double max) {
        if (max <= 0) {
            max = 1024;
        }
        long step = 1;
        while (Math.ceil(max / step) > 5) {
            step *= 2;
        }
        long top = Math.max(2, (long) Math.ceil(max / step)) * step;
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        while (u < units.length - 1 && step >= 1L << (10 * (u + 1))) {
            u++;
        }
        List<String> labels = new ArrayList<>();
        for (long v = 0; v <= top; v += step) {
            labels.add((v >> (10 * u)) + " " + units[u]);
        }
        return labels;
    }

    @Test
    void byteAxesTickAtRoundBinaryValues() {
        for (Map<String, Object> p : List.of(hz3, glibc)) {
            for (String id : map(p.get("charts")).keySet()) {
                Map<String, Object> c = chart(p, id);
                Map<String, Object> y = map(list(c.get("axes")).get(1));
                if (!"bytes".equals(y.get("label"))) {
                    continue;
                }
                assertEquals(binaryTicks(num(c.get("dataMax"))), y.get("values"), id);
            }
        }
        // The hz3 recording's RSS peaks at 310 MiB + 12 x 512 KiB = 316 MiB: 64 MiB steps to 320 MiB.
        assertEquals(List.of("0 MiB", "64 MiB", "128 MiB", "192 MiB", "256 MiB", "320 MiB"),
                map(list(chart(hz3, "process").get("axes")).get(1)).get("values"));
    }

    @Test
    void axesHaveTitlesAndNoLabelIsCut() {
        for (Map<String, Object> p : List.of(hz3, glibc)) {
            for (String id : map(p.get("charts")).keySet()) {
                Map<String, Object> c = chart(p, id);
                Map<String, Object> x = map(list(c.get("axes")).get(0));
                Map<String, Object> y = map(list(c.get("axes")).get(1));
                assertEquals("seconds since the recording started", x.get("label"), id);
                assertTrue(num(x.get("lastRight")) <= num(x.get("canvasRight")),
                        id + ": the last time label ends at " + x.get("lastRight") + ", the canvas at " + x.get("canvasRight"));
                assertTrue(num(x.get("firstLeft")) >= num(x.get("canvasLeft")), id + ": the first time label");
                for (Object w : list(y.get("widths"))) {
                    assertTrue(num(w) < num(y.get("size")), id + ": y label " + w + " px in an axis of " + y.get("size"));
                }
                String expected = id.startsWith("tier-") ? "pages (4 KiB)" : "bytes";
                assertEquals(expected, y.get("label"), id);
            }
        }
    }

    @Test
    void rssHasAPointPerJdkEvent() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(JDK_OWNS_MEMORY_EVENTS,
                "JDK " + Runtime.version().feature() + " has its own jdk.ResidentSetSize: checked on JDK 17");
        for (Object[] p : new Object[][] {{hz3, "hz3.jfr"}, {glibc, "glibc.jfr"}}) {
            long events = RecordingFile.readAllEvents(OUT.resolve((String) p[1])).stream()
                    .filter(e -> e.getEventType().getName().equals("jdk.ResidentSetSize")).count();
            assertEquals(p[1].equals("hz3.jfr") ? RSS_HZ3 : RSS_GLIBC, events);
            Map<String, Object> points = map(chart(map(p[0]), "process").get("points"));
            assertEquals(events, (long) num(points.get("RSS")), p[1] + " " + points);
            if (p[1].equals("hz3.jfr")) {
                assertEquals(events, (long) num(map(chart(hz3, "reclaim").get("points")).get("process RSS")));
            }
        }
    }

    @Test
    void inconsistentSnapshotsAreMarked() {
        // One snapshot of four is inconsistent: a hollow mark, and a gap in the lines.
        Map<String, Object> points = map(chart(hz3, "tier-small").get("points"));
        assertEquals(1L, (long) num(points.get("inconsistent snapshot (not trusted)")), points.toString());
        assertEquals(3L, (long) num(points.get("\u226425%")), points.toString());
        Map<String, Object> reclaim = map(chart(hz3, "reclaim").get("points"));
        assertEquals(1L, (long) num(reclaim.get("inconsistent: hz3 resident")), reclaim.toString());
        assertEquals(1L, (long) num(reclaim.get("inconsistent: decommit candidates")), reclaim.toString());
        assertEquals(3L, (long) num(reclaim.get("hz3 resident")), reclaim.toString());
    }

    @Test
    void tierTableShowsItsBytesAt1000Px() {
        List<Object> cells = list(hz3.get("tierCells"));
        assertEquals(5 * 3, cells.size());
        double right = Math.min(num(hz3.get("viewport")), num(map(hz3.get("scrollBox")).get("right")));
        for (Object o : cells) {
            Map<String, Object> c = map(o);
            assertTrue(num(c.get("width")) > 0 && num(c.get("right")) <= right, "cell " + c + " visible within " + right);
        }
        String text = (String) hz3.get("text");
        for (String tier : List.of("small", "sub4k", "medium", "large", "free")) {
            assertTrue(Pattern.compile("(?m)^" + tier + ": \\S").matcher(text).find(), "a sentence for " + tier);
        }
    }

    @Test
    void noCgroupLimitIsSaidSo() {
        String text = (String) glibc.get("text");
        assertTrue(text.contains("Cgroup limit\tno limit"), text);
        assertTrue(((String) hz3.get("text")).contains("Cgroup limit\t4.0 GiB"));
    }

    @Test
    void glibcPageSaysNothingOfHz3() {
        String text = ((String) glibc.get("text")).toLowerCase(Locale.ROOT);
        assertFalse(text.contains("hz3"), text);
        assertFalse(text.contains("tier"), text);
        assertTrue(text.contains("glibc heap"), text);
        assertTrue(glibcPage.contains("<title>Native memory report"));
        // The summary too, but for the tool's own name on its first line.
        String summary = glibcSummary.substring(glibcSummary.indexOf('\n') + 1).toLowerCase(Locale.ROOT);
        assertFalse(summary.contains("hz3") || summary.contains("tier"), glibcSummary);
    }

    /** No hz3.NativeSite events: the section says how to get them; glibc's page leaves it out. */
    @Test
    void withoutSiteEventsTheSitesSectionSaysHowToGetThem() {
        String text = (String) hz3.get("text");
        assertTrue(text.contains("This recording has no Java call sites (hz3.NativeSite events): native attribution"
                + " was off."), text);
        assertTrue(text.contains("HZ3_AGENT_OPTIONS=attribution=on"), text);
        assertFalse(((String) glibc.get("text")).contains("Java call sites"), "left out of glibc's page");
    }
}
