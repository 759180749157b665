package dev.hz3.samples;

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
 * A child process of a test (a JVM, under hz3 and the agent or not; or a tool such as jcmd or
 * the Prometheus server), started in a directory of its own under target/: its command goes to
 * command.txt, its stdout and stderr are read as they come into memory and into stdout.txt and
 * stderr.txt, so that a test waits for a line instead of sleeping. Its environment is the test's
 * less anything hz3 or agent related, plus what the test gives. A java or bin/hz3-java command
 * gets the tests' temporary directory (target/test-tmp) as its java.io.tmpdir, in a first
 * argument of its own ({@link #withTestTmp}), and what the child JVMs leave there is removed
 * ({@link ChildTmpFiles}). Every wait has a deadline; closing it kills what is still running.
 */
public final class ChildProcess implements AutoCloseable {

    public static final Path BASEDIR =
            Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
    public static final Path ROOT = BASEDIR.getParent();
    public static final Path LIBHZ3 = ROOT.resolve("native-hz3/target/lib/libhz3.so");
    public static final Path AGENT_JAR = ROOT.resolve("agent/target/hz3-agent.jar");
    public static final Path HZ3_JFC = ROOT.resolve("agent/target/hz3.jfc");
    public static final Path HZ3_JAVA = ROOT.resolve("bin/hz3-java");
    public static final Path TEMURIN_25 = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64");
    /** The environment that makes hz3 the child's malloc. */
    public static final Map<String, String> UNDER_HZ3 = Map.of("LD_PRELOAD", LIBHZ3.toString());
    public static final long TIMEOUT_SECONDS = 180;
    /** The tests' temporary directory (target/test-tmp): the child JVMs' too. */
    public static final Path TMP = ChildTmpFiles.TMP;

    public final String name;
    public final List<String> command;
    public final Path dir;
    private final Process process;
    /** Guards out and err; told of every line read and of each stream's end. */
    private final Object output = new Object();
    private final StringBuilder out = new StringBuilder();
    private final StringBuilder err = new StringBuilder();
    private int streamsEnded;
    private final PrintWriter stdin;

    private ChildProcess(String name, List<String> command, Path dir, Process p) throws IOException {
        this.name = name;
        this.command = command;
        this.dir = dir;
        this.process = p;
        this.stdin = new PrintWriter(p.getOutputStream(), true, StandardCharsets.UTF_8);
        pump(p.getInputStream(), out, dir.resolve("stdout.txt"));
        pump(p.getErrorStream(), err, dir.resolve("stderr.txt"));
    }

    /** For {@code @MethodSource(ChildProcess.JDKS)}: a test run on each of {@link #jdks()}. */
    public static final String JDKS = "dev.hz3.samples.ChildProcess#jdks";

    /** Each JDK to test on: the one running the tests, and Temurin 25 when installed. */
    public static List<Path> jdks() throws IOException {
        List<Path> homes = new ArrayList<>();
        Path current = Path.of(System.getProperty("java.home")).toRealPath();
        homes.add(current);
        if (Files.isExecutable(TEMURIN_25.resolve("bin/java"))
                && !TEMURIN_25.toRealPath().equals(current)) {
            homes.add(TEMURIN_25);
        }
        return homes;
    }

    /** The feature release of a JDK (17, 21, 25), from its release file. */
    public static int feature(Path javaHome) throws IOException {
        for (String l : Files.readAllLines(javaHome.resolve("release"))) {
            Matcher m = Pattern.compile("^JAVA_VERSION=\"(\\d+)").matcher(l);
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
        }
        throw new IOException("no JAVA_VERSION in " + javaHome.resolve("release"));
    }

    /** A directory of its own for one test's files, target/GROUP/NAME, emptied first. */
    public static Path dir(String group, String name) throws IOException {
        Path d = BASEDIR.resolve("target").resolve(group).resolve(name);
        if (Files.exists(d)) {
            ChildTmpFiles.deleteTree(d);
        }
        return Files.createDirectories(d);
    }

    /** Starts command in dir/name/ with env added to the test's environment less hz3's settings. */
    public static ChildProcess start(String name, Path dir, List<String> command, Map<String, String> env)
            throws IOException {
        command = withTestTmp(command);
        Path d = Files.createDirectories(dir.resolve(name));
        Files.write(d.resolve("command.txt"), List.of(String.join(" ", command)));
        ProcessBuilder pb = new ProcessBuilder(command).directory(d.toFile());
        pb.environment().keySet().removeIf(k -> k.equals("LD_PRELOAD") || k.startsWith("HZ3_")
                || k.equals("JAVA_TOOL_OPTIONS") || k.equals("JDK_JAVA_OPTIONS")
                || k.equals("_JAVA_OPTIONS"));
        pb.environment().putAll(env);
        return new ChildProcess(name, command, d, pb.start());
    }

    /** Runs to the end with stdin closed. */
    public static ChildProcess run(String name, Path dir, List<String> command, Map<String, String> env)
            throws IOException, InterruptedException {
        ChildProcess c = start(name, dir, command, env);
        c.closeStdin();
        c.waitFor();
        return c;
    }

    /**
     * The running JDK's java with the agent (agentOptions), under hz3 when hz3 is true, running
     * mainClass args from classpath.
     */
    public static ChildProcess startWithAgent(String name, Path dir, boolean hz3, String agentOptions,
            String classpath, String mainClass, String... args) throws IOException {
        return startWithAgent(name, dir, hz3, agentOptions, List.of(), classpath, mainClass, args);
    }

    /** The same with jvmOptions before the main class. */
    public static ChildProcess startWithAgent(String name, Path dir, boolean hz3, String agentOptions,
            List<String> jvmOptions, String classpath, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(java(Path.of(System.getProperty("java.home"))),
                "-Xmx128m", "--enable-native-access=ALL-UNNAMED",
                "-javaagent:" + AGENT_JAR + "=" + agentOptions));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", classpath, mainClass));
        cmd.addAll(List.of(args));
        return start(name, dir, cmd, hz3 ? UNDER_HZ3 : Map.of());
    }

    private void pump(InputStream in, StringBuilder into, Path file) throws IOException {
        Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
                    w) {
                String line;
                while ((line = r.readLine()) != null) {
                    w.write(line);
                    w.write('\n');
                    w.flush();
                    synchronized (output) {
                        into.append(line).append('\n');
                        output.notifyAll();
                    }
                }
            } catch (IOException e) {
                // the child is gone
            } finally {
                synchronized (output) {
                    streamsEnded++;
                    output.notifyAll();
                }
            }
        }, "child-pump-" + name);
        t.setDaemon(true);
        t.start();
    }

    /** Waits until stdout has a line matching regex; returns the match. */
    public Matcher awaitOut(String regex) throws InterruptedException {
        return await(regex, out);
    }

    /** Waits until stderr has a line matching regex; returns the match. */
    public Matcher awaitErr(String regex) throws InterruptedException {
        return await(regex, err);
    }

    /** Waits until stdout or stderr has text. */
    public void awaitOutput(String text) throws InterruptedException {
        await(Pattern.quote(text), out, err);
    }

    /**
     * Fails at the deadline, or once the child ended and its output is read to the end (a
     * grandchild holding the pipes gets a few seconds more).
     */
    private Matcher await(String regex, StringBuilder... in) throws InterruptedException {
        Pattern p = Pattern.compile(regex, Pattern.MULTILINE);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        long drained = Long.MAX_VALUE;
        synchronized (output) {
            while (true) {
                for (StringBuilder sb : in) {
                    Matcher m = p.matcher(sb);
                    if (m.find()) {
                        return m;
                    }
                }
                long now = System.nanoTime();
                if (!process.isAlive() && drained == Long.MAX_VALUE) {
                    drained = now + TimeUnit.SECONDS.toNanos(5);
                }
                if (streamsEnded == 2 || now >= Math.min(deadline, drained)) {
                    fail("no line matching /" + regex + "/ from " + name
                            + (process.isAlive() ? "" : " (it ended)") + "\n" + this);
                }
                output.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(Math.min(deadline, drained) - now)));
            }
        }
    }

    public void send(String line) {
        stdin.println(line);
    }

    public void closeStdin() {
        stdin.close();
    }

    public long pid() {
        return process.pid();
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** Waits for the end (killing it after TIMEOUT_SECONDS) and for its output to be read. */
    public int waitFor() throws InterruptedException {
        return waitFor(TIMEOUT_SECONDS);
    }

    /** The same with a deadline of its own. */
    public int waitFor(long timeoutSeconds) throws InterruptedException {
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            fail(name + " still running after " + timeoutSeconds + " s, killed\n" + this);
        }
        // stdout and stderr reach their end once the process is gone (unless a grandchild
        // holds them): wait for the pumps to see it.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        synchronized (output) {
            long left;
            while (streamsEnded < 2 && (left = deadline - System.nanoTime()) > 0) {
                output.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
        return process.exitValue();
    }

    public int exit() {
        return process.exitValue();
    }

    public String out() {
        synchronized (output) {
            return out.toString();
        }
    }

    public String err() {
        synchronized (output) {
            return err.toString();
        }
    }

    /** SIGTERM and wait (a server's orderly stop); killed if still running after 30 s. */
    public void terminate() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            try {
                process.destroyForcibly().waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return name + " in " + dir + "\ncommand: " + String.join(" ", command) + "\nexit: "
                + (process.isAlive() ? "(running)" : process.exitValue())
                + "\n--- stdout ---\n" + out() + "--- stderr ---\n" + err();
    }

    /**
     * A java command (java, or bin/hz3-java, which passes its arguments on) with the tests'
     * temporary directory as its java.io.tmpdir (unless it sets one), so that what the JVM keeps
     * there (its JFR repository, the agent's private directory) is inside the build, not in /tmp;
     * so does the JVM that {@code java -jar hz3-agent.jar run -- ARGS} starts. Other commands
     * (setpriv, jcmd, jfr) as they are.
     */
    static List<String> withTestTmp(List<String> command) {
        ChildTmpFiles.removeAtExit();
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

    /** The java binary of a JDK. */
    public static String java(Path javaHome) {
        return javaHome.resolve("bin/java").toString();
    }

    public static String classpath(Path... entries) {
        List<String> s = new ArrayList<>();
        for (Path e : entries) {
            s.add(e.toString());
        }
        return String.join(File.pathSeparator, s);
    }

    /** This module's test classes (the test programs). */
    public static Path testClasses() {
        return BASEDIR.resolve("target/test-classes");
    }

    /** The samples' classes: tests run before Maven packages the module's jar. */
    public static Path sampleClasses() {
        return BASEDIR.resolve("target/classes");
    }
}
