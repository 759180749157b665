package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarFile;
import dev.hz3.samples.ChildProcess;
import jdk.jfr.consumer.RecordedEvent;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An application that ships its own, older JNA (5.13.0), and one that also points
 * jna.boot.library.path at that JNA's libjnidispatch, each beside the agent (JNA 5.19.1): both
 * sides report their own Native.VERSION, make native calls, and the agent's listener callbacks
 * (hz3.Epoch) work.
 */
class JnaClashTest {

    static final Path APP_JNA = ChildProcess.BASEDIR.resolve("target/app-jna/jna-5.13.0.jar");

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void appJnaBesideTheAgent(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "jna-clash-" + javaHome.getFileName());
        check(javaHome, dir, "classpath", List.of());

        // The application loads its libjnidispatch from its own directory.
        Path lib = Files.createDirectories(dir.resolve("app-native"));
        try (JarFile jar = new JarFile(APP_JNA.toFile());
                InputStream in = jar.getInputStream(
                        jar.getEntry("com/sun/jna/linux-x86-64/libjnidispatch.so"))) {
            Files.copy(in, lib.resolve("libjnidispatch.so"));
        }
        check(javaHome, dir, "boot-path", List.of("-Djna.boot.library.path=" + lib,
                "-Djna.nosys=false"));
    }

    private static void check(Path javaHome, Path dir, String name, List<String> props)
            throws Exception {
        Path jfr = dir.resolve(name + ".jfr");
        List<String> cmd = new ArrayList<>(List.of(ChildProcess.java(javaHome), "-Xmx256m",
                "--enable-native-access=ALL-UNNAMED", "-javaagent:" + ChildProcess.AGENT_JAR,
                "-XX:StartFlightRecording:filename=" + jfr + ",settings=" + ChildProcess.HZ3_JFC));
        cmd.addAll(props);
        cmd.addAll(List.of("-cp", ChildProcess.classpath(ChildProcess.testClasses(), APP_JNA),
                JnaApp.class.getName()));
        ChildProcess c = ChildProcess.run(name, dir, cmd, ChildProcess.UNDER_HZ3);
        assertEquals(0, c.exit(), c::toString);
        assertTrue(c.out().contains("APP JNA 5.13.0 native 6.1.6 getpid_ok=true"), c::toString);
        assertTrue(c.out().contains("agent listener thread seen=true"), c::toString);
        assertTrue(c.err().contains("hz3 events on (JNA 5.19.1 (native 7.0.4, 64-bit))"), c::toString);
        assertFalse(c.err().contains("incompatible"), c::toString);
        if (!props.isEmpty()) {
            assertTrue(c.out().contains("jna.boot.library.path=" + dir.resolve("app-native")),
                    "the application's property is left as it set it\n" + c);
        }
        List<RecordedEvent> all = Recordings.read(jfr);
        assertFalse(Recordings.of(all, "hz3.Epoch").isEmpty(), "the agent's callbacks worked");
        assertEquals("5.19.1", Recordings.of(all, "hz3.AllocatorInfo").get(0).getString("jnaVersion"));
    }
}
