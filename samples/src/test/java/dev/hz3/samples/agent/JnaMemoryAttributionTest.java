package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import dev.hz3.samples.ChildProcess;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Native attribution of the application's own JNA (5.13.0 on its class path, not the agent's
 * isolated 5.19): com.sun.jna.Memory blocks are sampled at the app's methods, each stack starts
 * at Memory.malloc, the kept site's live bytes are within 20% of what the app keeps, and the site
 * that closes its blocks holds nothing. In child JVMs under glibc, on each JDK.
 */
class JnaMemoryAttributionTest {

    static final String APP = JnaMemorySitesApp.class.getName();

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void theApplicationsJnaMemoryIsAttributed(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "attribution-jna-" + javaHome.getFileName());
        Path jfr = dir.resolve("jna.jfr");
        List<String> cmd = NativeAttributionTest.java(javaHome,
                "-javaagent:" + ChildProcess.AGENT_JAR + "=attribution=on",
                "-XX:StartFlightRecording:filename=" + jfr + ",settings=" + NativeAttributionTest.jfc(dir),
                "-cp", ChildProcess.classpath(ChildProcess.testClasses(), JnaClashTest.APP_JNA), APP);
        ChildProcess c = ChildProcess.run("app", dir, cmd, Map.of());
        assertEquals(0, c.exit(), c::toString);
        assertTrue(c.out().contains("DONE jna " + JnaMemorySitesApp.KEEP_J_COUNT), c::toString);

        List<RecordedEvent> all = Recordings.read(jfr);
        Map<String, Integer> counts = new HashMap<>();
        for (RecordedEvent e : Recordings.of(all, "hz3.NativeAllocationSample")) {
            if (!e.getString("site").startsWith(APP + ".") || fromJarReading(e)) {
                continue;   // the JDK's own
            }
            String site = e.getString("site").substring(APP.length() + 1);
            String method = site.substring(0, site.indexOf(':'));
            assertEquals("jna memory", e.getString("kind"), e::toString);
            long fingerprint = method.equals("keepJ") ? JnaMemorySitesApp.KEEP_J_BYTES
                    : JnaMemorySitesApp.CHURN_J_BYTES;
            assertEquals(fingerprint, e.getLong("size"), e::toString);
            RecordedFrame top = e.getStackTrace().getFrames().get(0);
            assertEquals("com.sun.jna.Memory.malloc", top.getMethod().getType().getName() + "."
                    + top.getMethod().getName(), e::toString);
            counts.merge(method, 1, Integer::sum);
        }
        assertEquals(Map.of("keepJ", 1, "churnJ", 1).keySet(), counts.keySet(), counts::toString);

        // keepJ: 1000 blocks sampled with p = 0.25, so the estimate's sd is 5.5% and 20% is
        // 3.6 of them: a correct sampler fails this about once in 3000 runs.
        Map<String, RecordedEvent> sites = new HashMap<>();
        List<RecordedEvent> siteEvents = Recordings.of(all, "hz3.NativeSite");
        for (RecordedEvent e : siteEvents) {
            // (not the JDK's Inflaters reading JNA's jar: see fromJarReading)
            if (e.getString("site").startsWith(APP + ".") && !e.getString("kind").equals("inflater")) {
                String s = e.getString("site").substring(APP.length() + 1);
                sites.put(s.substring(0, s.indexOf(':')), e);   // the last one of each site
            }
        }
        RecordedEvent keep = sites.get("keepJ");
        assertTrue(keep != null, () -> "no hz3.NativeSite for keepJ: " + siteEvents);
        long held = (long) JnaMemorySitesApp.KEEP_J_COUNT * JnaMemorySitesApp.KEEP_J_BYTES;
        double ratio = keep.getLong("liveBytes") / (double) held;
        assertTrue(ratio > 0.8 && ratio < 1.2, () -> "estimated " + keep.getLong("liveBytes")
                + " live bytes, the app holds " + held);
        assertEquals("jna memory", keep.getString("kind"));
        assertEquals("com.sun.jna.Memory.<init>", keep.getString("entry"));
        assertFalse(sites.containsKey("churnJ"), () -> "churnJ closed all: " + sites.get("churnJ"));
    }

    /**
     * An Inflater the JDK made to read a jar (JNA's, as its classes and native library load in
     * keepJ's first call): the JDK's own, though made inside the app's call, and sampled now and
     * then (p = 0.07 each). Seen since the advice is woven with ASM (2 runs of 9); with Byte
     * Buddy's type pool, which read JNA's jar while advising Memory, ZipFile probably had an
     * Inflater cached already (not checked).
     */
    static boolean fromJarReading(RecordedEvent e) {
        return e.getString("kind").equals("inflater") && e.getStackTrace().getFrames().stream()
                .anyMatch(f -> f.getMethod().getType().getName().equals("java.util.zip.ZipFile"));
    }
}
