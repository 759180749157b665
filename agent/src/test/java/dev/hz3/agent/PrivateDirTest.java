package dev.hz3.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The private directory: created 0700, refused when anyone else could write into it. */
class PrivateDirTest {

    @TempDir
    Path tmp;

    @Test
    void createdOwnerOnly() throws IOException {
        long uid = PrivateDir.uid();
        Path d = tmp.resolve("p");
        PrivateDir.ensurePrivate(d, uid);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(d)));
        PrivateDir.ensurePrivate(d, uid);   // again: accepted as it is
    }

    @Test
    void refusesOpenModeSymlinkAndForeignOwner() throws Exception {
        long uid = PrivateDir.uid();
        Path open = Files.createDirectory(tmp.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        IOException e = assertThrows(IOException.class, () -> PrivateDir.ensurePrivate(open, uid));
        assertTrue(e.getMessage().contains("mode 0700") && e.getMessage().contains("rwxrwxrwx"),
                e.getMessage());

        Path real = Files.createDirectory(tmp.resolve("real"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), real);
        e = assertThrows(IOException.class, () -> PrivateDir.ensurePrivate(link, uid));
        assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());

        assumeTrue(uid == 0, "only root can give a directory to another user");
        Path foreign = Files.createDirectory(tmp.resolve("foreign"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.setAttribute(foreign, "unix:uid", 65534);
        e = assertThrows(IOException.class, () -> PrivateDir.ensurePrivate(foreign, uid));
        assertTrue(e.getMessage().contains("of uid 65534"), e.getMessage());
    }

    @Test
    void extractsInnerJarsOnceAndReplacesTamperedCopies() throws IOException {
        Path jar = tmp.resolve("agent.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            put(out, "META-INF/hz3/lib/a.jar", "first inner jar");
            put(out, "META-INF/hz3/lib/b.jar", "second");
            put(out, "META-INF/hz3/lib/sub/c.jar", "not at the top: ignored");
            put(out, "dev/hz3/agent/X.class", "ignored");
        }
        Path dir = tmp.resolve("d");
        PrivateDir.ensurePrivate(dir, PrivateDir.uid());
        List<Path> jars = PrivateDir.extractInnerJars(jar, dir);
        assertEquals(List.of(dir.resolve("a.jar"), dir.resolve("b.jar")), jars);
        assertEquals("first inner jar", Files.readString(jars.get(0)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(jars.get(0))));
        long mtime = Files.getLastModifiedTime(jars.get(0)).toMillis();

        PrivateDir.extractInnerJars(jar, dir);   // reused as they are
        assertEquals(mtime, Files.getLastModifiedTime(jars.get(0)).toMillis());

        Files.writeString(jars.get(1), "tampered");   // same owner, other content: replaced
        PrivateDir.extractInnerJars(jar, dir);
        assertEquals("second", Files.readString(jars.get(1)));
        try (Stream<Path> s = Files.list(dir)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().startsWith(".extract-")));
        }

        Files.setPosixFilePermissions(jars.get(0), PosixFilePermissions.fromString("rw-rw-rw-"));
        assertThrows(IOException.class, () -> PrivateDir.extractInnerJars(jar, dir),
                "a copy others may write is refused, not loaded");
    }

    @Test
    void buildKeyFollowsTheInnerJars() throws IOException {
        Path a = tmp.resolve("a.jar");
        Path b = tmp.resolve("b.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(a))) {
            put(out, "META-INF/hz3/lib/x.jar", "one");
        }
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(b))) {
            put(out, "META-INF/hz3/lib/x.jar", "two");
        }
        assertFalse(PrivateDir.buildKey(a).equals(PrivateDir.buildKey(b)));
        assertEquals(PrivateDir.buildKey(a), PrivateDir.buildKey(a));
    }

    /**
     * Other builds' directories no JVM holds are removed; a held one, this JVM's own, one without a
     * lock file (an agent from before the locks may use it), and anything not a private directory
     * named like a build stay. (A lock held by another JVM: samples' PrivateDirCleanupTest.)
     */
    @Test
    void removesOtherBuildsNoJvmUses() throws IOException {
        long uid = PrivateDir.uid();
        Path base = tmp.resolve("base");
        PrivateDir.ensurePrivate(base, uid);
        String mine = "0123456789abcdef01234567";
        Path unused = build(base, "aaaaaaaaaaaaaaaaaaaaaaaa");
        Files.createDirectory(unused.resolve("sub"));
        Files.writeString(unused.resolve("sub/jna1.tmp"), "left by JNA");
        Path legacy = build(base, "cccccccccccccccccccccccc");   // an agent from before the locks
        Path held = build(base, "bbbbbbbbbbbbbbbbbbbbbbbb");
        Path own = build(base, mine);
        Path open = build(base, "dddddddddddddddddddddddd");
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path elsewhere = build(tmp, "eeeeeeeeeeeeeeeeeeeeeeee");
        Path link = Files.createSymbolicLink(base.resolve("ffffffffffffffffffffffff"), elsewhere);
        Path other = build(base, "not-a-build");

        FileLock lock = PrivateDir.holdInUse(held, uid);
        try {
            Files.writeString(unused.resolve(PrivateDir.IN_USE), "");
            PrivateDir.removeUnused(base, mine, uid);
        } finally {
            lock.channel().close();
        }
        assertFalse(Files.exists(unused, java.nio.file.LinkOption.NOFOLLOW_LINKS));
        for (Path kept : List.of(held, own, legacy, open, other)) {
            assertTrue(Files.exists(kept.resolve("core.jar")), kept.toString());
        }
        assertTrue(Files.isSymbolicLink(link));
        assertTrue(Files.exists(elsewhere.resolve("core.jar")), "a link is not followed");
    }

    /** A lock file marked removed (its remover died half way): the directory is made again. */
    @Test
    void aDirectoryLeftHalfRemovedIsMadeAgain() throws IOException {
        long uid = PrivateDir.uid();
        Path dir = build(tmp, "aaaaaaaaaaaaaaaaaaaaaaaa");
        Files.writeString(dir.resolve(PrivateDir.IN_USE), "x");
        FileLock lock = PrivateDir.holdInUse(dir, uid);
        try {
            assertTrue(lock.isShared() && lock.isValid());
            assertEquals(0, Files.size(dir.resolve(PrivateDir.IN_USE)));
            assertFalse(Files.exists(dir.resolve("core.jar")), "the old copy was removed first");
            assertTrue(PrivateDir.isPrivate(dir, uid));
        } finally {
            lock.channel().close();
        }
    }

    private static Path build(Path base, String name) throws IOException {
        Path d = base.resolve(name);
        PrivateDir.ensurePrivate(d, PrivateDir.uid());
        Files.writeString(d.resolve("core.jar"), "a copy");
        return d;
    }

    /** The bootstrap must not touch the application's world: only the JDK. */
    @Test
    void bootstrapImportsOnlyTheJdk() throws IOException {
        Path src = Path.of(System.getProperty("basedir", "."), "src/main/java/dev/hz3/agent");
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.toList()) {
                for (String line : Files.readAllLines(f)) {
                    if (line.startsWith("import ")) {
                        assertTrue(line.startsWith("import java."), f + ": " + line);
                    }
                }
            }
        }
    }

    private static void put(JarOutputStream out, String name, String text) throws IOException {
        out.putNextEntry(new JarEntry(name));
        OutputStream o = out;
        o.write(text.getBytes(StandardCharsets.UTF_8));
        out.closeEntry();
    }
}
