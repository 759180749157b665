package dev.hz3.agent.core;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
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
 * writes the reply file, and answers {@value #DONE} before closing. Connections are served one
 * at a time, as the JVM's attach listener would: under hz3 by hz3's watching thread, which is
 * no Java thread while it waits ({@link ControlWatch}); otherwise by one daemon thread,
 * "hz3-agent-control", that polls.
 *
 * <p>A Unix socket's path holds at most {@value #MAX_PATH_BYTES} bytes (sun_path), and the JDK
 * binds by path only (no bindat to a directory's descriptor). When the private directory is too
 * deep for one (a long java.io.tmpdir), the socket goes to {@code /tmp/hz3-UID} instead: made
 * with mode 0700, and used only while it is a real directory of this user with that mode, in a
 * parent that no other user can rename it in (sticky, as /tmp is, or writable by its owner
 * only). Anything else is one line, and attach loads the agent again.
 */
public final class Control {

    /** The target's system property naming its socket; keep in sync with docs/agent.md. */
    public static final String PROPERTY = "hz3.agent.control";
    static final String DONE = "done";
    /** The longest request read: options are a few hundred bytes. */
    static final int MAX_REQUEST = 64 * 1024;
    private static final Pattern SOCKET = Pattern.compile("control-(\\d{1,10})\\.sock");
    /** sun_path's 108 bytes less the terminating NUL. */
    static final int MAX_PATH_BYTES = 107;
    /** Where the socket goes when the private directory's path is too long for one. */
    private static final Path SHORT_BASE = Path.of("/tmp");
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");
    /** The sticky bit of a mode: only an entry's owner may rename or remove it. */
    private static final int STICKY = 01000;

    private static boolean started;

    private Control() {
    }

    /**
     * Listens for attach requests in privateDir (or the short directory, see above), once per
     * JVM; handler runs each, on hz3's watching thread when hz3 says so (JNA is set up and hz3
     * is the malloc), else on a thread of ours. Never throws: without the socket attach loads
     * the agent again, as before; a directory refused, or none short enough, is one warning.
     */
    static synchronized void start(Path privateDir, Consumer<String> handler, boolean hz3) {
        if (started) {
            return;
        }
        started = true;
        long pid = ProcessHandle.current().pid();
        Path dir;
        try {
            dir = socketDir(privateDir, SHORT_BASE, uid(), pid);
        } catch (IOException | RuntimeException e) {
            // Ours are one line as they are; the JDK's need their type to say what failed.
            Log.warn("no control socket, so an attach to this JVM loads the agent again: "
                    + (e.getClass() == IOException.class ? e.getMessage() : Log.describe(e)));
            return;
        }
        try {
            removeStale(dir);
            Path path = dir.resolve(socketName(pid));
            Files.deleteIfExists(path);   // a killed JVM's, whose pid this one has now
            if (!(hz3 && ControlWatch.start(path, handler))) {
                ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                server.bind(UnixDomainSocketAddress.of(path));
                Thread t = new Thread(() -> serve(server, handler), "hz3-agent-control");
                t.setDaemon(true);
                t.start();
            }
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
            path.toFile().deleteOnExit();
            System.setProperty(PROPERTY, path.toString());
        } catch (IOException | RuntimeException e) {
            Log.debug("no control socket (attach will load the agent again): " + Log.describe(e));
        }
    }

    /**
     * Looks for a connection this often. A thread blocked in accept() is in native code, and a
     * JFR recording's native-method sampler (default.jfc: every 20 ms) then walks its stack at
     * every period: about 3 ms of CPU a second and 50 events a second in every recording of an
     * idle JVM. A sleeping thread is not sampled, but each sleep of 20 ms or more is a
     * jdk.ThreadSleep event with its stack (default.jfc), and each wake-up costs the thread
     * about 0.1-0.2 ms on a busy 2-core machine: one a second (an attach then waits up to a
     * second longer; at 500 ms this thread took 0.4 ms of CPU a second in an idle JVM).
     * Parking or waiting instead would be jdk.ThreadPark or jdk.JavaMonitorWait events the same.
     */
    private static final long POLL_MS = 1000;

    private static void serve(ServerSocketChannel server, Consumer<String> handler) {
        try {
            server.configureBlocking(false);
        } catch (IOException e) {
            Log.debug("control socket stays blocking: " + Log.describe(e));
        }
        while (true) {
            try (SocketChannel c = server.accept()) {
                if (c == null) {
                    Thread.sleep(POLL_MS);
                    continue;
                }
                String request = read(c);   // an accepted channel blocks, whatever the server does
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

    private static String socketName(long pid) {
        return "control-" + pid + ".sock";
    }

    /**
     * The directory for pid's socket: privateDir when the socket's path fits in sun_path, else
     * shortBase/hz3-UID, made when missing; an IOException (its message one line) when that one
     * is not private to uid or its path is too long too.
     */
    static Path socketDir(Path privateDir, Path shortBase, long uid, long pid) throws IOException {
        if (fits(privateDir.resolve(socketName(pid)))) {
            return privateDir;
        }
        Path dir = shortBase.resolve("hz3-" + uid);
        if (!fits(dir.resolve(socketName(pid)))) {
            throw new IOException("the private directory " + privateDir + " and " + dir
                    + " are both too deep for a socket's path (at most " + MAX_PATH_BYTES + " bytes)");
        }
        return ensurePrivate(dir, uid);
    }

    /** dir, made when missing; an IOException (one line) unless it and its parent are safe for uid. */
    static Path ensurePrivate(Path dir, long uid) throws IOException {
        Path shortBase = dir.getParent();
        int parentMode = (Integer) Files.getAttribute(shortBase, "unix:mode");
        long parentOwner = ((Number) Files.getAttribute(shortBase, "unix:uid")).longValue();
        if ((parentMode & STICKY) == 0 && ((parentMode & 022) != 0 || (parentOwner != 0 && parentOwner != uid))) {
            // Another user could rename dir away and put theirs in its place after the check.
            throw new IOException("refusing " + shortBase + " for the control socket: other users"
                    + " may rename what is in it (it is not sticky, and is writable by others or"
                    + " owned by uid " + parentOwner + ")");
        }
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            } catch (FileAlreadyExistsException raced) {
                // made meanwhile (by another JVM, or planted): checked below like any other
            }
        }
        PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        long owner = ((Number) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS)).longValue();
        if (a.isSymbolicLink() || !a.isDirectory() || owner != uid || !a.permissions().equals(OWNER_ONLY)) {
            throw new IOException("refusing " + dir + " for the control socket: it must be a directory"
                    + " of uid " + uid + " with mode 0700, and is " + (a.isSymbolicLink() ? "a symbolic link"
                    : (a.isDirectory() ? "a directory" : "not a directory") + " of uid " + owner
                    + " with mode " + PosixFilePermissions.toString(a.permissions())));
        }
        return dir;
    }

    /** Whether a socket can be bound at path: the JDK passes its bytes to sun_path as they are. */
    static boolean fits(Path path) {
        String encoding = System.getProperty("sun.jnu.encoding", "UTF-8");
        return path.toString().getBytes(java.nio.charset.Charset.forName(encoding)).length <= MAX_PATH_BYTES;
    }

    /** This process's effective uid, from /proc/self/status ("Uid: real effective ..."). */
    private static long uid() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("Uid:")) {
                return Long.parseLong(l.substring(4).trim().split("\\s+")[1]);
            }
        }
        throw new IOException("no Uid in /proc/self/status");
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
