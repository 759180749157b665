package dev.hz3.agent.core.sites;

import dev.hz3.agent.core.Log;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.zip.CRC32;

/**
 * The JDK classes as woven before, kept in the agent's private directory (one per agent build,
 * see the agent's PrivateDir), so that a JVM started again weaves nothing: no ASM class loaded,
 * no ASM code for the JIT, no class read and written (bench/RESULTS.md, 2026-12-03 evening: that
 * was a third of attribution's set-up in premain, and 29 of ASM's methods compiled by C1).
 *
 * <p>A woven class depends only on the class file the JVM hands the transformer and the plan
 * woven into it; the plans are this build's code, and whether hz3 is the malloc (its marks) is
 * the one choice they make at run time. So the key is: the class's name, that choice, the class
 * file's length and CRC-32. A file holds the woven bytes after their own CRC-32 (4 bytes), which
 * is checked on reading: a file that does not match is a miss, and is woven and written again
 * (to a temporary name, then moved into place, so a reader never sees it half written).
 */
final class WovenCache {

    private final Path dir;
    private final String variant;

    /** dir: the agent's private directory for this build; hz3: the plans mark hz3's calls. */
    WovenCache(Path dir, boolean hz3) {
        this.dir = dir;
        this.variant = hz3 ? "hz3" : "any";
    }

    /** The class woven before from exactly classFile, or null. */
    byte[] get(String internalName, byte[] classFile) {
        Path p = path(internalName, classFile);
        try {
            if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                return null;
            }
            byte[] all = Files.readAllBytes(p);
            if (all.length <= 4) {
                return null;
            }
            int crc = ByteBuffer.wrap(all, 0, 4).getInt();
            CRC32 c = new CRC32();
            c.update(all, 4, all.length - 4);
            if ((int) c.getValue() != crc) {
                return null;
            }
            byte[] out = new byte[all.length - 4];
            System.arraycopy(all, 4, out, 0, out.length);
            return out;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Keeps woven, made from classFile; a failure only means weaving again next time. */
    void put(String internalName, byte[] classFile, byte[] woven) {
        Path p = path(internalName, classFile);
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dir, "woven", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            CRC32 c = new CRC32();
            c.update(woven);
            byte[] all = new byte[4 + woven.length];
            ByteBuffer.wrap(all).putInt((int) c.getValue());
            System.arraycopy(woven, 0, all, 4, woven.length);
            Files.write(tmp, all);
            Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmp = null;
        } catch (IOException | RuntimeException e) {
            Log.debug("native attribution: cannot keep the woven " + internalName + ": " + Log.describe(e));
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException e) {
                    // left for the build directory's removal
                }
            }
        }
    }

    private Path path(String internalName, byte[] classFile) {
        CRC32 c = new CRC32();
        c.update(classFile);
        return dir.resolve("woven-" + variant + "-" + internalName.replace('/', '.') + "-"
                + classFile.length + "-" + Long.toHexString(c.getValue()) + ".class");
    }
}
