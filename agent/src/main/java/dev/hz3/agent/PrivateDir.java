package dev.hz3.agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.zip.CRC32;

/**
 * The directory the agent extracts its inner jars (and JNA its native library) into: private
 * to the user, checked before anything in it is loaded.
 *
 * <p>{@code $XDG_RUNTIME_DIR/hz3-agent} when that exists (a per-user tmpfs), else
 * {@code ${java.io.tmpdir}/hz3-agent-UID}; below it one directory per agent build, named after
 * the inner jars' sizes and CRCs. Each level must be a real directory (not a symbolic link),
 * owned by this process's user, with mode 0700: anything else is refused, since another user
 * could otherwise put code there for this JVM to load. Files are written to a temporary name
 * and moved into place, and checked again (owner, size, CRC) before each use.
 *
 * <p>Each build's directory holds a lock file, {@value #IN_USE}: every JVM that uses the build
 * holds a shared lock on it for as long as it runs (the kernel drops it when the JVM exits, even
 * killed). At each start the agent removes the directories of other builds whose lock it can take
 * exclusively, as no running JVM uses them; so one copy of the jars (2-3 MB) per build does not
 * pile up. A directory being removed has its lock file marked first (one byte, written under the
 * exclusive lock), so that a JVM which was waiting for that lock knows to make the directory again.
 * A directory without a lock file is left alone: it is being made (its lock comes next), or it
 * belongs to an agent from before these locks, which may still be using it.
 */
final class PrivateDir {

    static final String INNER = "META-INF/hz3/lib/";
    /** The lock file in each build's directory. */
    static final String IN_USE = ".in-use";
    /** A build directory's name: {@link #buildKey}. Nothing else under the base is touched. */
    private static final Pattern BUILD_NAME = Pattern.compile("[0-9a-f]{24}");
    private static final Set<PosixFilePermission> OWNER_RW = PosixFilePermissions.fromString("rw-------");

    /** This JVM's shared lock on its build's directory: held (so reachable) until the JVM exits. */
    private static FileLock inUse;
    private static final Set<PosixFilePermission> OWNER_ONLY =
            PosixFilePermissions.fromString("rwx------");

    private PrivateDir() {
    }

    /** The checked private directory for this agent jar (created when missing). */
    static Path forAgent(Path agentJar) throws IOException {
        long uid = uid();
        Path base;
        String xdg = System.getenv("XDG_RUNTIME_DIR");
        if (xdg != null && !xdg.isEmpty() && Files.isDirectory(Path.of(xdg))
                && isPrivate(Path.of(xdg), uid)) {
            base = Path.of(xdg, "hz3-agent");
        } else {
            base = Path.of(System.getProperty("java.io.tmpdir"), "hz3-agent-" + uid);
        }
        ensurePrivate(base, uid);
        String key = buildKey(agentJar);
        Path dir = base.resolve(key);
        synchronized (PrivateDir.class) {
            if (inUse == null) {
                inUse = holdInUse(dir, uid);
                removeUnused(base, key, uid);
            }
        }
        return dir;
    }

    /**
     * Makes dir (when missing) and takes a shared lock on its lock file, kept until the JVM exits.
     * Taken before anything in dir is extracted or checked, so dir cannot be removed meanwhile.
     */
    static FileLock holdInUse(Path dir, long uid) throws IOException {
        while (true) {
            try {
                ensurePrivate(dir, uid);
                FileChannel ch = openLock(dir, true);
                boolean held = false;
                try {
                    FileLock lock = ch.lock(0, Long.MAX_VALUE, true);   // waits while dir is being removed
                    held = ch.size() == 0;
                    if (held) {
                        return lock;   // its channel stays open: closing it would release the lock
                    }
                } finally {
                    if (!held) {
                        ch.close();
                    }
                }
                // Marked: removed while we waited (or by a JVM that died before it was done, which
                // is finished here). Either way the directory is made again.
                removeIfUnused(dir);
            } catch (NoSuchFileException removedMeanwhile) {
                // dir went away between two steps above: make it again
            }
        }
    }

    /**
     * Removes the other builds' directories under base that no running JVM uses (their lock file's
     * exclusive lock can be taken); keep names this JVM's build. Only private directories named like
     * a build, with a lock file, are considered; anything else under base is left as it is. Never
     * throws: a directory that cannot be removed now is left for a later start.
     */
    static void removeUnused(Path base, String keep, long uid) {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(base)) {
            for (Path d : dirs) {
                String name = d.getFileName().toString();
                try {
                    if (!name.equals(keep) && BUILD_NAME.matcher(name).matches() && isPrivate(d, uid)) {
                        removeIfUnused(d);
                    }
                } catch (IOException | RuntimeException e) {
                    // in use, no lock file, or removed by another JVM meanwhile: left as it is
                }
            }
        } catch (IOException e) {
            // nothing removed this time
        }
    }

    /**
     * Removes dir and what it holds if it has a lock file and no JVM holds the lock; whether it did.
     * Throws NoSuchFileException when dir has no lock file.
     */
    static boolean removeIfUnused(Path dir) throws IOException {
        try (FileChannel ch = openLock(dir, false); FileLock lock = ch.tryLock()) {
            if (lock == null) {
                return false;   // a running JVM holds it shared
            }
            ch.write(ByteBuffer.wrap(new byte[] {'x'}), 0);   // removed: see holdInUse
            Path lockFile = dir.resolve(IN_USE);
            try (Stream<Path> all = Files.walk(dir)) {   // does not follow symbolic links
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    if (!p.equals(lockFile) && !p.equals(dir)) {
                        Files.delete(p);
                    }
                }
            }
            Files.delete(lockFile);
            Files.delete(dir);
            return true;
        }
    }

    private static FileChannel openLock(Path dir, boolean create) throws IOException {
        Set<java.nio.file.OpenOption> options = create
                ? Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                        LinkOption.NOFOLLOW_LINKS)
                : Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        return FileChannel.open(dir.resolve(IN_USE), options, PosixFilePermissions.asFileAttribute(OWNER_RW));
    }

    /**
     * Extracts the inner jars the agent needs from the start (or reuses checked copies); their
     * paths, in jar order. Those {@link #deferred} are left for {@link #extractDeferredJars}.
     */
    static List<Path> extractInnerJars(Path agentJar, Path dir) throws IOException {
        return extract(agentJar, dir, false);
    }

    /** Extracts the deferred inner jars (Byte Buddy), as {@link #extractInnerJars} does the others. */
    static List<Path> extractDeferredJars(Path agentJar, Path dir) throws IOException {
        return extract(agentJar, dir, true);
    }

    /**
     * Whether an inner jar is extracted only when first needed: Byte Buddy itself (4.6 MB, used
     * only by native attribution), not byte-buddy-agent (attach).
     */
    static boolean deferred(String jarName) {
        return DEFERRED.matcher(jarName).matches();
    }

    private static final Pattern DEFERRED = Pattern.compile("byte-buddy-\\d[^/]*\\.jar");

    private static List<Path> extract(Path agentJar, Path dir, boolean deferred) throws IOException {
        long uid = uid();
        List<Path> out = new ArrayList<>();
        try (JarFile jar = new JarFile(agentJar.toFile())) {
            Enumeration<JarEntry> entries = jar.entries();
            while (entries.hasMoreElements()) {
                JarEntry e = entries.nextElement();
                String name = e.getName();
                if (!name.startsWith(INNER) || !name.endsWith(".jar")
                        || name.indexOf('/', INNER.length()) >= 0
                        || deferred(name.substring(INNER.length())) != deferred) {
                    continue;
                }
                Path target = dir.resolve(name.substring(INNER.length()));
                if (!matches(target, e, uid)) {
                    Path tmp = Files.createTempFile(dir, ".extract-", ".tmp");
                    try (InputStream in = jar.getInputStream(e)) {
                        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
                        try {
                            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE,
                                    StandardCopyOption.REPLACE_EXISTING);
                        } catch (AtomicMoveNotSupportedException notAtomic) {
                            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                        }
                    } finally {
                        Files.deleteIfExists(tmp);
                    }
                    if (!matches(target, e, uid)) {
                        throw new IOException("extracted " + target + " does not match the jar");
                    }
                }
                out.add(target);
            }
        }
        if (out.isEmpty()) {
            throw new IOException(agentJar + " has no " + INNER + (deferred ? "byte-buddy-" : "")
                    + "*.jar: not a complete agent jar");
        }
        return out;
    }

    /** Whether target is a regular file of ours, with the entry's size and CRC. */
    private static boolean matches(Path target, JarEntry e, long uid) throws IOException {
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        PosixFileAttributes a = Files.readAttributes(target, PosixFileAttributes.class,
                LinkOption.NOFOLLOW_LINKS);
        if (!a.isRegularFile() || owner(target) != uid
                || a.permissions().contains(PosixFilePermission.GROUP_WRITE)
                || a.permissions().contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new IOException("refusing " + target + ": not a regular file of uid " + uid
                    + " writable by its owner only");
        }
        if (a.size() != e.getSize()) {
            return false;
        }
        // Through a small buffer: read whole, Byte Buddy's jar (4.6 MB) was a 4.6 MB array on
        // the Java heap, which the heap then kept resident.
        CRC32 crc = new CRC32();
        byte[] buf = new byte[64 * 1024];
        try (InputStream in = Files.newInputStream(target)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                crc.update(buf, 0, n);
            }
        }
        return crc.getValue() == e.getCrc();
    }

    /** Creates dir with mode 0700 when missing; refuses it unless it is private to uid. */
    static void ensurePrivate(Path dir, long uid) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            } catch (FileAlreadyExistsException raced) {
                // another JVM made it meanwhile: checked below like any other
            }
        }
        if (!isPrivate(dir, uid)) {
            PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            throw new IOException("refusing " + dir + ": it must be a directory of uid " + uid
                    + " with mode 0700, and is " + (a.isSymbolicLink() ? "a symbolic link"
                    : (a.isDirectory() ? "a directory" : "not a directory") + " of uid "
                    + owner(dir) + " with mode " + PosixFilePermissions.toString(a.permissions()))
                    + "; remove it or set java.io.tmpdir");
        }
    }

    static boolean isPrivate(Path dir, long uid) throws IOException {
        PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class,
                LinkOption.NOFOLLOW_LINKS);
        return a.isDirectory() && !a.isSymbolicLink() && owner(dir) == uid
                && a.permissions().equals(OWNER_ONLY);
    }

    private static long owner(Path p) throws IOException {
        return ((Number) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS)).longValue();
    }

    /** This process's effective uid, from /proc/self/status ("Uid: real effective ..."). */
    static long uid() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("Uid:")) {
                return Long.parseLong(l.substring(4).trim().split("\\s+")[1]);
            }
        }
        throw new IOException("no Uid in /proc/self/status");
    }

    /** A name for this build of the agent: the inner jars' names, sizes and CRCs, hashed. */
    static String buildKey(Path agentJar) throws IOException {
        CRC32 key = new CRC32();
        long mix = 1125899906842597L;
        try (JarFile jar = new JarFile(agentJar.toFile())) {
            Enumeration<JarEntry> entries = jar.entries();
            while (entries.hasMoreElements()) {
                JarEntry e = entries.nextElement();
                if (e.getName().startsWith(INNER)) {
                    key.update(e.getName().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    mix = 31 * mix + e.getSize();
                    mix = 31 * mix + e.getCrc();
                }
            }
        }
        return String.format("%08x%016x", key.getValue(), mix);
    }
}
