package dev.hz3.jmc.report;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.Severity;
import org.openjdk.jmc.flightrecorder.rules.TypedResult;

import dev.hz3.jmc.Html;
import dev.hz3.jmc.Hz3Attributes;
import dev.hz3.jmc.Hz3Attributes.GlibcHeap;
import dev.hz3.jmc.Hz3Attributes.PartialSizeClass;
import dev.hz3.jmc.Hz3Attributes.ProcessMemory;
import dev.hz3.jmc.Hz3Attributes.TierOccupancy;
import dev.hz3.jmc.census.Census;
import dev.hz3.jmc.census.ClassCensus;
import dev.hz3.jmc.census.GlibcSample;
import dev.hz3.jmc.census.ProcessMemorySample;
import dev.hz3.jmc.census.TierCensus;

/**
 * Writes the report as one HTML page with everything inline: CSS, the data as JSON ({@link ReportData}) in
 * {@code <script type="application/json" id="hz3-report-data">}, uPlot (the charting library, from
 * its webjar on the class path, with its license) and the script that draws the charts with it.
 * Tables are written here, not by the script, so they read without it.
 *
 * <p>Every number taken from an event sits in a cell that says where it came from:
 * {@code data-event} (type id), {@code data-field}, {@code data-key} (which event: seqLast and
 * tier or rank, or "last") and {@code data-value} (the exact value). The report's test checks each
 * against a {@code jdk.jfr.consumer.RecordingFile} parse of the same recording.
 */
public final class HtmlReport {

    /** The id of the JSON data element. */
    public static final String DATA_ID = "hz3-report-data";

    private HtmlReport() {
    }

    public static String render(ReportModel m) {
        StringBuilder h = new StringBuilder(256 * 1024);
        h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>").append(m.onGlibc() ? "Native memory report: " : "hz3 report: ")
                .append(esc(m.fileName())).append("</title>\n<style>\n").append(UPlot.NOTICE)
                .append(UPlot.css()).append("\n").append(resource("report.css")).append("</style>\n</head>\n<body>\n");
        header(h, m);
        h.append("<main>\n<div id=\"hz3-errors\"></div>\n");
        rules(h, m);
        SitesSection.html(h, m);
        if (!m.onGlibc()) {
            tiers(h, m);
            classes(h, m);
            reclaim(h, m);
        }
        process(h, m);
        nmt(h, m);
        glibc(h, m);
        h.append("</main>\n<script type=\"application/json\" id=\"").append(DATA_ID).append("\">")
                .append(Json.write(ReportData.of(m))).append("</script>\n<script>\n").append(UPlot.NOTICE)
                .append(UPlot.js()).append("\n</script>\n<script>\n").append(resource("report.js"))
                .append("</script>\n</body>\n</html>\n");
        return h.toString();
    }

    // ---- sections

    private static void header(StringBuilder h, ReportModel m) {
        h.append("<header>\n<h1>").append(m.onGlibc() ? "Native memory report" : "hz3 native heap report")
                .append("</h1>\n<div class=\"meta\">").append(esc(m.fileName()));
        if (m.endMillis() > m.startMillis()) {
            h.append(" &middot; ").append(esc(utc(m.startMillis()))).append(" to ").append(esc(utc(m.endMillis())))
                    .append(" (").append(esc(seconds(m.endMillis() - m.startMillis()))).append(')');
        }
        if (!m.jvmVersion().isEmpty()) {
            h.append(" &middot; ").append(esc(m.jvmVersion()));
        }
        String malloc = m.recording().allocator().malloc();
        if (!malloc.isEmpty()) {
            h.append(" &middot; malloc ").append(esc(malloc)).append(' ')
                    .append(esc(m.recording().allocator().mallocVersion()));
        }
        if (!m.onGlibc()) {
            h.append(" &middot; ").append(m.recording().censuses().size()).append(" hz3 snapshots");
            String note = m.recording().consistencyNote();
            if (!note.isEmpty()) {
                h.append(" (").append(esc(note)).append(')');
            }
        }
        h.append("</div>\n");
        if (!m.note().isEmpty()) {
            h.append("<p class=\"cut\" id=\"hz3-cut\">").append(esc(m.note())).append("</p>\n");
        }
        h.append("</header>\n");
    }

    private static void rules(StringBuilder h, ReportModel m) {
        h.append("<h2>Findings</h2>\n<table id=\"rules\">\n<tr><th>Severity</th><th class=\"num\">Score</th>")
                .append("<th>Rule</th><th>Result</th></tr>\n");
        int notApplicable = 0;
        for (IResult r : m.results()) {
            Severity s = r.getSeverity();
            if (m.onGlibc() && s == Severity.NA) {
                // The rules that read the allocator's census say only that it is missing.
                notApplicable++;
                continue;
            }
            h.append("<tr data-rule=\"").append(esc(r.getRule().getId())).append("\"><td><span class=\"sev sev-")
                    .append(s.name().toLowerCase(Locale.ROOT)).append("\">").append(esc(severityName(s)))
                    .append("</span></td><td class=\"num\">").append(esc(score(r))).append("</td><td>")
                    .append(esc(r.getRule().getName())).append("</td><td>").append(esc(nz(r.getSummary())));
            String explanation = nz(r.getExplanation()) + solution(r);
            if (!explanation.isEmpty()) {
                // Rule texts are plain text (as JMC shows them): escaped, their line breaks kept.
                h.append("<details><summary>Details</summary><div class=\"explanation\" style=\"white-space: pre-line\">")
                        .append(esc(explanation)).append("</div></details>");
            }
            h.append("</td></tr>\n");
        }
        h.append("</table>\n");
        if (notApplicable > 0) {
            h.append("<p class=\"note\">").append(notApplicable)
                    .append(notApplicable == 1 ? " rule reads" : " rules read")
                    .append(" a page census that glibc's malloc does not keep: not shown.</p>\n");
        }
    }

    private static void tiers(StringBuilder h, ReportModel m) {
        h.append("<h2>Where native memory is stuck: hz3 tiers</h2>\n");
        Optional<Census> c = m.tableCensus();
        if (c.isEmpty()) {
            h.append("<p class=\"empty\">This recording has no hz3 census (hz3.TierOccupancy).</p>\n")
                    .append("<div class=\"charts\" id=\"chart-tiers\"></div>\n");
            return;
        }
        Census census = c.get();
        h.append("<p class=\"note\">Snapshot ").append(census.seqLast()).append(" at ")
                .append(esc(offset(m, census.timeNanos()))).append(", the one with the most partial pages. ")
                .append("Pages are 4 KiB; the occupancy buckets count resident pages by how full their span is.</p>\n");
        tierGlossary(h);
        // Bytes first, then pages: at 1000 px the byte columns must show without scrolling.
        h.append("<div class=\"scroll\"><table id=\"tiers\" class=\"wrap\">\n<tr><th>Tier</th><th class=\"num\">Resident</th>")
                .append("<th class=\"num\">Live</th><th class=\"num\">Tail waste</th><th class=\"num\">Occupancy</th>")
                .append("<th class=\"num\">Resident pages</th>")
                .append("<th class=\"num\">Empty</th><th class=\"num\">Partial</th><th class=\"num\">Full</th>");
        for (String label : Hz3Attributes.OCC_BUCKET_LABELS) {
            h.append("<th class=\"num\">").append(esc(label)).append("</th>");
        }
        h.append("<th class=\"num\">Decommit candidates</th></tr>\n");
        for (TierCensus t : census.tiers()) {
            String key = "seqLast=" + t.seqLast() + ";tier=" + t.tier();
            Cells row = new Cells(h, TierOccupancy.TYPE, key);
            h.append("<tr><td>").append(esc(t.tier())).append("</td>");
            row.bytes(TierOccupancy.RESIDENT_BYTES, t.residentBytes());
            row.bytes(TierOccupancy.LIVE_BYTES, t.liveBytes());
            row.bytes(TierOccupancy.TAIL_WASTE_BYTES, t.tailWasteBytes());
            row.percent(TierOccupancy.OCCUPANCY, t.occupancy());
            h.append("<td class=\"num\" title=\"empty + partial + full\">").append(count(t.residentPages()))
                    .append("</td>");
            row.count(TierOccupancy.PAGES_EMPTY, t.pagesEmpty());
            row.count(TierOccupancy.PAGES_PARTIAL, t.pagesPartial());
            row.count(TierOccupancy.PAGES_FULL, t.pagesFull());
            for (int b = 0; b < t.occ().length; b++) {
                row.count(Hz3Attributes.OCC_BUCKETS.get(b), t.occ()[b]);
            }
            row.count(TierOccupancy.CAND_DECOMMIT_PAGES, t.candDecommitPages());
            h.append("</tr>\n");
        }
        h.append("</table></div>\n<div class=\"charts\" id=\"chart-tiers\"></div>\n");
    }

    /** One plain sentence per tier (native-hz3/include/hz3.h says the same at enum hz3_tier). */
    static final String[][] TIERS = {
            {"small", "objects up to 1 KiB, many to a span of 1 to 4 pages."},
            {"sub4k", "objects of 1 to 3.5 KiB, several to a span of up to 8 pages."},
            {"medium", "objects of 3.5 to 32 KiB: up to 16 KiB 8 to 16 to a span of 16 to 32 pages, above one to a span."},
            {"large", "bigger objects: up to 1004 KiB each in a run of pages inside a segment, beyond that "
                    + "in a mapping of their own (counted in bytes, not pages)."},
            {"free", "pages of hz3's segments that belong to no span: nothing lives there, and the empty ones "
                    + "are returned to the system after the purge delay."}};

    private static void tierGlossary(StringBuilder h) {
        h.append("<ul class=\"tiers-glossary\">\n");
        for (String[] t : TIERS) {
            h.append("<li><b>").append(t[0]).append("</b>: ").append(esc(t[1])).append("</li>\n");
        }
        h.append("</ul>\n");
    }

    private static void classes(StringBuilder h, ReportModel m) {
        h.append("<h2>Top partial size classes</h2>\n");
        List<ClassCensus> classes = m.tableCensus().map(Census::classes).orElse(List.of());
        if (classes.isEmpty()) {
            h.append("<p class=\"empty\">No hz3.PartialSizeClass events for this snapshot.</p>\n");
        } else {
            h.append("<div class=\"scroll\"><table id=\"classes\">\n<tr><th class=\"num\">Rank</th><th class=\"num\">Class</th>")
                    .append("<th class=\"num\">Object size</th><th>Tier</th><th class=\"num\">Span pages</th>")
                    .append("<th class=\"num\">Partial pages</th><th class=\"num\">Partial bytes</th>");
            for (String label : Hz3Attributes.OCC_BUCKET_LABELS) {
                h.append("<th class=\"num\">").append(esc(label)).append("</th>");
            }
            h.append("<th class=\"num\">Tail waste</th><th class=\"num\">Live objects</th>")
                    .append("<th class=\"num\">Capacity</th><th class=\"num\">Occupancy</th></tr>\n");
            for (ClassCensus c : classes) {
                Cells row = new Cells(h, PartialSizeClass.TYPE, "seqLast=" + c.seqLast() + ";rank=" + c.rank());
                h.append("<tr>");
                row.count(PartialSizeClass.RANK, c.rank());
                row.count(PartialSizeClass.SIZE_CLASS, c.sizeClass());
                row.bytes(PartialSizeClass.OBJECT_SIZE, c.objectSize());
                row.text(PartialSizeClass.TIER, c.tier());
                row.count(PartialSizeClass.SPAN_PAGES, c.spanPages());
                row.count(PartialSizeClass.PAGES_PARTIAL, c.pagesPartial());
                row.bytes(PartialSizeClass.PARTIAL_BYTES, c.partialBytes());
                for (int b = 0; b < c.occ().length; b++) {
                    row.count(Hz3Attributes.OCC_BUCKETS.get(b), c.occ()[b]);
                }
                row.bytes(PartialSizeClass.TAIL_WASTE_BYTES, c.tailWasteBytes());
                row.count(PartialSizeClass.LIVE_OBJECTS, c.liveObjects());
                row.count(PartialSizeClass.CAPACITY_OBJECTS, c.capacityObjects());
                row.percent(PartialSizeClass.OCCUPANCY, c.occupancy());
                h.append("</tr>\n");
            }
            h.append("</table></div>\n");
        }
        h.append("<div class=\"charts\" id=\"chart-classes\"></div>\n");
    }

    private static void reclaim(StringBuilder h, ReportModel m) {
        h.append("<h2>Reclaim candidates against RSS</h2>\n<p class=\"note\">Decommit candidates are resident ")
                .append("empty pages of every tier (hz3 returns them after HZ3_PURGE_DELAY_MS; ")
                .append("<code>jcmd PID System.trim_native_heap</code> returns them at once); hz3 resident is what ")
                .append("hz3 holds in RAM (census); RSS is the whole process.</p>\n")
                .append("<div class=\"charts\" id=\"chart-reclaim\"></div>\n");
    }

    private static void process(StringBuilder h, ReportModel m) {
        h.append("<h2>Process memory</h2>\n");
        List<ProcessMemorySample> pm = m.recording().processMemory();
        JdkMemory jdk = m.jdk();
        if (!jdk.rss().isEmpty()) {
            h.append("<p class=\"note\">RSS over time: the JVM's ").append(JdkMemory.RESIDENT_SET_SIZE)
                    .append(" events (").append(jdk.rss().t().length).append(").</p>\n");
        }
        if (jdk.inContainer()) {
            h.append("<p class=\"note\" id=\"container\">Container memory limit (")
                    .append(JdkMemory.CONTAINER_CONFIGURATION).append("): ")
                    .append(jdk.containerLimit() > 0 ? esc(bytes(jdk.containerLimit())) : "no limit").append(".</p>\n");
        }
        if (pm.isEmpty()) {
            h.append("<p class=\"empty\">No hz3.ProcessMemory events in this recording: no breakdown of RSS.</p>\n");
        } else {
            ProcessMemorySample last = pm.get(pm.size() - 1);
            h.append("<p class=\"note\">Last sample of ").append(pm.size()).append(", at ")
                    .append(esc(offset(m, last.timeNanos()))).append(". Java heap, thread stacks, ")
                    .append(m.onGlibc() ? "" : "hz3, ").append("file mappings and other mappings add up to RSS; ")
                    .append("the JVM's own accounts (other JVM memory, direct buffers) overlap them.</p>\n")
                    .append("<table id=\"process\">\n<tr><th>Part</th><th class=\"num\">Bytes</th></tr>\n");
            Cells row = new Cells(h, ProcessMemory.TYPE, "last");
            String[][] parts = {{ProcessMemory.RSS, "RSS"}, {ProcessMemory.JAVA_HEAP, "Java heap"},
                    {ProcessMemory.THREAD_STACKS, "Thread stacks"}, {ProcessMemory.HZ3, "hz3"},
                    {ProcessMemory.FILE_MAPPINGS, "File mappings"}, {ProcessMemory.OTHER_MAPPINGS, "Other mappings"},
                    {ProcessMemory.JVM_OTHER, "Other JVM memory (JVM's account)"},
                    {ProcessMemory.DIRECT_BUFFERS, "Direct buffers (JVM's account)"},
                    {ProcessMemory.CGROUP_USAGE, "Cgroup usage"}, {ProcessMemory.CGROUP_LIMIT, "Cgroup limit"}};
            for (String[] p : parts) {
                if (m.onGlibc() && p[0].equals(ProcessMemory.HZ3)) {
                    continue;
                }
                h.append("<tr><td>").append(esc(p[1])).append("</td>");
                if (p[0].equals(ProcessMemory.CGROUP_LIMIT) && last.cgroupLimit() == 0) {
                    // The agent writes 0 when the cgroup sets no limit (memory.max "max").
                    row.shown(p[0], 0, "no limit");
                } else {
                    row.bytes(p[0], processValue(last, p[0]));
                }
                h.append("</tr>\n");
            }
            h.append("</table>\n");
        }
        h.append("<div class=\"charts\" id=\"chart-process\"></div>\n");
    }

    private static void nmt(StringBuilder h, ReportModel m) {
        if (m.jdk().nmtCommitted().isEmpty() && m.jdk().nmtByType().isEmpty()) {
            return;
        }
        h.append("<h2>JVM native memory (NMT)</h2>\n<p class=\"note\">Committed bytes by the JVM's Native Memory ")
                .append("Tracking (").append(JdkMemory.NATIVE_MEMORY_USAGE_TOTAL).append(", and ")
                .append(JdkMemory.NATIVE_MEMORY_USAGE).append(" for the ").append(JdkMemory.NMT_TYPES)
                .append(" largest categories): the JVM's own account, which overlaps the parts above.</p>\n")
                .append("<div class=\"charts\" id=\"chart-nmt\"></div>\n");
    }

    private static void glibc(StringBuilder h, ReportModel m) {
        List<GlibcSample> gl = m.recording().glibc();
        if (gl.isEmpty()) {
            return;
        }
        GlibcSample last = gl.get(gl.size() - 1);
        h.append("<h2>glibc heap</h2>\n<p class=\"note\">This JVM ran on glibc's malloc. Last sample, at ")
                .append(esc(offset(m, last.timeNanos()))).append(".</p>\n")
                .append("<table id=\"glibc\">\n<tr><th>Measure</th><th class=\"num\">Value</th></tr>\n");
        Cells row = new Cells(h, GlibcHeap.TYPE, "last");
        h.append("<tr><td>Arenas</td>");
        row.count(GlibcHeap.ARENAS, last.arenas());
        String[][] parts = {{GlibcHeap.ARENA_BYTES, "Arena bytes"}, {GlibcHeap.IN_USE_BYTES, "In use"},
                {GlibcHeap.FREE_BYTES, "Free (kept)"}, {GlibcHeap.FREE_IN_BINS_BYTES, "Free in bins"},
                {GlibcHeap.TOP_BYTES, "Top pad"}, {GlibcHeap.MMAPPED_BYTES, "Mmapped chunks"},
                {GlibcHeap.SYSTEM_BYTES, "System bytes"}};
        long[] values = {last.arenaBytes(), last.inUseBytes(), last.freeBytes(), last.freeInBinsBytes(),
                last.topBytes(), last.mmappedBytes(), last.systemBytes()};
        h.append("</tr>\n");
        for (int i = 0; i < parts.length; i++) {
            h.append("<tr><td>").append(esc(parts[i][1])).append("</td>");
            row.bytes(parts[i][0], values[i]);
            h.append("</tr>\n");
        }
        h.append("</table>\n<div class=\"charts\" id=\"chart-glibc\"></div>\n");
    }

    static long processValue(ProcessMemorySample p, String field) {
        return switch (field) {
        case ProcessMemory.RSS -> p.rss();
        case ProcessMemory.JAVA_HEAP -> p.javaHeap();
        case ProcessMemory.THREAD_STACKS -> p.threadStacks();
        case ProcessMemory.HZ3 -> p.hz3();
        case ProcessMemory.FILE_MAPPINGS -> p.fileMappings();
        case ProcessMemory.OTHER_MAPPINGS -> p.otherMappings();
        case ProcessMemory.JVM_OTHER -> p.jvmOther();
        case ProcessMemory.DIRECT_BUFFERS -> p.directBuffers();
        case ProcessMemory.CGROUP_USAGE -> p.cgroupUsage();
        case ProcessMemory.CGROUP_LIMIT -> p.cgroupLimit();
        default -> throw new IllegalArgumentException(field);
        };
    }

    // ---- table cells with their provenance

    private static final class Cells {
        private final StringBuilder h;
        private final String event;
        private final String key;

        Cells(StringBuilder h, String event, String key) {
            this.h = h;
            this.event = event;
            this.key = key;
        }

        private StringBuilder open(String field, String value, String cls) {
            return h.append("<td class=\"").append(cls).append("\" data-event=\"").append(esc(event))
                    .append("\" data-field=\"").append(esc(field)).append("\" data-key=\"").append(esc(key))
                    .append("\" data-value=\"").append(esc(value)).append('"');
        }

        /** A byte field whose value reads as words: the exact value stays in data-value and title. */
        void shown(String field, long v, String words) {
            open(field, Long.toString(v), "num").append(" title=\"").append(count(v)).append(" bytes\">")
                    .append(esc(words)).append("</td>");
        }

        void count(String field, long v) {
            open(field, Long.toString(v), "num").append('>').append(count(v)).append("</td>");
        }

        void bytes(String field, long v) {
            open(field, Long.toString(v), "num").append(" title=\"").append(count(v)).append(" bytes\">")
                    .append(esc(bytes(v))).append("</td>");
        }

        void percent(String field, double v) {
            open(field, Double.toString(v), "num").append('>').append(esc(percent(v))).append("</td>");
        }

        void text(String field, String v) {
            open(field, v, "text").append('>').append(esc(v)).append("</td>");
        }

        private static String count(long v) {
            return HtmlReport.count(v);
        }

        private static String bytes(long v) {
            return HtmlReport.bytes(v);
        }

        private static String percent(double v) {
            return HtmlReport.percent(v);
        }
    }

    // ---- formatting

    static String count(long v) {
        return String.format(Locale.ROOT, "%,d", v);
    }

    /** Binary units, one decimal: "48.9 MiB"; plain bytes below 1 KiB. */
    static String bytes(long v) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        double d = v;
        int i = 0;
        while (Math.abs(d) >= 1024 && i < units.length - 1) {
            d /= 1024;
            i++;
        }
        return i == 0 ? v + " B" : String.format(Locale.ROOT, "%.1f %s", d, units[i]);
    }

    static String percent(double fraction) {
        return String.format(Locale.ROOT, "%.1f %%", fraction * 100);
    }

    static String seconds(long millis) {
        return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }

    static long millis(long nanos) {
        return Math.floorDiv(nanos, 1_000_000L);
    }

    private static String utc(long millis) {
        return DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT)
                .format(Instant.ofEpochMilli(millis).atOffset(ZoneOffset.UTC));
    }

    private static String offset(ReportModel m, long nanos) {
        return "+" + seconds(millis(nanos) - m.startMillis());
    }

    static String severityName(Severity s) {
        return s == Severity.NA ? "N/A" : s.name();
    }

    static String score(IResult r) {
        Object q = r.getResult(TypedResult.SCORE);
        if (q instanceof org.openjdk.jmc.common.unit.IQuantity iq) {
            return String.format(Locale.ROOT, "%.0f", iq.doubleValue());
        }
        return "";
    }

    private static String solution(IResult r) {
        String s = r.getSolution();
        return s == null || s.isEmpty() ? "" : "\n\nWhat to do: " + s;
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }

    static String esc(String s) {
        return Html.escape(s);
    }

    private static String resource(String name) {
        try (InputStream in = HtmlReport.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
