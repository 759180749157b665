package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import dev.hz3.samples.ChildProcess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The one command-line convention of every entry point (README, "Command lines"): --help prints
 * the usage on stdout with exit 0; a usage error is a line and the usage on stderr with exit 2,
 * and nothing is built, started or overwritten. "Nothing started" is seen through a java and
 * an mvn of the test's own, first on the way, that log every call before running the real java
 * (mvn: refusing to build); "nothing overwritten" through the demo's output files, kept in a
 * directory of the test's (HZ3_DEMO_OUT).
 */
class CommandLineTest {

    private static final Path REAL_JAVA = Path.of(System.getProperty("java.home"), "bin/java");
    private static Path dir;
    private static Path fakeJdk;
    private static Path fakeBin;
    private static Path calls;
    private static Path demoOut;

    /** A JDK whose java logs each call to calls.txt, and an mvn that logs and fails. */
    @BeforeAll
    static void tools() throws IOException {
        dir = ChildProcess.dir("agent-tests", "command-line");
        calls = dir.resolve("calls.txt");
        fakeJdk = Files.createDirectories(dir.resolve("jdk/bin")).getParent();
        fakeBin = Files.createDirectories(dir.resolve("bin"));
        script(fakeJdk.resolve("bin/java"),
                "echo \"java $*\" >> '" + calls + "'\nexec '" + REAL_JAVA + "' \"$@\"");
        script(fakeBin.resolve("mvn"), "echo \"mvn $*\" >> '" + calls + "'\nexit 1");
        demoOut = Files.createDirectories(dir.resolve("demo"));
    }

    private static void script(Path p, String body) throws IOException {
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private record Run(int exit, String out, String err, List<String> calls) {
    }

    /**
     * Runs cmd with the logging java (JAVA_HOME) and mvn (first on PATH); to its end. Not through
     * ChildProcess: that gives a java or hz3-java command the test tmpdir as its first argument,
     * and the argument lists here are what is under test.
     */
    private static Run run(String name, List<String> cmd) throws Exception {
        Files.deleteIfExists(calls);
        Path out = dir.resolve(name + ".out");
        Path err = dir.resolve(name + ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().keySet().removeIf(k -> k.equals("LD_PRELOAD") || k.startsWith("HZ3_")
                || k.endsWith("JAVA_OPTIONS"));
        pb.environment().putAll(Map.of("JAVA_HOME", fakeJdk.toString(),
                "PATH", fakeBin + ":" + System.getenv("PATH"), "HZ3_DEMO_OUT", demoOut.toString()));
        Process p = pb.start();
        p.getOutputStream().close();
        if (!p.waitFor(ChildProcess.TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError(String.join(" ", cmd) + ": still running, killed");
        }
        List<String> made = Files.exists(calls) ? Files.readAllLines(calls) : List.of();
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8), made);
    }

    private static String bin(String name) {
        return ChildProcess.ROOT.resolve("bin").resolve(name).toString();
    }

    /** --help: the usage on stdout (starting with first), nothing on stderr, exit 0. */
    private static Run help(String name, String first, String... cmd) throws Exception {
        Run r = run(name, List.of(cmd));
        assertEquals(0, r.exit(), () -> name + ": " + r);
        assertTrue(r.out().startsWith(first), () -> name + ": " + r);
        assertEquals("", r.err(), () -> name + ": " + r);
        return r;
    }

    /** A usage error: line first on stderr, then the usage; nothing on stdout; exit 2. */
    private static Run usageError(String name, String line, String... cmd) throws Exception {
        Run r = run(name, List.of(cmd));
        assertEquals(2, r.exit(), () -> name + ": " + r);
        assertEquals("", r.out(), () -> name + ": " + r);
        assertTrue(r.err().startsWith(line + "\n"), () -> name + ": " + r);
        return r;
    }

    private static void nothingStarted(Run r) {
        assertEquals(List.of(), r.calls(), () -> "no java or mvn expected: " + r);
    }

    @Test
    void demo() throws Exception {
        Path jfr = Files.writeString(demoOut.resolve("hz3-demo.jfr"), "last recording");
        Path html = Files.writeString(demoOut.resolve("hz3-demo.html"), "last report");

        nothingStarted(help("demo-help", "usage: bin/hz3-demo", bin("hz3-demo"), "--help"));
        nothingStarted(help("demo-h", "usage: bin/hz3-demo", bin("hz3-demo"), "-h"));
        nothingStarted(usageError("demo-sample", "hz3-demo: unknown sample 'Fragmnet': expected"
                + " Churn, Fragment, Steady, NativeLeak or NativeCache (then its arguments)",
                bin("hz3-demo"), "Fragmnet"));
        nothingStarted(usageError("demo-option", "hz3-demo: unknown option '--seconds'",
                bin("hz3-demo"), "--seconds", "3"));

        // The sample's own help and errors come from the sample, in one plain JVM: no hz3, no
        // agent, no recording.
        for (Run r : List.of(
                help("demo-sample-help", "usage: Fragment ", bin("hz3-demo"), "Fragment", "--help"),
                usageError("demo-sample-bad", "Churn: unknown argument '--frob' (see --help)",
                        bin("hz3-demo"), "Churn", "--seconds", "1", "--frob"),
                help("demo-leak-help", "usage: NativeLeak ", bin("hz3-demo"), "NativeLeak", "--help"),
                usageError("demo-cache-bad", "NativeCache: --rounds does not apply here (see --help)",
                        bin("hz3-demo"), "NativeCache", "--rounds", "3"))) {
            assertEquals(1, r.calls().size(), r::toString);
            assertTrue(r.calls().get(0).matches("java -cp \\S+ dev\\.hz3\\.samples\\.\\w+ --check-args .*"),
                    r::toString);
        }
        assertEquals("last recording", Files.readString(jfr));
        assertEquals("last report", Files.readString(html));
        assertEquals(2, Files.list(demoOut).count());
    }

    @Test
    void java() throws Exception {
        nothingStarted(help("java-help", "usage: bin/hz3-java", bin("hz3-java"), "--help"));
        nothingStarted(usageError("java-none", "hz3-java: nothing to run (java's arguments, e.g."
                + " -jar app.jar)", bin("hz3-java")));
        // After --, --help is java's own.
        Run r = run("java-java-help", List.of(bin("hz3-java"), "--", "--help"));
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.out().contains("Usage: java [options]"), r::toString);
        assertEquals(1, r.calls().stream().filter(c -> c.startsWith("java ")
                && c.contains("-javaagent:") && c.endsWith(" --help")).count(), r::toString);
    }

    @Test
    void report() throws Exception {
        nothingStarted(help("report-help", "usage: bin/hz3-report", bin("hz3-report"), "--help"));
        nothingStarted(usageError("report-none", "hz3-report: no recording named", bin("hz3-report")));
        nothingStarted(usageError("report-option", "hz3-report: unknown option '-o'",
                bin("hz3-report"), "-o", "x.html"));
        nothingStarted(usageError("report-three", "hz3-report: expected a recording and at most an"
                + " output file, got 3 arguments", bin("hz3-report"), "a.jfr", "b.html", "c"));
    }

    @Test
    void setupAndTest() throws Exception {
        nothingStarted(help("setup-help", "setup: what the build and the tests need",
                bin("setup"), "--help"));
        nothingStarted(usageError("setup-bad", "setup: unknown argument '--frob'", bin("setup"), "--frob"));
        nothingStarted(help("test-help", "hz3-test: every test", bin("hz3-test"), "--help"));
    }

    /** The samples, started by hand with java. */
    @Test
    void samples() throws Exception {
        String java = fakeJdk.resolve("bin/java").toString();
        String cp = ChildProcess.sampleClasses().toString();
        help("sample-help", "usage: Steady ", java, "-cp", cp, "dev.hz3.samples.Steady", "--help");
        help("workout-help", "usage: NativeWorkout ", java, "-cp", cp, "dev.hz3.samples.NativeWorkout",
                "-h");
        usageError("sample-bad", "Steady: --size must be in 1..65536, got 0 (see --help)", java, "-cp", cp,
                "dev.hz3.samples.Steady", "--size", "0");
        // NativeLeak and NativeCache run for a time: --rounds is refused, not taken as 1 tick.
        usageError("leak-rounds", "NativeLeak: --rounds does not apply here (see --help)", java, "-cp",
                cp, "dev.hz3.samples.NativeLeak", "--rounds", "3");
        usageError("leak-threads", "NativeLeak: --threads does not apply here (see --help)", java, "-cp",
                cp, "dev.hz3.samples.NativeLeak", "--threads", "2");
        help("cache-help", "usage: NativeCache ", java, "-cp", cp, "dev.hz3.samples.NativeCache", "-h");
    }

    /** java -jar hz3-agent.jar: its commands, their help and usage errors. */
    @Test
    void agentJar() throws Exception {
        String java = fakeJdk.resolve("bin/java").toString();
        String jar = ChildProcess.AGENT_JAR.toString();
        String usage = "usage: java -jar hz3-agent.jar COMMAND\n";
        List<Run> runs = new ArrayList<>();
        runs.add(usageError("agent-none", "hz3-agent: no command", java, "-jar", jar));
        runs.add(usageError("agent-unknown", "hz3-agent: unknown command 'frob'", java, "-jar", jar, "frob"));
        runs.add(usageError("agent-jfc-extra", "hz3-agent jfc: takes no arguments, got 'x'",
                java, "-jar", jar, "jfc", "x"));
        for (Run r : runs) {
            assertTrue(r.err().contains("\n" + usage), r::toString);
        }
        runs.add(help("agent-help", usage, java, "-jar", jar, "--help"));
        runs.add(help("agent-help-word", usage, java, "-jar", jar, "help"));
        runs.add(help("agent-run-help", "usage: java -jar hz3-agent.jar run ", java, "-jar", jar,
                "run", "--help"));
        runs.add(help("agent-run-opts-help", "usage: java -jar hz3-agent.jar run ", java, "-jar", jar,
                "run", "--help", "--", "-version"));
        runs.add(help("agent-attach-help", "usage: java -jar hz3-agent.jar attach ", java, "-jar", jar,
                "attach", "--help"));
        runs.add(usageError("agent-run-none", "hz3-agent run: nothing to run (JAVA-ARGS such as -jar"
                + " app.jar)", java, "-jar", jar, "run"));
        runs.add(usageError("agent-run-option", "hz3-agent run: unknown option 'frob=1': known options"
                + " are period, top, scanBudget, purgeDelay, epochInterval, record, jfc, log, attribution,"
                + " sampleBytes, sites, nativeMethods, maxage, maxsize, dump, metrics",
                java, "-jar", jar, "run", "frob=1", "--", "-version"));
        runs.add(usageError("agent-attach-none", "hz3-agent attach: no process id", java, "-jar", jar,
                "attach"));
        runs.add(usageError("agent-attach-pid", "hz3-agent attach: expected a process id, got 'me'",
                java, "-jar", jar, "attach", "me"));
        // Each ran in the one JVM of the command itself: no java started for the program.
        for (Run r : runs) {
            assertEquals(1, r.calls().size(), r::toString);
            assertFalse(r.out().contains("Usage: java [options]") || r.err().contains("openjdk version"),
                    r::toString);
        }
    }
}
