package dev.hz3.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Starts a real JVM with libhz3.so as its malloc and checks that it runs a malloc-heavy
 * workload, and that its native blocks (Unsafe memory, zlib streams) are hz3's.
 *
 * <p>Each JDK found is tried: the one running this test and Temurin 25 when installed. A
 * negative control runs the same program without the preload. Every child writes its stdout,
 * stderr (and any hs_err file) to target/jvm-under-hz3/NAME/.
 */
class JvmUnderHz3Test {

    private static final Path BASEDIR =
            Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
    private static final Path LIBHZ3 =
            BASEDIR.resolve("../native-hz3/target/lib/libhz3.so").normalize();
    private static final Path TEMURIN_25 = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64");
    private static final long TIMEOUT_SECONDS = 300;

    private static final List<String> KINDS = List.of("unsafe-24", "unsafe-1000", "unsafe-5000",
            "unsafe-70000", "unsafe-3000000", "inflater", "deflater");
    private static final Pattern ADDR = Pattern.compile(
            "^ADDR kind=(\\S+) addr=0x[0-9a-f]+ hz3=(yes|no) maps=(yes|no) owns=(\\S+)$",
            Pattern.MULTILINE);

    static Stream<Path> jdks() throws IOException {
        List<Path> homes = new ArrayList<>();
        Path current = Path.of(System.getProperty("java.home")).toRealPath();
        homes.add(current);
        if (Files.isExecutable(TEMURIN_25.resolve("bin/java"))
                && !TEMURIN_25.toRealPath().equals(current)) {
            homes.add(TEMURIN_25);
        }
        return homes.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("jdks")
    void workloadRunsWithHz3AsMalloc(Path javaHome) throws Exception {
        assertTrue(Files.isRegularFile(LIBHZ3), "libhz3.so is missing at " + LIBHZ3
                + ": build it with `make -C native-hz3` (mvn verify from the repository root"
                + " does, in the native-hz3 module)");

        Run run = runWorkout(javaHome, "hz3-" + javaHome.getFileName(),
                Map.of("LD_PRELOAD", LIBHZ3.toString(), "HZ3_OBS", "1"));

        assertEquals(0, run.exit, () -> "the workload failed under hz3\n" + run);
        assertJavaHome(javaHome, run);
        assertTrue(run.out.contains("CHILD sh exit=0 out=\"child-ok\""),
                () -> "the /bin/sh child did not print child-ok\n" + run);
        assertTrue(run.out.contains("CHILD java-version exit=0 out="),
                () -> "the java -version child failed\n" + run);
        assertTrue(run.out.contains("HZ3 loaded=true "),
                () -> "hz3's symbols were not found in the preloaded JVM\n" + run);

        List<String[]> addrs = addrLines(run);
        assertEquals(KINDS, addrs.stream().map(a -> a[0]).toList(),
                () -> "expected one ADDR line per kind\n" + run);
        for (String[] a : addrs) {
            assertEquals("yes", a[1], () -> a[0] + ": block is not in any hz3 mapping\n" + run);
            assertEquals("yes", a[2],
                    () -> a[0] + ": its hz3 mapping is not covered by /proc/self/maps\n" + run);
            assertEquals("yes", a[3], () -> a[0] + ": hz3_owns() says no\n" + run);
        }
        assertTrue(run.err.lines().anyMatch(l -> l.startsWith("[HZ3_")),
                () -> "HZ3_OBS=1 but no [HZ3_ report on stderr\n" + run);
    }

    /** Without the preload the same program finds no hz3 and no block in it. */
    @Test
    void withoutPreloadNothingIsInHz3() throws Exception {
        Path javaHome = Path.of(System.getProperty("java.home"));
        Run run = runWorkout(javaHome, "no-preload", Map.of());

        assertEquals(0, run.exit, () -> "the workload failed without hz3\n" + run);
        assertTrue(run.out.contains("HZ3 loaded=false "),
                () -> "hz3 found without preload\n" + run);
        List<String[]> addrs = addrLines(run);
        assertEquals(KINDS, addrs.stream().map(a -> a[0]).toList(),
                () -> "expected one ADDR line per kind\n" + run);
        for (String[] a : addrs) {
            assertEquals("no", a[1], () -> a[0] + ": in hz3 without preload?\n" + run);
        }
        assertFalse(run.err.contains("[HZ3_"), () -> "an hz3 report without preload?\n" + run);
    }

    private record Run(List<String> command, int exit, String out, String err) {
        @Override
        public String toString() {
            return "command: " + String.join(" ", command) + "\nexit: " + exit
                    + "\n--- stdout ---\n" + out + "--- stderr ---\n" + err;
        }
    }

    /** Runs NativeWorkout --verify in a fresh JVM; env is added to a copy without hz3 settings. */
    private static Run runWorkout(Path javaHome, String name, Map<String, String> env)
            throws IOException, InterruptedException {
        Path dir = BASEDIR.resolve("target/jvm-under-hz3").resolve(name);
        Files.createDirectories(dir);
        File stdout = dir.resolve("stdout.txt").toFile();
        File stderr = dir.resolve("stderr.txt").toFile();
        List<String> command = List.of(
                javaHome.resolve("bin/java").toString(),
                "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"),
                "-Xmx256m",
                "--add-opens", "java.base/java.util.zip=ALL-UNNAMED",
                "--enable-native-access=ALL-UNNAMED",
                "-cp", BASEDIR.resolve("target/classes") + File.pathSeparator + jnaJar(),
                NativeWorkout.class.getName(),
                "--verify", "--threads", "4", "--rounds", "200");

        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(stdout)
                .redirectError(stderr);
        pb.environment().keySet().removeIf(k -> k.equals("LD_PRELOAD") || k.startsWith("HZ3_"));
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            fail("child JVM still running after " + TIMEOUT_SECONDS + " s, killed\n"
                    + new Run(command, -1, Files.readString(stdout.toPath()),
                            Files.readString(stderr.toPath())));
        }
        return new Run(command, p.exitValue(), Files.readString(stdout.toPath()),
                Files.readString(stderr.toPath()));
    }

    /** The JNA jar this test itself runs with. */
    private static String jnaJar() {
        String classPath = System.getProperty("java.class.path");
        return Arrays.stream(classPath.split(File.pathSeparator))
                .filter(e -> Path.of(e).getFileName().toString().matches("jna-\\d[^/]*\\.jar"))
                .findFirst()
                .orElseThrow(() -> new AssertionError(
                        "no jna-*.jar in java.class.path: " + classPath));
    }

    /** [kind, hz3, maps, owns] of each ADDR line, in order. */
    private static List<String[]> addrLines(Run run) {
        List<String[]> lines = new ArrayList<>();
        Matcher m = ADDR.matcher(run.out);
        while (m.find()) {
            lines.add(new String[] {m.group(1), m.group(2), m.group(3), m.group(4)});
        }
        return lines;
    }

    /** The child really ran on the JDK it was meant to. */
    private static void assertJavaHome(Path javaHome, Run run) throws IOException {
        Matcher m = Pattern.compile("java\\.home=(\\S+)").matcher(run.out);
        assertTrue(m.find(), () -> "no java.home in the header\n" + run);
        assertEquals(javaHome.toRealPath(), Path.of(m.group(1)).toRealPath(),
                () -> "the child ran on another JDK\n" + run);
    }
}
