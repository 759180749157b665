package dev.hz3.samples.agent;

import static dev.hz3.samples.agent.AgentAttachTest.attach;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import dev.hz3.samples.ChildProcess;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A JVM whose java.io.tmpdir is too deep for a Unix socket's path (108 bytes at most, and the
 * agent's private directory is under it) still gets its control socket, in /tmp/hz3-UID: an
 * attach reaches the loaded agent there instead of loading it again, so JDK 21 and later print
 * no "loaded dynamically" warning into the application's stderr.
 */
class ControlSocketTest {

    /** Deeper than any socket path may be, under the tests' temporary directory. */
    static final int DEPTH = 121;

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void attachReachesTheLoadedAgentWhateverTheTmpdir(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "control-deep-" + javaHome.getFileName());
        Path tmp = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath();
        Path top = tmp.resolve("control-deep-" + javaHome.getFileName());
        Path tmpdir = top;
        while (tmpdir.toString().length() < DEPTH) {
            tmpdir = tmpdir.resolve("d".repeat(Math.min(100, DEPTH - tmpdir.toString().length())));
        }
        Files.createDirectories(tmpdir);
        long uid = ((Number) Files.getAttribute(tmp, "unix:uid")).longValue();
        Path shortDir = Path.of("/tmp/hz3-" + uid);
        boolean hadShortDir = Files.exists(shortDir, LinkOption.NOFOLLOW_LINKS);
        Path record = dir.resolve("record.jfr");
        Path dump = dir.resolve("dump.jfr");
        Path socket;
        try {
            List<String> cmd = List.of(ChildProcess.java(javaHome), "-Xmx128m", "-Djava.io.tmpdir=" + tmpdir,
                    "--enable-native-access=ALL-UNNAMED", "-javaagent:" + ChildProcess.AGENT_JAR + "=record=" + record,
                    "-cp", ChildProcess.testClasses().toString(), AttachTarget.class.getName());
            // No XDG_RUNTIME_DIR: the private directory is under java.io.tmpdir.
            try (ChildProcess t = ChildProcess.start("target", dir, cmd, Map.of("XDG_RUNTIME_DIR", ""))) {
                t.awaitOut("^READY pid=\\d+$");
                t.awaitErr("^hz3-agent: recording to ");
                int mark = t.err().length();
                socket = controlSocket(javaHome, dir, t);
                assertEquals(shortDir.resolve("control-" + t.pid() + ".sock"), socket, t::toString);
                BasicFileAttributes a = Files.readAttributes(socket, BasicFileAttributes.class,
                        LinkOption.NOFOLLOW_LINKS);
                assertTrue(a.isOther(), socket + " is not a socket");
                assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
                        shortDir, LinkOption.NOFOLLOW_LINKS)));

                ChildProcess d = attach(javaHome, dir, t, "dump=" + dump);
                assertEquals(0, d.exit(), d::toString);
                assertTrue(d.out().contains("copied to " + dump), d::toString);
                assertTrue(Files.size(dump) > 0, dump + " is empty");
                AgentPictureTest.nothingFromAttaches(t, mark, "attach dump=");
                t.closeStdin();
                assertEquals(0, t.waitFor(), t::toString);
                assertFalse(t.err().contains("no control socket"), t::toString);
            }
            assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the socket is removed at exit");
        } finally {
            try (var s = Files.walk(top)) {
                s.sorted((x, y) -> y.compareTo(x)).forEach(p -> p.toFile().delete());
            }
            if (!hadShortDir) {
                try {
                    Files.deleteIfExists(shortDir);
                } catch (DirectoryNotEmptyException inUse) {
                    // another JVM of this user has its socket there now: it stays
                }
            }
        }
    }

    /** The target's hz3.agent.control property, read with jcmd (which loads no agent). */
    static Path controlSocket(Path javaHome, Path dir, ChildProcess t) throws Exception {
        ChildProcess props = ChildProcess.run("jcmd-properties", dir, List.of(javaHome.resolve("bin/jcmd").toString(),
                Long.toString(t.pid()), "VM.system_properties"), Map.of());
        assertEquals(0, props.exit(), props::toString);
        Matcher m = Pattern.compile("^hz3\\.agent\\.control=(.*)$", Pattern.MULTILINE).matcher(props.out());
        assertTrue(m.find(), () -> "the agent in the target has no control socket\n" + t + "\n" + props);
        return Path.of(m.group(1));
    }
}
