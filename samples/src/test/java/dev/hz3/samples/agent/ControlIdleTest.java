package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import dev.hz3.samples.ChildProcess;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Under hz3, an idle JVM that records with the agent keeps no Java thread for the agent's
 * control socket (JFR's thread sampler visits every Java thread at each of its periods): hz3's
 * own thread, which is no Java thread while it waits, serves it, and answers at once, where a
 * thread that looked for a connection once a second made each attach wait up to a second.
 */
class ControlIdleTest {

    static final int REQUESTS = 5;
    /** Five requests in a row within this: a poll once a second made them take 3.5-4.1 s. */
    static final long ALL_WITHIN_MS = 2500;

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void hz3ServesTheControlSocketWithNoJavaThreadAndAtOnce(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "control-idle-" + javaHome.getFileName());
        List<String> cmd = List.of(ChildProcess.java(javaHome), "-Xmx128m", "--enable-native-access=ALL-UNNAMED",
                "-XX:StartFlightRecording:settings=default,settings=" + ChildProcess.HZ3_JFC
                        + ",filename=" + dir.resolve("rec.jfr"),
                "-javaagent:" + ChildProcess.AGENT_JAR, "-cp", ChildProcess.testClasses().toString(),
                AttachTarget.class.getName());
        try (ChildProcess t = ChildProcess.start("target", dir, cmd, ChildProcess.UNDER_HZ3)) {
            t.awaitOut("^READY pid=\\d+$");
            Path socket = ControlSocketTest.controlSocket(javaHome, dir, t);
            assertTrue(awaitThread(t.pid(), "hz3-watch"), () -> "no hz3-watch thread: " + threads(t.pid()) + "\n" + t);
            assertFalse(threads(t.pid()).contains("hz3-agent-contr"), () -> threads(t.pid()).toString());

            long start = System.nanoTime();
            for (int i = 0; i < REQUESTS; i++) {
                Path reply = dir.resolve("reply-" + i);
                assertEquals("done", request(socket, "top=x,reply=" + reply), t::toString);
                List<String> lines = Files.readAllLines(reply);
                assertEquals("exit=2", lines.get(lines.size() - 1), lines::toString);
            }
            long ms = (System.nanoTime() - start) / 1_000_000;
            System.out.println(REQUESTS + " control requests answered in " + ms + " ms");
            assertTrue(ms < ALL_WITHIN_MS, REQUESTS + " requests took " + ms + " ms");
            assertFalse(threads(t.pid()).contains("hz3-agent-contr"), "a thread left behind by a request: "
                    + threads(t.pid()));
            AgentAttachTest.stillRuns(t, 1);
            t.closeStdin();
            assertEquals(0, t.waitFor(), t::toString);
            assertFalse(t.err().contains("Exception"), t::toString);
        }
    }

    /** Sends one request as attach does; the answer's first line. */
    private static String request(Path socket, String options) throws IOException {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            c.write(ByteBuffer.wrap((options + "\n").getBytes(StandardCharsets.UTF_8)));
            ByteBuffer b = ByteBuffer.allocate(64);
            while (b.hasRemaining() && c.read(b) >= 0) {
                // to the end: the agent closes once it has answered
            }
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
        }
    }

    /** The names of pid's threads (Linux keeps 15 bytes of each). */
    static List<String> threads(long pid) {
        List<String> names = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    names.add(Files.readString(task.resolve("comm")).strip());
                } catch (IOException ended) {
                    // a thread that ended meanwhile
                }
            }
        } catch (IOException gone) {
            // the process ended: no threads
        }
        return names;
    }

    /** Polls (every 10 ms, 30 s at most) until pid has a thread of that name. */
    private static boolean awaitThread(long pid, String name) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (threads(pid).contains(name)) {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }
}
