package dev.hz3.agent.core.sites;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The kept verdicts are the verdicts: for names met again as the same objects (as a frame gives
 * them), as equal but other objects, with other loader names, and with more names than the table
 * has slots (collisions replace entries).
 */
class FrameVerdictsTest {

    private static final String[] NAMES = {
        SiteSampler.class.getName(), SiteSampler.class.getName() + "$PerThread",
        SiteNames.class.getName(), Hz3Marks.class.getName(), "dev.hz3.agent.boot.NativeAllocHooks",
        "dev.hz3.agent.core.Recorder", "jdk.internal.misc.Unsafe", "java.nio.DirectByteBuffer",
        "java.nio.ByteBuffer", "java.util.zip.Deflater", "jdk.internal.foreign.NativeMemorySegmentImpl",
        "jdk.internal.reflect.NativeMethodAccessorImpl", "java.lang.reflect.Method",
        "com.sun.jna.Memory", "example.Workload", "org.example.App", "java.lang.Thread",
    };
    private static final String[] LOADERS = {null, "app", "platform", "hz3-agent"};

    @Test
    void keptVerdictsAreTheVerdicts() {
        for (int round = 0; round < 3; round++) {
            for (String n : NAMES) {
                for (String l : LOADERS) {
                    assertEquals(SiteWalk.verdict(n, l), FrameVerdicts.of(n, l), n + " / " + l);
                    String copy = new String(n);   // equal, not the same object
                    assertEquals(SiteWalk.verdict(n, l), FrameVerdicts.of(copy, l), copy + " / " + l);
                }
            }
        }
    }

    @Test
    void collisionsReplaceNotConfuse() {
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            many.add((i % 3 == 0 ? "java.gen.C" : i % 3 == 1 ? "dev.hz3.agent.gen.C" : "app.gen.C") + i);
        }
        for (int round = 0; round < 2; round++) {
            for (String n : many) {
                assertEquals(SiteWalk.verdict(n, "app"), FrameVerdicts.of(n, "app"), n);
            }
        }
    }
}
