package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import dev.hz3.samples.ChildProcess;
import org.junit.jupiter.api.Test;

/**
 * The agent's private directory keeps one copy of its jars per build: at start the agent removes
 * the copies no running JVM uses. Two builds (the agent jar with one more inner jar each) are run:
 * A's JVM keeps running, B's has ended; then the agent as built starts, and B's copy is gone
 * while A's stays and A's JVM goes on working.
 */
class PrivateDirCleanupTest {

    @Test
    void copiesNoRunningJvmUsesAreRemoved() throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "private-dir-cleanup");
        Path xdg = Files.createDirectory(dir.resolve("xdg"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path base = xdg.resolve("hz3-agent");
        Map<String, String> env = Map.of("XDG_RUNTIME_DIR", xdg.toString(),
                "LD_PRELOAD", ChildProcess.LIBHZ3.toString());
        Path agentA = variant(dir, "a");
        Path agentB = variant(dir, "b");

        try (ChildProcess a = ChildProcess.start("build-a", dir, target(agentA), env)) {
            a.awaitOut("^READY pid=\\d+$");
            ChildProcess b = ChildProcess.run("build-b", dir, target(agentB), env);
            assertEquals(0, b.exit(), b::toString);
            Path copyA = copyHolding(base, "variant-a.jar");
            Path copyB = copyHolding(base, "variant-b.jar");

            ChildProcess c = ChildProcess.run("as-built", dir, target(ChildProcess.AGENT_JAR), env);
            assertEquals(0, c.exit(), c::toString);
            assertFalse(c.err().contains("hz3-agent: not started"), c::toString);

            assertFalse(Files.exists(copyB), "B's copy, used by no running JVM, is removed: " + list(base));
            assertTrue(Files.isDirectory(copyA), "A's copy, in use, stays: " + list(base));
            try (Stream<Path> s = Files.list(copyA)) {
                assertTrue(s.anyMatch(p -> p.getFileName().toString().startsWith("hz3-agent-core")),
                        "A's jars stay: " + list(copyA));
            }
            assertEquals(2, list(base).size(), "A's copy and the new build's: " + list(base));

            a.send("work");
            a.awaitOut("^WORKED 1$");
            a.closeStdin();
            assertEquals(0, a.waitFor(), a::toString);
            assertTrue(a.out().contains("BYE"), a::toString);
            assertFalse(a.err().contains("hz3-agent: not started") || a.err().contains("Exception"),
                    a::toString);
        }
    }

    /** AttachTarget with the agent jar: READY, then "work" lines until stdin closes. */
    private static List<String> target(Path agentJar) {
        return List.of(ChildProcess.java(Path.of(System.getProperty("java.home"))), "-Xmx128m",
                "--enable-native-access=ALL-UNNAMED", "-javaagent:" + agentJar,
                "-cp", ChildProcess.testClasses().toString(), AttachTarget.class.getName());
    }

    /** The agent jar with one more inner jar: another build, so another private copy. */
    private static Path variant(Path dir, String name) throws IOException {
        Path out = dir.resolve("hz3-agent-" + name + ".jar");
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(ChildProcess.AGENT_JAR));
                ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(out))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null;) {
                z.putNextEntry(new ZipEntry(e.getName()));
                in.transferTo(z);
                z.closeEntry();
            }
            z.putNextEntry(new ZipEntry("META-INF/hz3/lib/variant-" + name + ".jar"));
            JarOutputStream empty = new JarOutputStream(z);   // a valid, empty jar
            empty.finish();
            z.closeEntry();
        }
        return out;
    }

    /** The build directory under base that holds the jar named so. */
    private static Path copyHolding(Path base, String jar) throws IOException {
        for (Path d : list(base)) {
            if (Files.exists(d.resolve(jar))) {
                return d;
            }
        }
        throw new AssertionError("no copy holds " + jar + ": " + list(base));
    }

    private static List<Path> list(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return new ArrayList<>(s.sorted().toList());
        }
    }
}
