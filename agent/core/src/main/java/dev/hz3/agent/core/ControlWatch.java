package dev.hz3.agent.core;

import com.sun.jna.CallbackThreadInitializer;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.hz3.agent.core.nat.Hz3Watch;
import dev.hz3.agent.core.nat.UnixSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * The control socket served from hz3's watching thread (hz3_watch_fd) when hz3 is the malloc:
 * no Java thread waits for attaches. A Java thread blocked in accept() is stack-walked by JFR's
 * native-method sampler at every period (default.jfc: 20 ms), and one that polls wakes for
 * nothing and makes an event of each sleep; hz3's thread waits in poll(2) outside the JVM and
 * answers at once. JNA attaches it to the JVM, as "hz3-agent-control", for each connection
 * only. The exchange is {@link Control}'s.
 */
final class ControlWatch implements Hz3Watch.Fn {

    private final int fd;
    private final Consumer<String> handler;

    private ControlWatch(int fd, Consumer<String> handler) {
        this.fd = fd;
        this.handler = handler;
    }

    /**
     * Binds path and has hz3 watch it; false (nothing left bound) when hz3 lacks the function or
     * cannot start its thread. A bind failure throws, as the JDK's bind would.
     */
    static boolean start(Path path, Consumer<String> handler) {
        if (!Hz3Watch.available()) {
            return false;
        }
        int fd = UnixSocket.listen(path, 8);
        ControlWatch w = new ControlWatch(fd, handler);
        Native.setCallbackThreadInitializer(w, new CallbackThreadInitializer(true, true, "hz3-agent-control"));
        if (Hz3Watch.watch(fd, w) != 0) {
            UnixSocket.close(fd);
            path.toFile().delete();
            return false;
        }
        held = w;   // hz3 keeps only the callback's address
        // A connection during exit must not attach a thread to a dying JVM.
        Runtime.getRuntime().addShutdownHook(new Thread(Hz3Watch::stop, "hz3-agent-control-stop"));
        return true;
    }

    private static ControlWatch held;

    @Override
    public int invoke(Pointer ctx, int listening) {
        int c;
        try {
            c = UnixSocket.accept(fd);
        } catch (Throwable t) {
            // Closed, an attach is refused at once and loads the agent again; open, it would wait.
            UnixSocket.close(fd);
            Log.warn("control socket: " + Log.describe(t) + "; an attach now loads the agent again");
            return 1;
        }
        if (c < 0) {
            return 0;   // gone before it was taken
        }
        try {
            String request = read(c);
            if (request != null) {
                handler.accept(request);
                UnixSocket.write(c, (Control.DONE + "\n").getBytes(StandardCharsets.UTF_8));
            }
        } catch (Throwable t) {   // the next attach is served whatever happened to this one
            Log.debug("control socket: " + Log.describe(t));
        } finally {
            UnixSocket.close(c);
        }
        return 0;
    }

    /** One line, or null when the peer sent none (or too much). */
    private static String read(int c) {
        byte[] b = new byte[Control.MAX_REQUEST];
        int n = 0;
        while (n < b.length) {
            int got = UnixSocket.read(c, b, n);
            if (got <= 0) {
                return null;
            }
            n += got;
            if (b[n - 1] == '\n') {
                return new String(b, 0, n - 1, StandardCharsets.UTF_8);
            }
        }
        return null;
    }
}
