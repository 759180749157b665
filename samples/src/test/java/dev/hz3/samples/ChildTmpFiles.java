package dev.hz3.samples;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The child JVMs of the tests get the tests' temporary directory (target/test-tmp) as their
 * java.io.tmpdir, and leave two kinds of things there that the build's emptiness check would
 * report: the agent's private directory (hz3-agent-UID, which every JVM leaves for the next one),
 * and the JFR repository (yyyy_MM_dd_HH_mm_ss_PID) of a JVM that a test killed, which had no
 * chance to delete it. Both are removed when the test JVM exits, after every child has ended.
 */
public final class ChildTmpFiles {

    public static final Path TMP = Path.of(System.getProperty("java.io.tmpdir"));
    private static final Pattern JFR_REPOSITORY = Pattern.compile("\\d{4}(_\\d\\d){5}_(\\d+)");
    private static boolean hooked;

    private ChildTmpFiles() {
    }

    /** Removes them at the test JVM's exit (once, however often called). */
    public static synchronized void removeAtExit() {
        if (!hooked) {
            hooked = true;
            Runtime.getRuntime().addShutdownHook(new Thread(ChildTmpFiles::remove, "remove-child-tmp-files"));
        }
    }

    /** Removes them now (a test whose children have all ended). */
    public static void remove() {
        try (Stream<Path> s = Files.list(TMP)) {
            for (Path p : s.toList()) {
                String name = p.getFileName().toString();
                Matcher m = JFR_REPOSITORY.matcher(name);
                boolean deadJvmsRepository = m.matches() && ProcessHandle.of(Long.parseLong(m.group(2)))
                        .map(h -> !h.isAlive()).orElse(true);
                if (name.startsWith("hz3-agent-") || deadJvmsRepository) {
                    deleteTree(p);
                }
            }
        } catch (IOException | UncheckedIOException e) {
            System.err.println("could not remove the child JVMs' files in " + TMP + ": " + e);
        }
    }

    static void deleteTree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
