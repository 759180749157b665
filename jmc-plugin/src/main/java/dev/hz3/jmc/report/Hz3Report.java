package dev.hz3.jmc.report;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.flightrecorder.JfrLoaderToolkit;
import org.openjdk.jmc.flightrecorder.rules.IResult;

import dev.hz3.jmc.census.Census;
import dev.hz3.jmc.census.ProcessMemorySample;
import dev.hz3.jmc.census.TierCensus;

/**
 * {@code bin/hz3-report REC.jfr [OUT.html]}: reads a recording with JMC's parser, runs the hz3
 * rules, writes one self-contained HTML page (default: REC with .html for .jfr) and prints a short
 * summary for terminals and CI. Exit status 0 when the report was written, 1 when the recording
 * cannot be read or the page cannot be written (one line on stderr, no stack trace unless
 * HZ3_REPORT_DEBUG is set), 2 for bad arguments.
 */
public final class Hz3Report {

    static final String USAGE = "usage: hz3-report REC.jfr [OUT.html]";

    /** Held so that JMC's parser warnings (JDK 21+ field 'virtual') stay quiet. */
    private static final Logger JMC_LOGGER = Logger.getLogger("org.openjdk.jmc");

    private Hz3Report() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length < 1 || args.length > 2 || args[0].startsWith("-")) {
            if (args.length == 1 && (args[0].equals("-h") || args[0].equals("--help"))) {
                out.println(USAGE);
                return 0;
            }
            err.println(USAGE);
            return 2;
        }
        Path rec = Path.of(args[0]);
        Path html = args.length == 2 ? Path.of(args[1]) : defaultOutput(rec);
        try {
            if (!Files.isRegularFile(rec)) {
                err.println("hz3-report: " + rec + ": no such file");
                return 1;
            }
            JMC_LOGGER.setLevel(Level.OFF);
            IItemCollection items;
            try {
                items = JfrLoaderToolkit.loadEvents(rec.toFile());
            } catch (Exception | LinkageError | OutOfMemoryError e) {
                err.println("hz3-report: " + rec + ": not a JFR recording that can be read (" + oneLine(e) + ")");
                debug(e, err);
                return 1;
            }
            ReportModel model = ReportModel.of(rec.getFileName().toString(), items);
            Path parent = html.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(html, HtmlReport.render(model), StandardCharsets.UTF_8);
            printSummary(model, rec, html, out);
            return 0;
        } catch (IOException | RuntimeException e) {
            err.println("hz3-report: " + oneLine(e));
            debug(e, err);
            return 1;
        }
    }

    static Path defaultOutput(Path rec) {
        String name = rec.getFileName().toString();
        String base = name.toLowerCase(Locale.ROOT).endsWith(".jfr") ? name.substring(0, name.length() - 4) : name;
        return rec.resolveSibling(base + ".html");
    }

    /** A few lines a person or a CI log can read without opening the page. */
    static void printSummary(ReportModel m, Path rec, Path html, PrintStream out) {
        out.println("hz3-report: " + rec);
        StringBuilder meta = new StringBuilder("  ");
        meta.append(HtmlReport.seconds(Math.max(0, m.endMillis() - m.startMillis()))).append(" recorded");
        if (!m.jvmVersion().isEmpty()) {
            meta.append(", ").append(m.jvmVersion());
        }
        if (!m.recording().allocator().malloc().isEmpty()) {
            meta.append(", malloc ").append(m.recording().allocator().malloc()).append(' ')
                    .append(m.recording().allocator().mallocVersion());
        }
        meta.append(", ").append(m.recording().censuses().size()).append(" hz3 snapshots");
        String note = m.recording().consistencyNote();
        if (!note.isEmpty()) {
            meta.append(" (").append(note).append(')');
        }
        out.println(meta);
        Optional<Census> c = m.tableCensus();
        if (c.isPresent()) {
            out.printf(Locale.ROOT, "  snapshot %d (+%s, most partial pages):%n", c.get().seqLast(),
                    HtmlReport.seconds(HtmlReport.millis(c.get().timeNanos()) - m.startMillis()));
            out.printf(Locale.ROOT, "    %-7s %12s %12s %8s %12s %11s%n", "tier", "resident", "partial", "<=25%",
                    "candidates", "resident");
            for (TierCensus t : c.get().tiers()) {
                if (t.residentPages() == 0) {
                    continue;
                }
                out.printf(Locale.ROOT, "    %-7s %12s %12s %8s %12s %11s%n", t.tier(), HtmlReport.count(t.residentPages()),
                        HtmlReport.count(t.pagesPartial()), t.pagesPartial() == 0 ? "-"
                                : String.format(Locale.ROOT, "%.0f%%", t.lowOccupancyShare() * 100),
                        HtmlReport.count(t.candDecommitPages()), HtmlReport.bytes(t.residentBytes()));
            }
        }
        List<ProcessMemorySample> pm = m.recording().processMemory();
        if (!pm.isEmpty()) {
            ProcessMemorySample p = pm.get(pm.size() - 1);
            out.printf(Locale.ROOT, "  RSS %s: Java heap %s, hz3 %s, stacks %s, files %s, other %s%n",
                    HtmlReport.bytes(p.rss()), HtmlReport.bytes(p.javaHeap()), HtmlReport.bytes(p.hz3()),
                    HtmlReport.bytes(p.threadStacks()), HtmlReport.bytes(p.fileMappings()),
                    HtmlReport.bytes(p.otherMappings()));
        }
        for (IResult r : m.results()) {
            out.printf(Locale.ROOT, "  %-8s %s: %s%n", HtmlReport.severityName(r.getSeverity()), r.getRule().getName(),
                    r.getSummary() == null ? "" : r.getSummary());
        }
        out.println("  report: " + html);
    }

    private static String oneLine(Throwable e) {
        String msg = e.getMessage();
        String text = e.getClass().getSimpleName() + (msg == null || msg.isBlank() ? "" : ": " + msg);
        return text.replaceAll("\\s+", " ").trim();
    }

    private static void debug(Throwable e, PrintStream err) {
        if (System.getenv("HZ3_REPORT_DEBUG") != null) {
            e.printStackTrace(err);
        }
    }
}
