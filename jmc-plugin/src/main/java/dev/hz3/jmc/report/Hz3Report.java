package dev.hz3.jmc.report;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.flightrecorder.JfrLoaderToolkit;
import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.Severity;

import dev.hz3.jmc.census.Census;
import dev.hz3.jmc.census.ProcessMemorySample;
import dev.hz3.jmc.census.TierCensus;

/**
 * {@code bin/hz3-report REC.jfr [OUT.html]}: reads a recording with JMC's parser, runs the hz3
 * rules, writes one self-contained HTML page (default: REC with .html for .jfr) and prints a short
 * summary for terminals and CI. Exit status 0 when the report was written, 1 when the recording
 * cannot be read or the page cannot be written (one line on stderr, no stack trace unless
 * HZ3_REPORT_DEBUG is set), 2 for bad arguments (writing the page over the recording among them).
 * A recording whose last chunk is cut off (copied while the JVM was writing it) is reported from its
 * complete chunks, with one line on stderr and a note on the page saying so, and exit status 0.
 *
 * <p>Any file may be handed to it, so reading is bounded: {@link ChunkCheck} checks the chunk
 * structure before the parser sees a byte; the parser, the rules and the page run on a worker
 * thread with a deadline (30 s and 1 s per MiB of recording, or HZ3_REPORT_TIMEOUT seconds);
 * running out of memory is one line like any other failure (bin/hz3-report fixes the heap with
 * -Xmx). JMC's parser does not stop when interrupted: after the deadline {@link #main} exits with
 * the line while the worker is still running. Text from the recording reaches the terminal only
 * through {@link Terminal#printable}.
 */
public final class Hz3Report {

    static final String USAGE = "usage: hz3-report REC.jfr [OUT.html]";

    /** The deadline: a base for starting up and the rules, plus a floor on the parser's speed. */
    static final long TIMEOUT_BASE_SECONDS = 30;
    static final long TIMEOUT_BYTES_PER_SECOND = 1 << 20;

    /** Held so that JMC's parser warnings (JDK 21+ field 'virtual') stay quiet. */
    private static final Logger JMC_LOGGER = Logger.getLogger("org.openjdk.jmc");

    private Hz3Report() {
    }

    public static void main(String[] args) {
        // A thread of JMC's parser that dies must not print a stack trace: the one line is ours.
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> debug(e, System.err));
        int code = run(args, System.out, System.err);
        System.out.flush();
        System.err.flush();
        // exit, not return: after the deadline the parser's threads may still be running.
        System.exit(code);
    }

    /** A failure that is one line on stderr and this exit status. */
    static final class Refusal extends Exception {
        private static final long serialVersionUID = 1L;
        final int code;

        Refusal(int code, String line) {
            super(line);
            this.code = code;
        }
    }

    /** What the worker thread makes of a recording: the model and its page. */
    private record Report(ReportModel model, String html) {
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
                throw new Refusal(1, rec + ": no such file");
            }
            checkOutput(rec, html);
            Report report;
            String note;
            try (FileChannel ch = FileChannel.open(rec, StandardOpenOption.READ)) {
                ChunkCheck.Chunks chunks;
                try {
                    chunks = ChunkCheck.check(ch);
                } catch (ChunkCheck.BadChunkException e) {
                    throw new Refusal(1, rec + ": not a JFR recording that can be read (" + e.getMessage() + ")");
                }
                note = chunks.cutOff() ? chunks.note() : "";
                report = readWithDeadline(rec, ch, chunks.readable(), note, timeoutSeconds(chunks.readable()));
            }
            write(html, report.html());
            if (!note.isEmpty()) {
                // Once the report is written: a run that fails has its one line, and only that.
                err.println(Terminal.printable("hz3-report: " + rec + ": " + note));
            }
            printSummary(report.model(), rec, html, out);
            return 0;
        } catch (Refusal e) {
            err.println(Terminal.printable("hz3-report: " + e.getMessage()));
            debug(e.getCause() == null ? e : e.getCause(), err);
            return e.code;
        } catch (IOException | RuntimeException | OutOfMemoryError e) {
            err.println(Terminal.printable("hz3-report: " + oneLine(e)));
            debug(e, err);
            return 1;
        }
    }

    /**
     * Refuses an output that is the recording itself (the same path, a symbolic or a hard link to
     * it: exit 2), a symbolic link (never written through), or not a regular file. Writes nothing.
     */
    static void checkOutput(Path rec, Path html) throws Refusal, IOException {
        if (Files.exists(html) && Files.isSameFile(rec, html)) {
            throw new Refusal(2, html + " is the recording " + rec + " itself: not writing the report over it");
        }
        if (Files.isSymbolicLink(html)) {
            throw new Refusal(1, html + " is a symbolic link: not writing the report through it");
        }
        if (Files.exists(html, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(html, LinkOption.NOFOLLOW_LINKS)) {
            throw new Refusal(1, html + " exists and is not a regular file");
        }
    }

    /**
     * Writes the page to a new file in html's directory and renames it to html: a reader sees the
     * old page or the new one, a symbolic link planted at html is replaced rather than followed,
     * and no file is ever truncated in place.
     */
    static void write(Path html, String page) throws IOException {
        Path dir = html.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp;
        try {
            tmp = Files.createTempFile(dir, "." + html.getFileName() + ".", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--")));
        } catch (UnsupportedOperationException e) {
            tmp = Files.createTempFile(dir, "." + html.getFileName() + ".", ".tmp");
        }
        try {
            Files.writeString(tmp, page, StandardCharsets.UTF_8);
            Files.move(tmp, html.toAbsolutePath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (FileAlreadyExistsException e) {
            throw new IOException(html + " exists and cannot be replaced", e);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** HZ3_REPORT_TIMEOUT seconds when set, else the base and a second per MiB. */
    static long timeoutSeconds(long fileSize) {
        String env = System.getenv("HZ3_REPORT_TIMEOUT");
        if (env != null && env.matches("[0-9]{1,6}") && Long.parseLong(env) > 0) {
            return Long.parseLong(env);
        }
        return TIMEOUT_BASE_SECONDS + fileSize / TIMEOUT_BYTES_PER_SECOND;
    }

    /**
     * Parses the first size bytes of ch (the complete chunks ChunkCheck passed: a last chunk that is
     * cut off is left out, which note says), runs the rules and renders the page on a daemon worker
     * thread, waiting at most timeoutSeconds for it.
     */
    private static Report readWithDeadline(Path rec, FileChannel ch, long size, String note, long timeoutSeconds)
            throws Refusal {
        return withDeadline(rec, () -> {
            JMC_LOGGER.setLevel(Level.OFF);
            IItemCollection items = JfrLoaderToolkit.loadEvents(
                    new Limited(Channels.newInputStream(ch), size));
            ReportModel model = ReportModel.of(rec.getFileName().toString(), items, note);
            return new Report(model, HtmlReport.render(model));
        }, timeoutSeconds);
    }

    /**
     * work's result, computed on a daemon thread; a Refusal (one line, exit 1) when it takes more
     * than timeoutSeconds, runs out of memory or fails. The thread is left running after a
     * timeout (interrupted, which JMC's parser does not heed): {@link #main} exits anyway.
     */
    static <T> T withDeadline(Path rec, Callable<T> work, long timeoutSeconds) throws Refusal {
        FutureTask<T> task = new FutureTask<>(work);
        Thread worker = new Thread(task, "hz3-report-reader");
        worker.setDaemon(true);
        worker.start();
        try {
            return task.get(timeoutSeconds, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            task.cancel(true);
            throw new Refusal(1, rec + ": reading it took more than " + timeoutSeconds
                    + " s (a damaged recording, or a very large one: HZ3_REPORT_TIMEOUT=SECONDS allows more)");
        } catch (InterruptedException e) {
            task.cancel(true);
            Thread.currentThread().interrupt();
            throw new Refusal(1, rec + ": interrupted while reading it");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            Refusal r;
            if (cause instanceof OutOfMemoryError) {
                r = new Refusal(1, rec + ": reading it needed more than the report's "
                        + Format.bytes(Runtime.getRuntime().maxMemory())
                        + " of memory (a damaged recording, or a very large one: HZ3_REPORT_HEAP=4g allows more)");
            } else {
                r = new Refusal(1, rec + ": not a JFR recording that can be read (" + oneLine(cause) + ")");
            }
            r.initCause(cause);
            throw r;
        }
    }

    /** At most limit bytes of in: the parser never reads past the chunks that were checked. */
    private static final class Limited extends FilterInputStream {
        private long left;

        Limited(InputStream in, long limit) {
            super(in);
            this.left = limit;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            int b = super.read();
            if (b >= 0) {
                left--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int n = super.read(b, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long s = super.skip(Math.min(n, left));
            left -= s;
            return s;
        }

        @Override
        public int available() throws IOException {
            return (int) Math.min(super.available(), left);
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }

    static Path defaultOutput(Path rec) {
        String name = rec.getFileName().toString();
        String base = name.toLowerCase(Locale.ROOT).endsWith(".jfr") ? name.substring(0, name.length() - 4) : name;
        return rec.resolveSibling(base + ".html");
    }

    /**
     * A few lines a person or a CI log can read without opening the page; every line through
     * {@link Terminal#printable}, since most of what they say comes from the recording.
     */
    static void printSummary(ReportModel m, Path rec, Path html, PrintStream out) {
        line(out, "hz3-report: " + rec);
        StringBuilder meta = new StringBuilder("  ");
        meta.append(Format.seconds(Math.max(0, m.endMillis() - m.startMillis()))).append(" recorded");
        if (!m.jvmVersion().isEmpty()) {
            meta.append(", ").append(m.jvmVersion());
        }
        if (!m.recording().allocator().malloc().isEmpty()) {
            meta.append(", malloc ").append(m.recording().allocator().malloc()).append(' ')
                    .append(m.recording().allocator().mallocVersion());
        }
        if (!m.onGlibc()) {
            meta.append(", ").append(m.recording().censuses().size()).append(" hz3 snapshots");
            String note = m.recording().consistencyNote();
            if (!note.isEmpty()) {
                meta.append(" (").append(note).append(')');
            }
        }
        line(out, meta.toString());
        Optional<Census> c = m.tableCensus();
        if (c.isPresent()) {
            line(out, String.format(Locale.ROOT, "  snapshot %d (+%s, most partial pages):", c.get().seqLast(),
                    Format.seconds(Format.millis(c.get().timeNanos()) - m.startMillis())));
            line(out, String.format(Locale.ROOT, "    %-7s %12s %12s %8s %12s %11s", "tier", "resident", "partial",
                    "<=25%", "candidates", "resident"));
            for (TierCensus t : c.get().tiers()) {
                if (t.residentPages() == 0) {
                    continue;
                }
                line(out, String.format(Locale.ROOT, "    %-7s %12s %12s %8s %12s %11s", t.tier(),
                        Format.count(t.residentPages()),
                        Format.count(t.pagesPartial()), t.pagesPartial() == 0 ? "-"
                                : String.format(Locale.ROOT, "%.0f%%", t.lowOccupancyShare() * 100),
                        Format.count(t.candDecommitPages()), Format.bytes(t.residentBytes())));
            }
        }
        List<ProcessMemorySample> pm = m.recording().processMemory();
        if (!pm.isEmpty()) {
            ProcessMemorySample p = pm.get(pm.size() - 1);
            line(out, String.format(Locale.ROOT, "  RSS %s: Java heap %s, %sstacks %s, files %s, other %s",
                    Format.bytes(p.rss()), Format.bytes(p.javaHeap()),
                    m.onGlibc() ? "" : "hz3 " + Format.bytes(p.hz3()) + ", ",
                    Format.bytes(p.threadStacks()), Format.bytes(p.fileMappings()),
                    Format.bytes(p.otherMappings())));
        }
        for (IResult r : m.results()) {
            if (m.onGlibc() && r.getSeverity() == Severity.NA) {
                continue; // the rules that read hz3's census: the page leaves them out too
            }
            line(out, String.format(Locale.ROOT, "  %-8s %s: %s", Format.severityName(r.getSeverity()),
                    r.getRule().getName(), r.getSummary() == null ? "" : r.getSummary()));
        }
        line(out, "  report: " + html);
    }

    private static void line(PrintStream out, String s) {
        out.println(Terminal.printable(s));
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
