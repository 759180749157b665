package dev.hz3.agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Set;
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
 */
final class PrivateDir {

    static final String INNER = "META-INF/hz3/lib/";
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
        Path dir = base.resolve(buildKey(agentJar));
        ensurePrivate(dir, uid);
        return dir;
    }

    /** Extracts the inner jars (or reuses checked copies); their paths, in jar order. */
    static List<Path> extractInnerJars(Path agentJar, Path dir) throws IOException {
        long uid = uid();
        List<Path> out = new ArrayList<>();
        try (JarFile jar = new JarFile(agentJar.toFile())) {
            Enumeration<JarEntry> entries = jar.entries();
            while (entries.hasMoreElements()) {
                JarEntry e = entries.nextElement();
                String name = e.getName();
                if (!name.startsWith(INNER) || !name.endsWith(".jar")
                        || name.indexOf('/', INNER.length()) >= 0) {
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
            throw new IOException(agentJar + " has no " + INNER + "*.jar: not a complete agent jar");
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
        CRC32 crc = new CRC32();
        crc.update(Files.readAllBytes(target));
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
