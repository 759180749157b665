package dev.hz3.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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

    private static final long TIMEOUT_SECONDS = 300;

    private static final List<String> KINDS = List.of("unsafe-24", "unsafe-1000", "unsafe-5000",
            "unsafe-70000", "unsafe-3000000", "inflater", "deflater");
    private static final Pattern ADDR = Pattern.compile(
            "^ADDR kind=(\\S+) addr=0x[0-9a-f]+ hz3=(yes|no) maps=(yes|no) owns=(\\S+)$",
            Pattern.MULTILINE);

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void workloadRunsWithHz3AsMalloc(Path javaHome) throws Exception {
        assertTrue(Files.isRegularFile(ChildProcess.LIBHZ3), "libhz3.so is missing at " + ChildProcess.LIBHZ3
                + ": build it with `make -C native-hz3` (mvn verify from the repository root"
                + " does, in the native-hz3 module)");

        ChildProcess run = runWorkout(javaHome, "hz3-" + javaHome.getFileName(),
                Map.of("LD_PRELOAD", ChildProcess.LIBHZ3.toString(), "HZ3_OBS", "1"));

        assertEquals(0, run.exit(), () -> "the workload failed under hz3\n" + run);
        assertJavaHome(javaHome, run);
        assertTrue(run.out().contains("CHILD sh exit=0 out=\"child-ok\""),
                () -> "the /bin/sh child did not print child-ok\n" + run);
        assertTrue(run.out().contains("CHILD java-version exit=0 out="),
                () -> "the java -version child failed\n" + run);
        assertTrue(run.out().contains("HZ3 loaded=true "),
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
        assertTrue(run.err().lines().anyMatch(l -> l.startsWith("[HZ3_")),
                () -> "HZ3_OBS=1 but no [HZ3_ report on stderr\n" + run);
    }

    /** Without the preload the same program finds no hz3 and no block in it. */
    @Test
    void withoutPreloadNothingIsInHz3() throws Exception {
        Path javaHome = Path.of(System.getProperty("java.home"));
        ChildProcess run = runWorkout(javaHome, "no-preload", Map.of());

        assertEquals(0, run.exit(), () -> "the workload failed without hz3\n" + run);
        assertTrue(run.out().contains("HZ3 loaded=false "),
                () -> "hz3 found without preload\n" + run);
        List<String[]> addrs = addrLines(run);
        assertEquals(KINDS, addrs.stream().map(a -> a[0]).toList(),
                () -> "expected one ADDR line per kind\n" + run);
        for (String[] a : addrs) {
            assertEquals("no", a[1], () -> a[0] + ": in hz3 without preload?\n" + run);
        }
        assertFalse(run.err().contains("[HZ3_"), () -> "an hz3 report without preload?\n" + run);
    }

    /** Runs NativeWorkout --verify in a fresh JVM; env is added to a copy without hz3 settings. */
    private static ChildProcess runWorkout(Path javaHome, String name, Map<String, String> env)
            throws IOException, InterruptedException {
        ChildProcess c = ChildProcess.start(name, ChildProcess.BASEDIR.resolve("target/jvm-under-hz3"), List.of(
                ChildProcess.java(javaHome),
                "-Xmx256m",
                "--add-opens", "java.base/java.util.zip=ALL-UNNAMED",
                "--enable-native-access=ALL-UNNAMED",
                "-cp", ChildProcess.classpath(ChildProcess.sampleClasses(), Path.of(jnaJar())),
                NativeWorkout.class.getName(),
                "--verify", "--threads", "4", "--rounds", "200"), env);
        c.closeStdin();
        c.waitFor(TIMEOUT_SECONDS);
        return c;
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
    private static List<String[]> addrLines(ChildProcess run) {
        List<String[]> lines = new ArrayList<>();
        Matcher m = ADDR.matcher(run.out());
        while (m.find()) {
            lines.add(new String[] {m.group(1), m.group(2), m.group(3), m.group(4)});
        }
        return lines;
    }

    /** The child really ran on the JDK it was meant to. */
    private static void assertJavaHome(Path javaHome, ChildProcess run) throws IOException {
        Matcher m = Pattern.compile("java\\.home=(\\S+)").matcher(run.out());
        assertTrue(m.find(), () -> "no java.home in the header\n" + run);
        assertEquals(javaHome.toRealPath(), Path.of(m.group(1)).toRealPath(),
                () -> "the child ran on another JDK\n" + run);
    }
}
