package dev.hz3.agent.core.sites;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A woven class is found again only for the very class file and plan it was made from. */
class WovenCacheTest {

    @Test
    void foundOnlyForTheSameClassFileAndPlan(@TempDir Path dir) throws Exception {
        byte[] in = {1, 2, 3, 4, 5};
        byte[] woven = {9, 8, 7, 6, 5, 4};
        WovenCache hz3 = new WovenCache(dir, true);
        assertNull(hz3.get("a/B", in));
        hz3.put("a/B", in, woven);
        assertArrayEquals(woven, hz3.get("a/B", in));
        assertNull(hz3.get("a/B", new byte[] {1, 2, 3, 4, 6}), "another class file");
        assertNull(hz3.get("a/C", in), "another class");
        assertNull(new WovenCache(dir, false).get("a/B", in), "the plan without hz3's marks");
    }

    @Test
    void aDamagedFileIsAMiss(@TempDir Path dir) throws Exception {
        byte[] in = {1, 2, 3};
        WovenCache c = new WovenCache(dir, false);
        c.put("a/B", in, new byte[] {4, 5, 6, 7});
        Path f;
        try (Stream<Path> files = Files.list(dir)) {
            f = files.filter(p -> p.getFileName().toString().startsWith("woven-")).findFirst().orElseThrow();
        }
        byte[] all = Files.readAllBytes(f);
        all[all.length - 1] ^= 1;
        Files.write(f, all);
        assertNull(c.get("a/B", in));
        c.put("a/B", in, new byte[] {4, 5, 6, 7});   // written again
        assertArrayEquals(new byte[] {4, 5, 6, 7}, c.get("a/B", in));
    }
}
