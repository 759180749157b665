package dev.hz3.agent.core.nat;

import com.sun.jna.Callback;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * hz3_watch_fd (native-hz3/include/hz3.h): a descriptor watched on hz3's own thread, which is
 * no Java thread while it waits. Bound on its own, not with {@link Hz3Lib}: a libhz3 older than
 * the function still serves the rest of the agent.
 */
public final class Hz3Watch {

    /** {@code int (*)(void *ctx, int fd)}: 0 goes on watching, anything else stops. */
    public interface Fn extends Callback {
        int invoke(Pointer ctx, int fd);
    }

    private static final class Sys {
        static {
            Native.register(Sys.class, NativeLibrary.getProcess());
        }

        static native int hz3_watch_fd(int fd, Fn fn, Pointer ctx);
    }

    private Hz3Watch() {
    }

    /** Whether this process's hz3 has hz3_watch_fd (JNA must be set up: Jna.init). */
    public static boolean available() {
        try {
            NativeLibrary.getProcess().getFunction("hz3_watch_fd");
            return true;
        } catch (UnsatisfiedLinkError absent) {
            return false;
        }
    }

    /** hz3_watch_fd(fd, fn, null): 0, or -1 when hz3 could not start its thread. */
    public static int watch(int fd, Fn fn) {
        return Sys.hz3_watch_fd(fd, fn, null);
    }

    /** Stops watching; fn is not running once this returns (unless called from it). */
    public static void stop() {
        Sys.hz3_watch_fd(-1, null, null);
    }
}
