package dev.hz3.jmc.report;

import static dev.hz3.jmc.report.Format.esc;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Writes the report as one HTML page with everything inline: CSS, the data as JSON ({@link ReportData}) in
 * {@code <script type="application/json" id="hz3-report-data">}, uPlot (the charting library, from
 * its webjar on the class path, with its license) and the script that draws the charts with it.
 * Tables are written by the sections (findings, call sites, hz3's heap, the process), not by the
 * script, so they read without it; every number in them says where it came from ({@link Cells}).
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
        FindingsSection.html(h, m);
        SitesSection.html(h, m);
        if (!m.onGlibc()) {
            HeapSection.html(h, m);
        }
        ProcessSection.html(h, m);
        h.append("</main>\n<script type=\"application/json\" id=\"").append(DATA_ID).append("\">")
                .append(Json.write(ReportData.of(m))).append("</script>\n<script>\n").append(UPlot.NOTICE)
                .append(UPlot.js()).append("\n</script>\n<script>\n").append(resource("report.js"))
                .append("</script>\n</body>\n</html>\n");
        return h.toString();
    }

    private static void header(StringBuilder h, ReportModel m) {
        h.append("<header>\n<h1>").append(m.onGlibc() ? "Native memory report" : "hz3 native heap report")
                .append("</h1>\n<div class=\"meta\">").append(esc(m.fileName()));
        if (m.endMillis() > m.startMillis()) {
            h.append(" &middot; ").append(esc(Format.utc(m.startMillis()))).append(" to ")
                    .append(esc(Format.utc(m.endMillis()))).append(" (")
                    .append(esc(Format.seconds(m.endMillis() - m.startMillis()))).append(')');
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
