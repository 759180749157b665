package dev.hz3.samples.agent;

import static dev.hz3.samples.agent.AgentAttachTest.attach;
import static dev.hz3.samples.agent.AgentAttachTest.stillRuns;
import static dev.hz3.samples.agent.AgentAttachTest.target;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import dev.hz3.samples.ChildProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What the agent and its attach command say when something is wrong: every mistake is one true
 * line naming its cause, the exit status says what kind it was, and the JVM goes on.
 */
class AgentErrorsTest {

    private static final Path JAVA_HOME = Path.of(System.getProperty("java.home"));

    /** A bad record= or jfc= value, and the one line that must name it. */
    private record Bad(String option, String line) {
    }

    /** Each kind of record= and jfc= that cannot work, with its files made in dir. */
    private static List<Bad> badFiles(Path dir) throws IOException {
        Path d = dir.toRealPath();
        Path notXml = Files.writeString(d.resolve("not-xml.jfc"), "this is not XML\n");
        Path notJfc = Files.writeString(d.resolve("not-jfc.jfc"), "<settings><a/></settings>\n");
        return List.of(
                new Bad("record=/proc/version", "hz3-agent: bad option 'record=/proc/version': it is"
                        + " on a proc file system, where no recording can be written"),
                new Bad("record=/dev/full", "hz3-agent: bad option 'record=/dev/full': it is a"
                        + " character device, not a regular file"),
                new Bad("record=" + d, "hz3-agent: bad option 'record=" + d + "': it is a directory;"
                        + " name a file in it, e.g. record=" + d.resolve("app.jfr")),
                new Bad("record=" + d.resolve("missing/x.jfr"), "hz3-agent: bad option 'record="
                        + d.resolve("missing/x.jfr") + "': the directory '" + d.resolve("missing")
                        + "' does not exist"),
                new Bad("jfc=" + d.resolve("missing.jfc"), "hz3-agent: bad option 'jfc="
                        + d.resolve("missing.jfc") + "': it does not exist"),
                new Bad("jfc=" + notXml, "hz3-agent: bad option 'jfc=" + notXml + "': it is not a JFR"
                        + " settings file (not XML: line 1: Content is not allowed in prolog.)"),
                new Bad("jfc=" + notJfc, "hz3-agent: bad option 'jfc=" + notJfc + "': it is not a JFR"
                        + " settings file (its root element is <settings>, not <configuration>)"));
    }

    /** On attach: exit 2 and the one line; the target goes on and answers the next attach. */
    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void badRecordOrJfcOnAttach(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "errors-files-attach-" + javaHome.getFileName());
        try (ChildProcess t = target(javaHome, dir, "target", true)) {
            int worked = 0;
            for (Bad bad : badFiles(dir)) {
                ChildProcess a = attach(javaHome, dir, t, bad.option());
                assertEquals(2, a.exit(), a::toString);
                assertEquals("", a.err(), a::toString);
                List<String> said = a.out().lines().filter(l -> l.contains("bad option")).toList();
                assertEquals(List.of(bad.line()), said, a::toString);
                assertFalse(a.out().contains("recording to"), a::toString);
                stillRuns(t, ++worked);
            }
            ChildProcess again = attach(javaHome, dir, t, "top=4");
            assertEquals(0, again.exit(), again::toString);
            assertTrue(again.out().contains("options updated: top=4"), again::toString);
            assertTrue(again.out().contains("no recording is running"), again::toString);

            // A recording whose directory is removed while it runs: not written, and said so.
            Path gone = Files.createDirectories(dir.resolve("gone"));
            ChildProcess rec = attach(javaHome, dir, t, "record=" + gone.resolve("x.jfr"));
            assertEquals(0, rec.exit(), rec::toString);
            assertTrue(rec.out().contains("recording to " + gone.resolve("x.jfr")), rec::toString);
            deleteTree(gone);
            ChildProcess stop = attach(javaHome, dir, t, "stop");
            assertEquals(1, stop.exit(), stop::toString);
            assertTrue(stop.out().startsWith("hz3-agent: recording not written to "
                    + gone.resolve("x.jfr") + ": its directory '" + gone + "' is gone\n"), stop::toString);
            assertFalse(stop.out().contains("recording written"), stop::toString);
            stillRuns(t, ++worked);
            t.closeStdin();
            assertEquals(0, t.waitFor(), t::toString);
        }
    }

    /** At start-up (-javaagent): the one line, and the JVM runs to its end. */
    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void badRecordOrJfcAtStartup(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "errors-files-startup-" + javaHome.getFileName());
        int n = 0;
        for (Bad bad : badFiles(dir)) {
            ChildProcess c = ChildProcess.run("startup-" + ++n, dir, targetWith(javaHome,
                    "-javaagent:" + ChildProcess.AGENT_JAR + "=" + bad.option()), Map.of());
            assertEquals(0, c.exit(), c::toString);
            assertTrue(c.out().contains("BYE"), c::toString);
            assertEquals(List.of(bad.line()), AgentStartupTest.linesButHowToRecord(c.err()), c::toString);
        }
    }

    /** A value with a newline, or of 100,000 characters: one line, escaped and cut. */
    @Test
    void userInputIsQuotedAndCut() throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "errors-quoting");
        String forged = "top=1\nhz3-agent: hz3 events on";
        String huge = "top=" + "9".repeat(100_000);
        ChildProcess c = ChildProcess.run("startup", dir,
                targetWith(JAVA_HOME, "-javaagent:" + ChildProcess.AGENT_JAR + "=" + forged),
                Map.of("HZ3_AGENT_OPTIONS", huge));
        assertEquals(0, c.exit(), c::toString);
        List<String> lines = AgentStartupTest.linesButHowToRecord(c.err());
        assertEquals(2, lines.size(), c::toString);
        assertTrue(lines.get(0).startsWith("hz3-agent: bad option 'top=99999"), c::toString);
        assertTrue(lines.get(0).endsWith("...' (cut: 100004 characters): expected a whole number"
                + " 1..64 (in HZ3_AGENT_OPTIONS)"), c::toString);
        assertTrue(lines.get(0).length() < 400, c::toString);
        assertEquals("hz3-agent: bad option 'top=1\\nhz3-agent: hz3 events on': expected a whole"
                + " number 1..64", lines.get(1), c::toString);

        try (ChildProcess t = target(JAVA_HOME, dir, "target", false)) {
            ChildProcess a = attach(JAVA_HOME, dir, t, forged);
            assertEquals(2, a.exit(), a::toString);
            List<String> said = a.out().lines().toList();
            assertEquals("hz3-agent: bad option 'top=1\\nhz3-agent: hz3 events on': expected a whole"
                    + " number 1..64", said.get(0), a::toString);
            assertFalse(said.contains("hz3-agent: hz3 events on"), a::toString);

            ChildProcess h = attach(JAVA_HOME, dir, t, huge);   // too long for attach: see below
            assertEquals(2, h.exit(), h::toString);
            assertEquals(1, h.err().lines().count(), h::toString);
            assertTrue(h.err().length() < 400, h::toString);
            stillRuns(t, 1);
        }
    }

    /** Options the attach protocol cannot carry are refused before attaching. */
    @Test
    void optionsLongerThanTheProtocolTakes() throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "errors-long-options");
        try (ChildProcess t = target(JAVA_HOME, dir, "target", false)) {
            String option = "record=" + dir.resolve("r".repeat(200) + "/" + "x".repeat(1000));
            ChildProcess a = attach(JAVA_HOME, dir, t, option);
            assertEquals(2, a.exit(), a::toString);
            assertEquals("", a.out(), a::toString);
            assertTrue(a.err().matches("hz3-agent attach: options are " + option.length() + " bytes;"
                    + " the attach protocol takes at most 1024 bytes for the agent jar's path, the"
                    + " options and the reply file's name together, which leaves \\d+ for options"
                    + " here\n"), a::toString);
            stillRuns(t, 1);
            ChildProcess ok = attach(JAVA_HOME, dir, t, "top=2");
            assertEquals(0, ok.exit(), ok::toString);
        }
    }

    /** A process that is no JVM: said at once, and it is not disturbed (no SIGQUIT). */
    @Test
    void attachToANonJavaProcess() throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "errors-not-java");
        try (ChildProcess sleep = ChildProcess.start("sleep", dir, List.of("sleep", "600"), Map.of())) {
            ChildProcess a = ChildProcess.run("attach", dir, List.of(ChildProcess.java(JAVA_HOME), "-jar",
                    ChildProcess.AGENT_JAR.toString(), "attach", Long.toString(sleep.pid())), Map.of());
            assertEquals(1, a.exit(), a::toString);
            assertEquals("hz3-agent attach: process " + sleep.pid() + " ('sleep') is not a Java"
                    + " process: it has no libjvm.so, so no attach listener\n", a.err());
            assertTrue(ProcessHandle.of(sleep.pid()).map(ProcessHandle::isAlive).orElse(false),
                    "sleep still runs");
        }
    }

    /**
     * A JVM with -XX:+DisableAttachMechanism: on its command line (seen before attaching) and
     * in a flags file (the attach API's own refusal, unwrapped).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void attachToAJvmThatRefusesAttach(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "errors-attach-disabled-" + javaHome.getFileName());
        Path flags = Files.writeString(dir.resolve("flags"), "-XX:+DisableAttachMechanism\n");
        int n = 0;
        for (String flag : List.of("-XX:+DisableAttachMechanism", "-XX:VMOptionsFile=" + flags)) {
            try (ChildProcess t = target(javaHome, dir, "target-" + ++n, false, flag)) {
                ChildProcess a = attach(javaHome, dir, t);
                assertEquals(1, a.exit(), a::toString);
                assertEquals("hz3-agent attach: the JVM " + t.pid() + " does not accept attach (it"
                        + " was started with -XX:+DisableAttachMechanism)\n", a.err(), a::toString);
                stillRuns(t, 1);
            }
        }
    }

    /**
     * Root attaching to another user's JVM (runs only as root: the target runs as nobody): the
     * agent there cannot write into root's private directory, so the reply comes through a
     * directory handed to that user. And nobody attaching to root's JVM is refused in one line.
     */
    @Test
    void rootAttachesToAnotherUsersJvm() throws Exception {
        assumeTrue(uid() == 0, "needs root, to run the target JVM as another user (nobody)");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv (util-linux)");
        Path dir = ChildProcess.dir("agent-tests", "errors-other-user");
        // nobody may not reach the build tree: the agent jar and the target's class, copied
        // where anyone may read them.
        Path shared = Files.createTempDirectory("hz3-agent-test-");
        List<Path> before = othersFiles();
        try {
            shared.toFile().setReadable(true, false);
            shared.toFile().setExecutable(true, false);
            Path jar = Files.copy(ChildProcess.AGENT_JAR, shared.resolve("hz3-agent.jar"));
            Path cls = shared.resolve("classes/" + AttachTarget.class.getName().replace('.', '/') + ".class");
            Files.createDirectories(cls.getParent());
            Files.copy(ChildProcess.testClasses().resolve(AttachTarget.class.getName().replace('.', '/') + ".class"),
                    cls, StandardCopyOption.REPLACE_EXISTING);
            try (var s = Files.walk(shared)) {
                s.forEach(p -> {
                    p.toFile().setReadable(true, false);
                    p.toFile().setExecutable(Files.isDirectory(p), false);
                });
            }
            Path cwd = Files.createDirectories(dir.resolve("target"));
            cwd.toFile().setWritable(true, false);
            List<String> cmd = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=65534",
                    "--regid=65534", "--clear-groups", ChildProcess.java(JAVA_HOME), "-Xmx128m",
                    "-cp", shared.resolve("classes").toString(), AttachTarget.class.getName()));
            try (ChildProcess t = ChildProcess.start("target", dir, cmd, Map.of())) {
                t.awaitOut("^READY pid=\\d+$");
                for (String action : List.of("top=3", "snapshot")) {
                    ChildProcess a = ChildProcess.run("attach-" + action, dir,
                            List.of(ChildProcess.java(JAVA_HOME), "-jar", jar.toString(), "attach",
                                    Long.toString(t.pid()), action), Map.of());
                    assertEquals(0, a.exit(), a::toString);
                    assertEquals("", a.err(), a::toString);
                    assertTrue(a.out().startsWith("hz3-agent: "), a::toString);
                }
                stillRuns(t, 1);
                t.closeStdin();
                assertEquals(0, t.waitFor(), t::toString);
            }
            // The other way round: nobody may not attach to root's JVM (this one), and is told so.
            long me = ProcessHandle.current().pid();
            ChildProcess no = ChildProcess.run("attach-as-nobody", dir, List.of("/usr/bin/setpriv", "--reuid=65534",
                    "--regid=65534", "--clear-groups", ChildProcess.java(JAVA_HOME), "-jar", jar.toString(),
                    "attach", Long.toString(me)), Map.of());
            assertEquals(1, no.exit(), no::toString);
            assertEquals("hz3-agent attach: process " + me + " belongs to uid 0, and this is uid 65534:"
                    + " attach as that user (or as root)\n", no.err(), no::toString);
            try (var s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
                assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith("hz3-attach-"))
                        .toList(), "reply directories left behind");
            }
        } finally {
            deleteTree(shared);
            for (Path p : othersFiles()) {
                if (!before.contains(p)) {
                    deleteTree(p);   // what nobody's JVM and agent left, when this test made it
                }
            }
        }
    }

    /**
     * The files a JVM and the agent of nobody (uid 65534) keep in its temporary directory: /tmp,
     * the JVM's default, since nobody may not write the tests' own (and hsperfdata is always there).
     */
    private static List<Path> othersFiles() {
        Path tmp = Path.of("/tmp");
        return List.of(tmp.resolve("hz3-agent-65534"), tmp.resolve("hsperfdata_nobody")).stream()
                .filter(Files::exists).toList();
    }

    private static List<String> targetWith(Path javaHome, String... jvmArgs) {
        List<String> cmd = new ArrayList<>(List.of(ChildProcess.java(javaHome), "-Xmx256m",
                "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("-cp", ChildProcess.testClasses().toString(), AttachTarget.class.getName()));
        return cmd;
    }

    private static long uid() throws IOException {
        return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
