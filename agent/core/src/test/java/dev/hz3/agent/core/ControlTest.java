package dev.hz3.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ControlTest {

    @TempDir
    Path dir;

    /** One socket per JVM, named in the property; requests run before send returns. */
    @Test
    void requestsRunInTheAgentAndSendWaitsForThem() throws Exception {
        Path stale = Files.createFile(dir.resolve("control-999999999.sock"));   // no such pid
        List<String> got = new CopyOnWriteArrayList<>();
        Control.start(dir, got::add, false);
        Path socket = Path.of(System.getProperty(Control.PROPERTY));
        assertEquals(dir.resolve("control-" + ProcessHandle.current().pid() + ".sock"), socket);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        assertFalse(Files.exists(stale), "a killed JVM's socket is removed");

        assertTrue(Control.send(socket, "purge,reply=/x"));
        assertTrue(Control.send(socket, "top=3,reply=/y"));
        assertEquals(List.of("purge,reply=/x", "top=3,reply=/y"), got);

        Control.start(dir.resolve("elsewhere"), got::add, false);   // once per JVM
        assertEquals(socket.toString(), System.getProperty(Control.PROPERTY));
        assertFalse(Control.send(dir.resolve("nobody.sock"), "purge"), "no one listens: not sent");
    }

    private static final long PID = 4_194_304;   // the largest pid Linux gives: the longest name

    /** A private directory whose socket path is one byte too long for sun_path. */
    private Path tooDeep() {
        String socket = "/control-" + PID + ".sock";
        int len = Control.MAX_PATH_BYTES + 1 - socket.length() - dir.toString().length() - 1;
        Path deep = dir.resolve("d".repeat(len));
        assertEquals(Control.MAX_PATH_BYTES + 1, deep.resolve(socket.substring(1)).toString().length());
        return deep;
    }

    /** A directory like /tmp: anyone may add to it, only an entry's owner may rename it (1777). */
    private Path tmpLike(String name) throws IOException {
        Path base = Files.createDirectory(dir.resolve(name));
        Files.setAttribute(base, "unix:mode", 01777);
        return base;
    }

    private long uid() throws IOException {
        return ((Number) Files.getAttribute(dir, "unix:uid")).longValue();
    }

    /**
     * The private directory when the socket's path fits; else BASE/hz3-UID, made 0700; and when
     * that is too deep too (a checkout more than 70 bytes deep), one line that says so.
     */
    @Test
    void theSocketGoesToAShortDirectoryOnlyWhenThePrivateOneIsTooDeep() throws Exception {
        Path base = tmpLike("t");
        long uid = uid();
        Path fits = dir.resolve("d".repeat(tooDeep().getFileName().toString().length() - 1));
        assertEquals(fits, Control.socketDir(fits, base, uid, PID));
        Path shortDir = base.resolve("hz3-" + uid);
        assertFalse(Files.exists(shortDir), "made only when needed");

        if (!Control.fits(shortDir.resolve("control-" + PID + ".sock"))) {
            IOException e = assertThrows(IOException.class, () -> Control.socketDir(tooDeep(), base, uid, PID));
            assertEquals("the private directory " + tooDeep() + " and " + shortDir + " are both too deep"
                    + " for a socket's path (at most 107 bytes)", e.getMessage());
            return;
        }
        assertEquals(shortDir, Control.socketDir(tooDeep(), base, uid, PID));
        assertTrue(Files.isDirectory(shortDir, LinkOption.NOFOLLOW_LINKS));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(shortDir)));
        assertEquals(shortDir, Control.socketDir(tooDeep(), base, uid, PID), "and used again");
    }

    /**
     * A directory planted at BASE/hz3-UID by someone else is refused, in one line: a symbolic
     * link (even to a private directory of the user's), another user's directory, one others
     * may enter; and so is a base in which others could swap it after the check.
     */
    @Test
    void aPlantedDirectoryIsRefusedInOneLine() throws Exception {
        long uid = uid();
        Path base = tmpLike("t");
        Path theirs = Files.createDirectory(dir.resolve("theirs"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.createSymbolicLink(base.resolve("hz3-" + uid), theirs);
        assertRefused(base, uid, "refusing " + base.resolve("hz3-" + uid) + " for the control socket:"
                + " it must be a directory of uid " + uid + " with mode 0700, and is a symbolic link");
        try (var s = Files.list(theirs)) {
            assertEquals(0, s.count(), "nothing made through the link");
        }

        // Another user's directory: ours, seen from the uid after ours (no chown needed).
        long other = uid + 1;
        Files.createDirectory(base.resolve("hz3-" + other),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        assertRefused(base, other, "refusing " + base.resolve("hz3-" + other) + " for the control"
                + " socket: it must be a directory of uid " + other + " with mode 0700, and is a"
                + " directory of uid " + uid + " with mode rwx------");

        Path base2 = tmpLike("t2");
        Files.createDirectory(base2.resolve("hz3-" + uid));
        Files.setPosixFilePermissions(base2.resolve("hz3-" + uid), PosixFilePermissions.fromString("rwxr-xr-x"));
        assertRefused(base2, uid, "and is a directory of uid " + uid + " with mode rwxr-xr-x");

        Path swappable = Files.createDirectory(dir.resolve("swappable"));
        Files.setAttribute(swappable, "unix:mode", 0777);
        assertRefused(swappable, uid, "refusing " + swappable + " for the control socket: other users"
                + " may rename what is in it (it is not sticky, and is writable by others or owned by uid "
                + uid + ")");
        assertFalse(Files.exists(swappable.resolve("hz3-" + uid)));
    }

    /** No directory short enough: one line that says so. */
    @Test
    void noShortPathIsOneLine() throws Exception {
        Path deepBase = dir.resolve("b".repeat(100));
        IOException e = assertThrows(IOException.class, () -> Control.socketDir(tooDeep(), deepBase, uid(), PID));
        assertEquals("the private directory " + tooDeep() + " and " + deepBase.resolve("hz3-" + uid())
                + " are both too deep for a socket's path (at most 107 bytes)", e.getMessage());
        assertFalse(Files.exists(deepBase), "nothing made");
    }

    private static void assertRefused(Path base, long uid, String expected) {
        IOException e = assertThrows(IOException.class, () -> Control.ensurePrivate(base.resolve("hz3-" + uid), uid));
        assertTrue(e.getMessage().contains(expected),
                () -> "expected '" + expected + "' in: " + e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }
}
