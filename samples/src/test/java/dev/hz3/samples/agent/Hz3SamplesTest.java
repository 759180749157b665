package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import dev.hz3.samples.ChildProcess;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * hz3's own samples as hz3.NativeAllocationSample events, in child JVMs with libhz3.so preloaded
 * and attribution on, on each JDK ({@link Hz3SamplesApp}): each carries the Java stack of the call
 * it was taken in, and the sizes, tiers and size classes the app's own arithmetic predicts; the
 * Inflater's window, which zlib mallocs at the first inflate, is sampled with that call's stack
 * but counts in hz3.NativeSite with the site that made the Inflater (one leak, one site); and
 * the agent's own allocations are never a site.
 */
class Hz3SamplesTest {

    static final String APP = Hz3SamplesApp.class.getName();
    /** zlib's inflate memory (zconf.h): 1 << windowBits (15 at the JDK's settings) ... */
    static final long INFLATE_WINDOW = 1L << 15;
    /** ... "plus about 7 KB" for its inflate_state (and the JDK's z_stream). */
    static final long INFLATE_STATE = 7 * 1024;

    private static final Map<Path, List<RecordedEvent>> RECORDED = new HashMap<>();

    /** hz3's tier of a block of size bytes, by hz3.h's boundaries. */
    static String tierOf(long size) {
        return size <= 1024 ? "small" : size <= 3584 ? "sub4k" : size <= 32_768 ? "medium" : "large";
    }

    /** The workload's recording on a JDK, sampled every 32 KiB under hz3 (run once per JDK). */
    static synchronized List<RecordedEvent> recording(Path javaHome) throws Exception {
        List<RecordedEvent> all = RECORDED.get(javaHome);
        if (all == null) {
            all = run(javaHome, "hz3-samples-", "sampleBytes=32k", "work");
            RECORDED.put(javaHome, all);
        }
        return all;
    }

    static List<RecordedEvent> run(Path javaHome, String name, String sampling, String mode)
            throws Exception {
        Path dir = ChildProcess.dir("agent-tests", name + javaHome.getFileName());
        Path jfr = dir.resolve("samples.jfr");
        List<String> cmd = NativeAttributionTest.java(javaHome,
                "-javaagent:" + ChildProcess.AGENT_JAR + "=attribution=on,sites=100," + sampling,
                "-XX:StartFlightRecording:filename=" + jfr + ",settings=" + NativeAttributionTest.jfc(dir),
                "-cp", ChildProcess.testClasses().toString(), APP, mode);
        ChildProcess c = ChildProcess.run("app", dir, cmd, ChildProcess.UNDER_HZ3);
        assertEquals(0, c.exit(), c::toString);
        assertTrue(c.out().contains("DONE hz3 samples"), c::toString);
        assertTrue(c.err().contains("; hz3 samples too"), c::toString);
        return Recordings.read(jfr);
    }

    /** The app's method on the stack (the first frame of the app's class), or null. */
    static String appMethod(RecordedEvent e) {
        for (RecordedFrame f : e.getStackTrace().getFrames()) {
            if (f.getMethod().getType().getName().equals(APP)) {
                return f.getMethod().getName();
            }
        }
        return null;
    }

    static String top(RecordedEvent e) {
        RecordedFrame f = e.getStackTrace().getFrames().get(0);
        return f.getMethod().getType().getName() + "." + f.getMethod().getName();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void hz3sSamplesCarryTheJavaStackSizeTierAndClass(Path javaHome) throws Exception {
        List<RecordedEvent> all = recording(javaHome);
        Map<String, Long> weights = new TreeMap<>();
        Map<String, Integer> counts = new TreeMap<>();
        Map<Long, Integer> keepUClass = new TreeMap<>();
        Map<String, Long> others = new TreeMap<>();
        for (RecordedEvent e : Recordings.of(all, "hz3.NativeAllocationSample")) {
            if (!"hz3".equals(e.getString("source"))) {
                continue;
            }
            String m = appMethod(e);
            assertTrue(e.getStackTrace().getFrames().stream().noneMatch(
                    f -> f.getMethod().getType().getName().startsWith("dev.hz3.agent.")), e::toString);
            long size = e.getLong("size");
            String tier = e.getString("tier");
            assertEquals(tierOf(size), tier, e::toString);
            assertEquals(tier.equals("large"), e.getInt("sizeClass") == -1, e::toString);
            assertTrue(e.getLong("weight") >= size, e::toString);
            assertTrue(e.getLong("allocationTime") > 0, e::toString);
            assertEquals(0, e.getLong("recordsLost"), e::toString);
            if (m == null || m.equals("compressed")) {
                continue;   // a JDK call site (class loading, say), the input's deflate
            }
            assertTrue(e.getString("site").startsWith(APP + "." + m + ":"), e::toString);
            String key = m + " " + top(e);
            // zlib's blocks: a deflate stream's four buffers of 64 KiB, its deflate_state (5.8
            // KiB), an inflate stream's window and inflate_state (7 KiB), the JDK's z_stream.
            boolean expected = switch (key) {
                case "keepU jdk.internal.misc.Unsafe.allocateMemory" -> {
                    assertEquals("unsafe", e.getString("kind"));
                    // the JVM's own small mallocs inside the call are the call's too (below)
                    boolean block = size == Hz3SamplesApp.KEEP_U_BYTES;
                    if (block) keepUClass.merge((long) e.getInt("sizeClass"), 1, Integer::sum);
                    yield block;
                }
                case "keepZ java.util.zip.Deflater.<init>" -> size == 65_536 || size < 8 * 1024;
                case "keepI java.util.zip.Inflater.inflate" -> size == INFLATE_WINDOW;
                case "keepI java.util.zip.Inflater.<init>" -> size < 8 * 1024;
                default -> throw new AssertionError("a sample at " + key + ": " + e);
            };
            if (!expected) {
                // The JVM's own mallocs made by the thread inside the call (an arena chunk of 32
                // KiB while the JIT's code is linked, say: seen on 25) are the call's too.
                others.merge(key, e.getLong("weight"), Long::sum);
                continue;
            }
            weights.merge(key, e.getLong("weight"), Long::sum);
            counts.merge(key, 1, Integer::sum);
        }
        assertEquals(1, keepUClass.size(), () -> "one size class for every block: " + keepUClass);
        // Every block is kept: the weights add up to what the app allocated. keepU: 20,000 of
        // 1,000 bytes sampled with p = 0.03 (about 600 samples, sd 4%); keepI's windows: 1,000
        // of 32 KiB with p = 0.63 (sd 2%); 20% is 5 of them or more.
        Map<String, Long> allocated = Map.of(
                "keepU jdk.internal.misc.Unsafe.allocateMemory",
                (long) Hz3SamplesApp.KEEP_U_COUNT * Hz3SamplesApp.KEEP_U_BYTES,
                "keepI java.util.zip.Inflater.inflate", Hz3SamplesApp.KEEP_I_COUNT * INFLATE_WINDOW);
        for (var m : allocated.entrySet()) {
            Long w = weights.get(m.getKey());
            assertTrue(w != null, () -> "no hz3 sample at " + m.getKey() + ": " + counts);
            double ratio = w / (double) m.getValue();
            assertTrue(ratio > 0.8 && ratio < 1.2, () -> m.getKey() + ": hz3's samples weigh " + w
                    + " bytes, the app allocated " + m.getValue() + "; samples " + counts);
        }
        assertTrue(counts.getOrDefault("keepZ java.util.zip.Deflater.<init>", 0) > 100, counts::toString);
        // The JVM's own in those calls varies from run to run (none to a dozen 32 KiB chunks in
        // Inflater.<init> on 25): small beside the workload's blocks.
        long made = weights.values().stream().mapToLong(Long::longValue).sum();
        long other = others.values().stream().mapToLong(Long::longValue).sum();
        assertTrue(other < 0.05 * made, () -> "blocks of sizes neither zlib nor the app make weigh "
                + other + " bytes, theirs " + made + ": " + others);
    }

    /**
     * The Inflater's window is malloced at its first inflate, its state in the constructor; the
     * app keeps the Inflaters and never ends them: one leak, which hz3.NativeSite shows as one
     * site, the method's creating line (entry java.util.zip.Inflater.<init>), whose native live
     * bytes come to zlib's formula for both.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void anInflaterLeakIsOneSite(Path javaHome) throws Exception {
        List<RecordedEvent> sites = Recordings.of(recording(javaHome), "hz3.NativeSite");
        Instant last = sites.stream().filter(e -> e.getInt("rank") == 1)
                .map(RecordedEvent::getStartTime).max(Instant::compareTo).orElseThrow();
        List<RecordedEvent> keepI = sites.stream().filter(e -> !e.getStartTime().isBefore(last)
                && e.getString("site").startsWith(APP + ".keepI:")).toList();
        assertEquals(1, keepI.size(), () -> "keepI's sites: " + keepI);
        RecordedEvent leak = keepI.get(0);
        assertEquals("inflater", leak.getString("kind"), leak::toString);
        assertEquals("java.util.zip.Inflater.<init>", leak.getString("entry"), leak::toString);
        long n = Hz3SamplesApp.KEEP_I_COUNT;
        double r = leak.getLong("nativeLiveBytes") / (double) (n * (INFLATE_WINDOW + INFLATE_STATE));
        assertTrue(r > 0.8 && r < 1.2, () -> "hz3 estimates " + leak.getLong("nativeLiveBytes") + " bytes for "
                + n + " Inflaters; zlib's formula says " + n * (INFLATE_WINDOW + INFLATE_STATE) + ": " + leak);
    }

    /**
     * The agent's own native allocations (reading /proc/self/smaps through a direct buffer at
     * the recording's start and end, its JNA) are no site: sampled every 2 KiB, so that an 8 KiB
     * buffer is nearly always sampled.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void theAgentsOwnAllocationsAreNoSite(Path javaHome) throws Exception {
        List<RecordedEvent> all = run(javaHome, "hz3-samples-own-", "sampleBytes=2k", "idle");
        for (RecordedEvent e : Recordings.of(all, "hz3.NativeSite")) {
            assertTrue(!e.getString("site").startsWith("dev.hz3.agent."), e::toString);
        }
        for (RecordedEvent e : Recordings.of(all, "hz3.NativeAllocationSample")) {
            assertTrue(!e.getString("site").startsWith("dev.hz3.agent.") && e.getStackTrace()
                    .getFrames().stream().noneMatch(f -> f.getMethod().getType().getName()
                            .startsWith("dev.hz3.agent.")), e::toString);
        }
        assertTrue(!Recordings.of(all, "hz3.ProcessMemory").isEmpty(), "the agent read smaps");
    }
}
