package dev.hz3.samples.metrics;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A child process of the metrics tests (a JVM under the agent, or the Prometheus server): its
 * output goes to files in its own directory under target/metrics-tests/, which the test reads
 * when it waits for a line. The environment is the test's less anything hz3 or agent related,
 * plus env. Closing it kills what is still running.
 */
final class ChildJvm implements AutoCloseable {

    static final Path BASEDIR =
            Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
    static final Path ROOT = BASEDIR.getParent();
    static final Path LIBHZ3 = ROOT.resolve("native-hz3/target/lib/libhz3.so");
    static final Path AGENT_JAR = ROOT.resolve("agent/target/hz3-agent.jar");
    /** The samples' classes: tests run before Maven packages the module's jar. */
    static final Path SAMPLES_CLASSES = BASEDIR.resolve("target/classes");
    static final Path TMP = Path.of(System.getProperty("java.io.tmpdir"));
    static final long TIMEOUT_SECONDS = 120;

    final String name;
    final Path dir;
    private final Process process;

    private ChildJvm(String name, Path dir, Process process) {
        this.name = name;
        this.dir = dir;
        this.process = process;
    }

    /** A directory of its own for a test's files, emptied first. */
    static Path dir(String test) throws IOException {
        Path d = BASEDIR.resolve("target/metrics-tests").resolve(test);
        if (Files.exists(d)) {
            try (var s = Files.walk(d)) {
                s.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
            }
        }
        return Files.createDirectories(d);
    }

    static ChildJvm start(String name, Path testDir, List<String> command, Map<String, String> env)
            throws IOException {
        dev.hz3.samples.ChildTmpFiles.removeAtExit();
        if (command.get(0).endsWith("/bin/java")
                && command.stream().noneMatch(a -> a.startsWith("-Djava.io.tmpdir="))) {
            // Its JFR repository and the agent's files go to the tests' directory, not /tmp.
            command = new ArrayList<>(command);
            command.add(1, "-Djava.io.tmpdir=" + TMP);
        }
        Path d = Files.createDirectories(testDir.resolve(name));
        Files.write(d.resolve("command.txt"), List.of(String.join(" ", command)));
        ProcessBuilder pb = new ProcessBuilder(command).directory(d.toFile())
                .redirectOutput(d.resolve("stdout.txt").toFile())
                .redirectError(d.resolve("stderr.txt").toFile());
        pb.environment().keySet().removeIf(k -> k.equals("LD_PRELOAD") || k.startsWith("HZ3_")
                || k.equals("JAVA_TOOL_OPTIONS") || k.equals("JDK_JAVA_OPTIONS")
                || k.equals("_JAVA_OPTIONS"));
        pb.environment().putAll(env);
        return new ChildJvm(name, d, pb.start());
    }

    /** java with the agent (options), under hz3 when hz3 is true, running mainClass args. */
    static ChildJvm java(String name, Path testDir, boolean hz3, String agentOptions, String classpath,
            String mainClass, String... args) throws IOException {
        return java(name, testDir, hz3, agentOptions, List.of(), classpath, mainClass, args);
    }

    /** The same with more JVM options (jvmOptions) before the main class. */
    static ChildJvm java(String name, Path testDir, boolean hz3, String agentOptions, List<String> jvmOptions,
            String classpath, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xmx128m", "-Djava.io.tmpdir=" + TMP, "--enable-native-access=ALL-UNNAMED",
                "-javaagent:" + AGENT_JAR + "=" + agentOptions));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", classpath, mainClass));
        cmd.addAll(List.of(args));
        return start(name, testDir, cmd, hz3 ? Map.of("LD_PRELOAD", LIBHZ3.toString()) : Map.of());
    }

    /**
     * Removes the agent's private directories (hz3-agent-UID) that the child JVMs made in the
     * tests' temporary directory (their java.io.tmpdir); called once they have all ended.
     */
    static void removeAgentDirs() throws IOException {
        try (var dirs = Files.newDirectoryStream(TMP, "hz3-agent-*")) {
            for (Path d : dirs) {
                try (var s = Files.walk(d)) {
                    s.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    /** A port free on the loopback now (the agent or server about to listen on it takes it). */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    String err() throws IOException {
        return Files.readString(dir.resolve("stderr.txt"));
    }

    String out() throws IOException {
        return Files.readString(dir.resolve("stdout.txt"));
    }

    /** Waits (polling its output files, deadline TIMEOUT_SECONDS) until stderr or stdout has text. */
    void awaitOutput(String text) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        while (!err().contains(text) && !out().contains(text)) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                fail(name + ": no '" + text + "' in its output" + (process.isAlive() ? "" : " (it ended)")
                        + "\n" + this);
            }
            process.waitFor(100, TimeUnit.MILLISECONDS);
        }
    }

    void send(String line) throws IOException {
        process.getOutputStream().write((line + "\n").getBytes());
        process.getOutputStream().flush();
    }

    /** Waits for the end (killing it after the time-out); its exit status. */
    int waitFor() throws InterruptedException {
        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            fail(name + " still running after " + TIMEOUT_SECONDS + " s, killed\n" + this);
        }
        return process.exitValue();
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    /** SIGTERM and wait (a server's orderly stop). */
    void terminate() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly().waitFor();
        }
    }

    @Override
    public String toString() {
        try {
            return name + " in " + dir + "\n--- stdout ---\n" + out() + "--- stderr ---\n" + err();
        } catch (IOException e) {
            return name + " in " + dir;
        }
    }
}
