package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A child process of an agent test: its stdout and stderr are read as they come (kept in
 * memory and in target/agent-tests/NAME/), so a test can wait for a line instead of sleeping,
 * and write lines to its stdin. The environment is the test's, less anything hz3 or agent
 * related, plus env.
 */
final class Child implements AutoCloseable {

    static final Path BASEDIR =
            Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
    static final Path ROOT = BASEDIR.getParent();
    static final Path LIBHZ3 = ROOT.resolve("native-hz3/target/lib/libhz3.so");
    static final Path AGENT_JAR = ROOT.resolve("agent/target/hz3-agent.jar");
    static final Path HZ3_JFC = ROOT.resolve("agent/target/hz3.jfc");
    static final Path HZ3_JAVA = ROOT.resolve("bin/hz3-java");
    static final Path TEMURIN_25 = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64");
    static final long TIMEOUT_SECONDS = 180;
    /** The tests' temporary directory (target/test-tmp): the child JVMs' too. */
    static final Path TMP = Path.of(System.getProperty("java.io.tmpdir"));

    final String name;
    final List<String> command;
    final Path dir;
    private final Process process;
    private final StringBuilder out = new StringBuilder();
    private final StringBuilder err = new StringBuilder();
    private final PrintWriter stdin;

    private Child(String name, List<String> command, Path dir, Process p) throws IOException {
        this.name = name;
        this.command = command;
        this.dir = dir;
        this.process = p;
        this.stdin = new PrintWriter(p.getOutputStream(), true, StandardCharsets.UTF_8);
        pump(p.getInputStream(), out, dir.resolve("stdout.txt"));
        pump(p.getErrorStream(), err, dir.resolve("stderr.txt"));
    }

    /** Each JDK to test on: the one running the tests, and Temurin 25 when installed. */
    static List<Path> jdks() throws IOException {
        List<Path> homes = new ArrayList<>();
        Path current = Path.of(System.getProperty("java.home")).toRealPath();
        homes.add(current);
        if (Files.isExecutable(TEMURIN_25.resolve("bin/java"))
                && !TEMURIN_25.toRealPath().equals(current)) {
            homes.add(TEMURIN_25);
        }
        return homes;
    }

    static int feature(Path javaHome) throws IOException {
        for (String l : Files.readAllLines(javaHome.resolve("release"))) {
            Matcher m = Pattern.compile("^JAVA_VERSION=\"(\\d+)").matcher(l);
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
        }
        throw new IOException("no JAVA_VERSION in " + javaHome.resolve("release"));
    }

    /** A directory of its own for each test's files, emptied first. */
    static Path dir(String name) throws IOException {
        Path d = BASEDIR.resolve("target/agent-tests").resolve(name);
        if (Files.exists(d)) {
            try (var s = Files.walk(d)) {
                s.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
            }
        }
        return Files.createDirectories(d);
    }

    static Child start(String name, Path dir, List<String> command, Map<String, String> env)
            throws IOException {
        command = withTestTmp(command);
        Path d = Files.createDirectories(dir.resolve(name));
        Files.write(d.resolve("command.txt"), List.of(String.join(" ", command)));
        ProcessBuilder pb = new ProcessBuilder(command).directory(d.toFile());
        pb.environment().keySet().removeIf(k -> k.equals("LD_PRELOAD") || k.startsWith("HZ3_")
                || k.equals("JAVA_TOOL_OPTIONS") || k.equals("JDK_JAVA_OPTIONS")
                || k.equals("_JAVA_OPTIONS"));
        pb.environment().putAll(env);
        return new Child(name, command, d, pb.start());
    }

    /** Runs to the end with stdin closed. */
    static Child run(String name, Path dir, List<String> command, Map<String, String> env)
            throws IOException, InterruptedException {
        Child c = start(name, dir, command, env);
        c.closeStdin();
        c.waitFor();
        return c;
    }

    private static void pump(InputStream in, StringBuilder into, Path file) throws IOException {
        Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
                    w) {
                String line;
                while ((line = r.readLine()) != null) {
                    w.write(line);
                    w.write('\n');
                    w.flush();
                    synchronized (into) {
                        into.append(line).append('\n');
                        into.notifyAll();
                    }
                }
            } catch (IOException e) {
                // the child is gone
            }
        }, "child-pump");
        t.setDaemon(true);
        t.start();
    }

    /** Waits until stdout has a line matching regex; returns the match. */
    Matcher awaitOut(String regex) throws InterruptedException {
        return await(out, regex);
    }

    Matcher awaitErr(String regex) throws InterruptedException {
        return await(err, regex);
    }

    private Matcher await(StringBuilder sb, String regex) throws InterruptedException {
        Pattern p = Pattern.compile(regex, Pattern.MULTILINE);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        synchronized (sb) {
            while (true) {
                Matcher m = p.matcher(sb);
                if (m.find()) {
                    return m;
                }
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0 || (!process.isAlive() && !m.find())) {
                    sb.wait(200);   // the pump may still be draining the last lines
                    m = p.matcher(sb);
                    if (m.find()) {
                        return m;
                    }
                    fail("no line matching /" + regex + "/ from " + name + "\n" + this);
                }
                sb.wait(Math.min(left, 1000));
            }
        }
    }

    void send(String line) {
        stdin.println(line);
    }

    void closeStdin() {
        stdin.close();
    }

    long pid() {
        return process.pid();
    }

    /** Waits for the end (killing it after the time-out) and for its output to be read. */
    int waitFor() throws InterruptedException {
        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            fail(name + " still running after " + TIMEOUT_SECONDS + " s, killed\n" + this);
        }
        // stdout/stderr reach EOF once the process is gone; wait for the pumps to see it.
        for (StringBuilder sb : List.of(out, err)) {
            synchronized (sb) {
                sb.wait(50);
            }
        }
        return process.exitValue();
    }

    int exit() {
        return process.exitValue();
    }

    String out() {
        synchronized (out) {
            return out.toString();
        }
    }

    String err() {
        synchronized (err) {
            return err.toString();
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }

    @Override
    public String toString() {
        return "command: " + String.join(" ", command) + "\nexit: "
                + (process.isAlive() ? "(running)" : process.exitValue())
                + "\n--- stdout ---\n" + out() + "--- stderr ---\n" + err();
    }

    /** In the agent's start-up line when no recording is to come (how to get one). */
    static final String NO_RECORDING = "but no recording runs: add record=FILE.jfr to the agent's options";

    /** stderr's lines less the agent's start-up line about getting a recording. */
    static List<String> linesButHowToRecord(String stderr) {
        return stderr.lines().filter(l -> !l.contains(NO_RECORDING)).toList();
    }

    /**
     * A java command (java, or bin/hz3-java, which passes its arguments on) with the tests'
     * temporary directory as its java.io.tmpdir (unless it sets one), so that what the JVM keeps
     * there (its JFR repository, the agent's private directory) is inside the build, not in /tmp;
     * so does the JVM that {@code java -jar hz3-agent.jar run -- ARGS} starts. Other commands
     * (setpriv, jcmd, jfr) as they are.
     */
    static List<String> withTestTmp(List<String> command) {
        dev.hz3.samples.ChildTmpFiles.removeAtExit();
        if (command.isEmpty() || !(command.get(0).endsWith("/bin/java") || command.get(0).endsWith("/bin/hz3-java"))
                || command.stream().anyMatch(a -> a.startsWith("-Djava.io.tmpdir="))) {
            return command;
        }
        String tmpdir = "-Djava.io.tmpdir=" + TMP;
        List<String> c = new ArrayList<>(command);
        int run = c.indexOf("run");
        int jvmArgs = c.indexOf("--");
        if (c.contains("-jar") && run > 0 && jvmArgs > run) {
            c.add(jvmArgs + 1, tmpdir);
        }
        c.add(1, tmpdir);
        return c;
    }

    static String java(Path javaHome) {
        return javaHome.resolve("bin/java").toString();
    }

    static String classpath(Path... entries) {
        List<String> s = new ArrayList<>();
        for (Path e : entries) {
            s.add(e.toString());
        }
        return String.join(File.pathSeparator, s);
    }

    static Path testClasses() {
        return BASEDIR.resolve("target/test-classes");
    }

    static Path sampleClasses() {
        return BASEDIR.resolve("target/classes");
    }
}
