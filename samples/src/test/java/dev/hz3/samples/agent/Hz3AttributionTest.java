package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import dev.hz3.samples.ChildProcess;
import jdk.jfr.consumer.RecordedEvent;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Native attribution under hz3, in child JVMs with libhz3.so preloaded, on each JDK: zlib's own
 * mallocs inside Deflater's constructor, which Java never sees, are attributed to the Java
 * method that made the Deflaters, with the bytes zlib documents; a site whose objects the app
 * frees every other one pins pages, and a site that frees them all pins none.
 */
class Hz3AttributionTest {

    static final String APP = Hz3SitesApp.class.getName();

    /**
     * A deflate stream's memory by zlib's own formula (zconf.h, "memory requirements"):
     * (1 << (windowBits + 2)) + (1 << (memLevel + 9)) bytes, at the JDK's settings (windowBits
     * 15, memLevel 8: DEF_MEM_LEVEL), plus zlib's "few kilobytes for small objects": its
     * deflate_state (about 6 KiB on 64-bit) and the JDK's z_stream.
     */
    static final long DEFLATE_BYTES = (1L << (15 + 2)) + (1L << (8 + 9)) + 6 * 1024;

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void zlibsMallocsAndPinnedPagesPerJavaSite(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "attribution-hz3-" + javaHome.getFileName());
        Path jfr = dir.resolve("hz3.jfr");
        List<String> cmd = NativeAttributionTest.java(javaHome,
                "-javaagent:" + ChildProcess.AGENT_JAR + "=attribution=on,sampleBytes=128k",
                "-XX:StartFlightRecording:filename=" + jfr + ",settings=" + NativeAttributionTest.jfc(dir),
                "-cp", ChildProcess.testClasses().toString(), APP);
        ChildProcess c = ChildProcess.run("app", dir, cmd, ChildProcess.UNDER_HZ3);
        assertEquals(0, c.exit(), c::toString);
        assertTrue(c.out().contains("DONE hz3 sites"), c::toString);
        assertTrue(c.err().contains("; hz3 samples too: the mallocs inside those calls"), c::toString);

        Map<String, RecordedEvent> sites = lastSites(jfr);
        // zlib's mallocs: 400 Deflaters, 4 blocks of 64 KiB each sampled with p = 0.39 at 128k:
        // about 630 samples, so the estimate's sd is about 3% and 20% is over 6 of them.
        RecordedEvent z = sites.get("keepZ");
        assertTrue(z != null, () -> "no hz3.NativeSite for keepZ: " + sites);
        assertEquals("deflater", z.getString("kind"));
        long zlib = Hz3SitesApp.KEEP_Z_COUNT * DEFLATE_BYTES;
        double ratio = z.getLong("nativeLiveBytes") / (double) zlib;
        assertTrue(ratio > 0.8 && ratio < 1.2, () -> "hz3 estimates " + z.getLong("nativeLiveBytes")
                + " bytes malloced inside keepZ's Deflaters; zlib's formula says " + zlib + ": " + z);

        // Every other block freed: the survivors keep their pages partly used.
        RecordedEvent frag = sites.get("fragU");
        assertTrue(frag != null, () -> "no hz3.NativeSite for fragU: " + sites);
        assertTrue(frag.getLong("pinnedPages") > 0 && frag.getLong("pinnedBytes") > 0, frag::toString);
        // All freed: nothing live, nothing pinned (so not listed at all).
        RecordedEvent all = sites.get("freeAllU");
        assertTrue(all == null || all.getLong("pinnedPages") == 0, () -> "freeAllU: " + all);
    }

    /**
     * nativeMethods=com.sun.jna.Native wraps JNA's native methods: what libc's strdup mallocs
     * inside a JNA call (2000 copies of 50,001 bytes, kept) belongs to the Java method that
     * called it.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void aNativeLibrarysMallocsBelongToTheJavaCall(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "attribution-hz3-jni-" + javaHome.getFileName());
        Path jfr = dir.resolve("jni.jfr");
        String app = JnaNativeCallApp.class.getName();
        List<String> cmd = NativeAttributionTest.java(javaHome,
                "-javaagent:" + ChildProcess.AGENT_JAR
                        + "=attribution=on,sampleBytes=128k,nativeMethods=com.sun.jna.Native",
                "-XX:StartFlightRecording:filename=" + jfr + ",settings=" + NativeAttributionTest.jfc(dir),
                "-cp", ChildProcess.classpath(ChildProcess.testClasses(), JnaClashTest.APP_JNA), app);
        ChildProcess c = ChildProcess.run("app", dir, cmd, ChildProcess.UNDER_HZ3);
        assertEquals(0, c.exit(), c::toString);
        assertTrue(c.out().contains("DONE strdup " + JnaNativeCallApp.DUP_COUNT), c::toString);

        Map<String, RecordedEvent> sites = Recordings.lastSites(jfr, app);
        RecordedEvent s = sites.get("keepS");
        assertTrue(s != null, () -> "no hz3.NativeSite for keepS: " + sites);
        assertEquals("native call", s.getString("kind"), s::toString);
        // 2000 blocks of 50,001 bytes sampled with p = 0.32 at 128k: sd about 3.3%.
        long kept = (long) JnaNativeCallApp.DUP_COUNT * (JnaNativeCallApp.DUP_CHARS + 1);
        double ratio = s.getLong("nativeLiveBytes") / (double) kept;
        assertTrue(ratio > 0.8 && ratio < 1.2, () -> "hz3 estimates " + s.getLong("nativeLiveBytes")
                + " bytes strdup'ed inside keepS's calls; it keeps " + kept + ": " + s);
    }

    static Map<String, RecordedEvent> lastSites(Path jfr) throws IOException {
        return Recordings.lastSites(jfr, APP);
    }
}
