package dev.hz3.agent.core;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How an attach reaches an agent that is loaded already without loading it again: JDK 21 and
 * later print their "agent loaded dynamically" warning into the application's stderr at every
 * load, even of an agent that is there. The agent listens on a Unix socket in its private
 * directory (mode 0700 at every level: only its user, and root, can reach it) and names it in
 * the system property {@value #PROPERTY}; {@code attach} reads the property through the attach
 * API (which loads nothing) and, when it is set, sends its options there instead.
 *
 * <p>The exchange is one request per connection: the attach command's options (with its
 * {@code reply=} file) as one line of UTF-8, then the agent runs them exactly as agentmain would,
 * writes the reply file, and answers {@value #DONE} before closing. One daemon thread,
 * "hz3-agent-control", waits for connections and serves them one at a time, as the JVM's attach
 * listener would.
 */
public final class Control {

    /** The target's system property naming its socket; keep in sync with docs/agent.md. */
    public static final String PROPERTY = "hz3.agent.control";
    static final String DONE = "done";
    /** The longest request read: options are a few hundred bytes. */
    private static final int MAX_REQUEST = 64 * 1024;
    private static final Pattern SOCKET = Pattern.compile("control-(\\d{1,10})\\.sock");

    private static boolean started;

    private Control() {
    }

    /**
     * Listens for attach requests in privateDir, once per JVM; handler runs each. Never throws:
     * without the socket (a path too long for one, say) attach loads the agent again, as before.
     */
    static synchronized void start(Path privateDir, Consumer<String> handler) {
        if (started) {
            return;
        }
        started = true;
        try {
            removeStale(privateDir);
            long pid = ProcessHandle.current().pid();
            Path path = privateDir.resolve("control-" + pid + ".sock");
            Files.deleteIfExists(path);   // a killed JVM's, whose pid this one has now
            ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(path));
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
            path.toFile().deleteOnExit();
            Thread t = new Thread(() -> serve(server, handler), "hz3-agent-control");
            t.setDaemon(true);
            t.start();
            System.setProperty(PROPERTY, path.toString());
        } catch (IOException | RuntimeException e) {
            Log.debug("no control socket (attach will load the agent again): " + Log.describe(e));
        }
    }

    private static void serve(ServerSocketChannel server, Consumer<String> handler) {
        while (true) {
            try (SocketChannel c = server.accept()) {
                String request = read(c);
                if (request != null) {
                    handler.accept(request);
                    c.write(ByteBuffer.wrap((DONE + "\n").getBytes(StandardCharsets.UTF_8)));
                }
            } catch (Throwable t) {   // this thread serves the next attach whatever happens
                Log.debug("control socket: " + Log.describe(t));
            }
        }
    }

    /** One line, or null when the peer sent none (or too much). */
    private static String read(SocketChannel c) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(MAX_REQUEST);
        while (b.hasRemaining() && c.read(b) >= 0) {
            if (b.position() > 0 && b.get(b.position() - 1) == '\n') {
                return new String(b.array(), 0, b.position() - 1, StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    /** Sockets of JVMs that are gone (killed: no exit to remove them). */
    private static void removeStale(Path dir) throws IOException {
        try (DirectoryStream<Path> all = Files.newDirectoryStream(dir, "control-*.sock")) {
            for (Path p : all) {
                Matcher m = SOCKET.matcher(p.getFileName().toString());
                if (m.matches() && !Files.exists(Path.of("/proc", m.group(1)))) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /**
     * attach's side: sends options to the socket the target named and waits until the agent has
     * run them (its answer, or the connection's end). False only when nothing was sent (no one
     * listens there: that JVM may be going away), and the caller may then load the agent as
     * usual; once sent, the reply file is the answer, so an action never runs twice.
     */
    public static boolean send(Path socket, String options) {
        SocketChannel c;
        try {
            c = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        } catch (IOException | RuntimeException e) {
            return false;
        }
        try (c) {
            c.write(ByteBuffer.wrap((options + "\n").getBytes(StandardCharsets.UTF_8)));
            ByteBuffer b = ByteBuffer.allocate(64);
            while (b.hasRemaining() && c.read(b) >= 0) {
                // the answer comes once the options have run
            }
        } catch (IOException | RuntimeException e) {
            // sent, or partly: the reply file says what happened
        }
        return true;
    }
}
