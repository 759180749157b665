package dev.hz3.jmc.report;

import static dev.hz3.jmc.report.ReportChartsBrowserTest.binaryTicks;
import static dev.hz3.jmc.report.ReportChartsBrowserTest.chart;
import static dev.hz3.jmc.report.ReportChartsBrowserTest.list;
import static dev.hz3.jmc.report.ReportChartsBrowserTest.map;
import static dev.hz3.jmc.report.ReportChartsBrowserTest.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.hz3.jmc.SiteEventsJvm;
import dev.hz3.jmc.SiteRecording;

/**
 * The report's "Java call sites" section in headless Chromium, on a recording of site events that
 * a child JVM committed with the test's values: the table lists the sites by live bytes with
 * their growth, pinned pages and most common stack, and the chart draws each site's live bytes on
 * the shared time axis. (Without site events: ReportChartsBrowserTest.)
 */
class SitesReportBrowserTest {

    static final Path OUT = HtmlReportBrowserTest.OUT.resolve("sites");
    static final long MIB = 1 << 20;
    static final String LEAK = "com.example.Sessions.open:57";
    static final String CACHE = "com.example.Cache.fill:30";
    static final int ROUNDS = 5;
    static Map<String, Object> probe;
    static String page;

    /** The leak: 4 MiB more each round; the cache: 30 MiB from the first round on. */
    static long leakLive(int round) {
        return (round + 1) * 4 * MIB;
    }

    @BeforeAll
    static void makeReport() throws Exception {
        Files.createDirectories(OUT);
        SiteRecording r = new SiteRecording();
        for (int i = 0; i < ROUNDS; i++) {
            r.site(CACHE, "direct buffer", 30 * MIB, 1000L * (i + 1), 0, 300, 2 * MIB);
            r.site(LEAK, "deflater", leakLive(i), 1000L * (i + 1), 3 * MIB, 1200 + i, (5 + i) * MIB);
            r.sample(LEAK, "deflater", 268_288, 670_000).sample(LEAK, "deflater", 268_288, 670_000);
            // hz3's own samples of zlib's mallocs in the same calls: not counted with the agent's
            r.sample(LEAK, "deflater", 65_536, 520_000, "hz3").sample(LEAK, "deflater", 65_536, 520_000, "hz3")
                    .sample(LEAK, "deflater", 65_536, 520_000, "hz3");
            r.endRound();
        }
        Path rec = r.record(OUT.resolve("sites.jfr"));
        probe = ReportChartsBrowserTest.probe(rec, "sites", OUT);
        page = Files.readString(OUT.resolve("sites.html"));
    }

    @AfterAll
    static void cleanUp() throws Exception {
        Files.deleteIfExists(OUT.resolve("sites-probe.html"));
    }

    @Test
    void theTableListsTheSitesByLiveBytesWithTheirFigures() {
        String text = (String) probe.get("text");
        assertTrue(text.contains("Java call sites of native memory"), text);
        // Rows by live bytes at the last round: the cache (30 MiB) before the leak (20 MiB).
        int cache = text.indexOf(CACHE + "\tdirect buffer\t30.0 MiB");
        int leak = text.indexOf(LEAK + "\tdeflater\t" + String.format(java.util.Locale.ROOT, "%.1f MiB",
                leakLive(ROUNDS - 1) / (double) MIB));
        assertTrue(cache >= 0 && leak > cache, text);
        // The leak's row: growth from the first round to the last, native live, pinned pages and bytes.
        String row = text.substring(leak, text.indexOf('\n', leak));
        long growth = leakLive(ROUNDS - 1) - leakLive(0);
        assertTrue(row.contains("\t" + Format.bytes(growth) + "\t"), row);
        assertTrue(row.contains("\t3.0 MiB\t" + Format.count(1200 + ROUNDS - 1) + "\t"
                + Format.bytes((5 + ROUNDS - 1) * MIB) + "\t"), row);
        assertTrue(row.contains("\t5.0 s\t"), "oldest live sample: " + row);
        // Exact values, where a person can check them.
        assertTrue(page.contains("data-field=\"liveBytes\" data-key=\"site=" + LEAK + " (deflater);last\" data-value=\""
                + leakLive(ROUNDS - 1) + "\""), "the leak's live bytes cell");
    }

    @Test
    void eachSiteShowsItsMostCommonStack() {
        Matcher m = Pattern.compile("<tr data-site=\"" + Pattern.quote(LEAK) + " \\(deflater\\)\">.*?</tr>",
                Pattern.DOTALL).matcher(page);
        assertTrue(m.find(), page);
        String row = m.group();
        // The agent's samples only: hz3's of the same calls sample the same bytes again.
        assertTrue(row.contains("<summary>" + 2 * ROUNDS + " of " + 2 * ROUNDS + " agent samples</summary>"), row);
        // The committing frames of JFR are left off: the stack starts at the allocating method.
        assertTrue(row.contains("<pre>" + SiteEventsJvm.class.getName() + ".allocateAt"), row);
        assertTrue(row.contains(SiteEventsJvm.class.getName() + ".main"), row);
        // The cache had no samples.
        assertTrue(page.contains("<tr data-site=\"" + CACHE + " (direct buffer)\">"), page);
    }

    @Test
    void theChartDrawsEachSiteOnTheSharedTimeAxis() {
        assertEquals(List.of(), probe.get("resources"), "network requests");
        assertEquals("", ((String) probe.get("errors")).trim());
        Map<String, Object> c = chart(probe, "sites");
        assertEquals(0.0, num(c.get("xMin")), 1e-9);
        assertEquals(num(probe.get("durationS")), num(c.get("xMax")), 1e-9);
        assertEquals("hz3", c.get("syncKey"));
        Map<String, Object> points = map(c.get("points"));
        assertEquals(ROUNDS, (long) num(points.get(LEAK + " (deflater)")), points.toString());
        assertEquals(ROUNDS, (long) num(points.get(CACHE + " (direct buffer)")), points.toString());
        Map<String, Object> y = map(list(c.get("axes")).get(1));
        assertEquals("bytes", y.get("label"));
        assertEquals(binaryTicks(30 * MIB), y.get("values"));
    }
}
