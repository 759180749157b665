package dev.hz3.agent.core.nat;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.Charset;
import java.nio.file.Path;

/**
 * A listening Unix stream socket by the C library's calls, for a descriptor hz3 can watch
 * ({@link Hz3Watch}): the JDK's channels do not give theirs out. Direct mapping, 64-bit Linux
 * (size_t and ssize_t as long). Each failure is a LastErrorException naming errno.
 */
public final class UnixSocket {

    private static final class Sys {
        static {
            Native.register(Sys.class, NativeLibrary.getProcess());
        }

        static native int socket(int domain, int type, int protocol) throws LastErrorException;

        static native int bind(int fd, byte[] addr, int len) throws LastErrorException;

        static native int listen(int fd, int backlog) throws LastErrorException;

        static native int accept4(int fd, Pointer addr, Pointer len, int flags) throws LastErrorException;

        static native long read(int fd, byte[] buf, long n) throws LastErrorException;

        static native long write(int fd, byte[] buf, long n) throws LastErrorException;

        static native int close(int fd);
    }

    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_NONBLOCK = 04000;
    private static final int SOCK_CLOEXEC = 02000000;
    private static final int SUN_PATH = 108;
    public static final int EINTR = 4;
    public static final int EAGAIN = 11;
    public static final int ECONNABORTED = 103;

    private UnixSocket() {
    }

    /**
     * A socket bound at path and listening, non-blocking (an accept after a readiness that went
     * away returns EAGAIN instead of waiting); its descriptor. The path's bytes are as the JDK
     * would pass them (sun.jnu.encoding), and must fit sun_path with its NUL.
     */
    public static int listen(Path path, int backlog) {
        byte[] p = path.toString().getBytes(Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8")));
        if (p.length >= SUN_PATH) {
            throw new IllegalArgumentException(path + " is too long for a socket's path");
        }
        ByteBuffer addr = ByteBuffer.allocate(2 + SUN_PATH).order(ByteOrder.nativeOrder());
        addr.putShort((short) AF_UNIX).put(p);
        int fd = Sys.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        try {
            Sys.bind(fd, addr.array(), 2 + p.length + 1);
            Sys.listen(fd, backlog);
            return fd;
        } catch (LastErrorException e) {
            Sys.close(fd);
            throw e;
        }
    }

    /** The next connection, blocking for its reads and writes; -1 when none waits (EAGAIN). */
    public static int accept(int fd) {
        try {
            return Sys.accept4(fd, null, null, SOCK_CLOEXEC);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == EAGAIN || e.getErrorCode() == EINTR || e.getErrorCode() == ECONNABORTED) {
                return -1;
            }
            throw e;
        }
    }

    /** read(2) into b from off: bytes read, 0 at the end. */
    public static int read(int fd, byte[] b, int off) {
        byte[] into = off == 0 ? b : new byte[b.length - off];
        long n = Sys.read(fd, into, into.length);
        if (off != 0) {
            System.arraycopy(into, 0, b, off, (int) n);
        }
        return (int) n;
    }

    /** Writes all of b. */
    public static void write(int fd, byte[] b) {
        int done = 0;
        while (done < b.length) {
            byte[] rest = done == 0 ? b : java.util.Arrays.copyOfRange(b, done, b.length);
            done += (int) Sys.write(fd, rest, rest.length);
        }
    }

    public static void close(int fd) {
        Sys.close(fd);
    }
}
