package dev.hz3.agent.core.sites;

import dev.hz3.agent.core.metrics.SiteFeed;
import dev.hz3.agent.core.Log;
import dev.hz3.agent.core.Options;
import dev.hz3.agent.core.nat.Hz3Sites;
import dev.hz3.jfr.NativeSiteEvent;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.instrument.Instrumentation;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.zip.CRC32;
import jdk.jfr.FlightRecorder;
import jdk.jfr.FlightRecorderListener;
import jdk.jfr.Recording;
import jdk.jfr.RecordingState;

/**
 * Native attribution on and off (agent options {@code attribution=on|off}, {@code sampleBytes=},
 * {@code sites=}), at start-up or by attach.
 *
 * <p>Class loaders. The advice is inlined into JDK classes of the bootstrap loader, so what it
 * calls must be visible there: {@code dev.hz3.agent.boot.NativeAllocHooks}, which the core's jar
 * does not carry as a class (a copy of it in the agent's loader would be a second, unrelated
 * class). Its bytes ride in the core's jar as a resource; turning attribution on the first time
 * writes them into a one-class jar in the agent's private directory and appends that to the
 * bootstrap search path. The agent's loader (parent: the platform loader, then the bootstrap)
 * then resolves {@code NativeAllocHooks} to that very class, which {@link SiteSampler} extends
 * and fills the slot of. Byte Buddy's jar (its ASM) is touched only by {@link Weaver}, {@link
 * AdvisedMethod} and {@link NativeWrapper}, and only when a class is not woven already
 * ({@link WovenCache}); with attribution off no class of this package is loaded.
 *
 * <p>JFR. The events (hz3.NativeAllocationSample, hz3.NativeSite) are set up when the first
 * recording runs, not here: at start-up this runs before -XX:StartFlightRecording's JFR, and an
 * event class loaded or registered before JFR instruments classes as they load (not yet when it
 * says it is initialised) is redefined when JFR registers it, one redefinition per class
 * (Hz3Events loads them all), each throwing away the JIT's compilations in flight.
 */
public final class Attribution {

    static final String BOOT_CLASS = "dev.hz3.agent.boot.NativeAllocHooks";
    /** Where the core's jar keeps the boot class's bytes (not loadable from there). */
    static final String BOOT_RESOURCE = "META-INF/hz3-boot/dev/hz3/agent/boot/NativeAllocHooks.class";

    private static Instrumenter instrumenter;
    private static volatile SiteSampler sampler;
    /** A recording has run (JFR's listener said so). */
    private static volatile boolean jfrUp;
    private static boolean jfrListened;
    /** The periodic hz3.NativeSite's hook is registered. */
    private static final AtomicBoolean hooked = new AtomicBoolean();
    /** Classes, not lambdas, here and below (see {@link Order}). */
    private static final Runnable HOOK = new Runnable() {
        @Override
        public void run() {
            SiteSampler now = sampler;
            if (now != null) {
                try {
                    now.commitSites();
                } catch (Throwable t) {
                    Log.debug("periodic NativeSite: " + Log.describe(t));
                }
            }
        }
    };
    private static final Supplier<List<SiteFeed.Site>> FEED = new Supplier<>() {
        @Override
        public List<SiteFeed.Site> get() {
            SiteSampler now = sampler;
            return now == null ? List.of() : SiteReport.forMetrics(now);
        }
    };

    private Attribution() {
    }

    /**
     * Applies the options in effect: turns attribution on, off, or changes its settings. hz3:
     * hz3 is this JVM's malloc, so it samples too (what native code mallocs inside the advised
     * calls, and the pages sites pin).
     */
    public static synchronized void apply(Options o, Instrumentation inst, Path privateDir,
            boolean hz3) {
        boolean on = o.get(Options.Key.ATTRIBUTION).equalsIgnoreCase("on");
        try {
            if (!on) {
                off(inst);
                return;
            }
            long n = o.bytes(Options.Key.SAMPLE_BYTES);
            int top = o.integer(Options.Key.SITES);
            if (sampler != null && sampler.sampleBytes() == n) {
                sampler.setTopSites(top);
                return;
            }
            if (sampler != null) {
                int dropped = sampler.liveCount();
                sampler.deactivate();
                Log.info("native attribution: sampleBytes is now " + n + " bytes; the "
                        + dropped + " live samples taken at " + sampler.sampleBytes()
                        + " are dropped");
                SiteSampler s = new SiteSampler(n, top, sampler.hz3());
                s.warmUp();
                replaceSampler(s);
                if (s.hz3()) {
                    Hz3Sites.hz3_sampling_set(n);
                }
                return;
            }
            if (inst == null) {
                Log.error("native attribution: no Instrumentation: cannot advise the JDK");
                return;
            }
            long t0 = System.nanoTime();
            bootClassVisible(inst, privateDir);
            String hz3Missing = null;
            if (hz3) {
                try {
                    Hz3Sites.bind();
                } catch (Throwable t) {
                    hz3Missing = "this libhz3 cannot sample (" + Log.describe(t) + ")";
                    hz3 = false;
                }
            }
            SiteSampler s = new SiteSampler(n, top, hz3);
            s.warmUp();
            List<String> natives = nativeNames(o);
            if (!natives.isEmpty() && !hz3) {
                Log.warn("native attribution: nativeMethods= needs hz3 as the malloc (only hz3 sees"
                        + " what a native method mallocs): ignored");
            }
            instrumenter = Instrumenter.install(inst, hz3, natives, privateDir);
            replaceSampler(s);
            if (hz3 && Hz3Sites.hz3_sampling_set(n) != 0) {
                Log.warn("native attribution: hz3 refused to sample every " + n + " bytes");
            }
            String line = "native attribution on: one sample per " + n + " bytes allocated through"
                    + " Unsafe, direct buffers, Deflater, Inflater and JNA Memory; advised "
                    + instrumenter.advised.size() + " loaded classes in "
                    + (System.nanoTime() - t0) / 1_000_000 + " ms (the others as they load)";
            if (hz3) {
                Log.info(line + "; hz3 samples too: the mallocs inside those calls (zlib's own)"
                        + " and the pages each site pins");
            } else {
                Log.info(line + ". Mallocs made inside native libraries (zlib's own, JNI"
                        + " libraries') and the pages each site pins are not seen: they need hz3"
                        + " as the malloc" + (hz3Missing == null ? "" : ", and " + hz3Missing));
            }
        } catch (Throwable t) {
            Log.error("native attribution not started: " + Log.describe(t));
            off(inst);
        }
    }

    private static List<String> nativeNames(Options o) {
        String v = o.get(Options.Key.NATIVE_METHODS);
        return v.isEmpty() ? List.of() : List.of(v.split(":"));
    }

    /** Turns attribution off (option attribution=off, and attach stop); nothing when off. */
    public static synchronized void off(Instrumentation inst) {
        if (sampler == null && instrumenter == null) {
            return;
        }
        int dropped = 0;
        if (sampler != null) {
            if (sampler.hz3()) {
                Hz3Sites.hz3_sampling_set(0);
            }
            dropped = sampler.liveCount();
            sampler.deactivate();
            sampler.clear();
            sampler = null;
            SiteFeed.source(null);
        }
        if (hooked.getAndSet(false)) {
            FlightRecorder.removePeriodicEvent(HOOK);
        }
        int removed = 0;
        if (instrumenter != null) {
            removed = instrumenter.remove(inst);
            instrumenter = null;
        }
        Log.info("native attribution off: advice removed from " + removed + " JDK classes; "
                + dropped + " live samples dropped");
    }

    /**
     * hz3.NativeSite at a chunk's start and end (the agent's whole picture, see Recorder), so a
     * recording shorter than the event's period, or dumped before it, has its sites too.
     */
    public static void atChunk() {
        SiteSampler s = sampler;
        if (s != null) {
            s.commitSites();
        }
    }

    /**
     * The agent registers its other events now (a recording reached RUNNING and activated it):
     * attribution's register with them, not a moment later from this class's own listener (JFR
     * notifies listeners one after another, and the agent's takes its whole picture first), which
     * could fall in the next flush period and make JFR write its metadata once more (about 2 MB of
     * garbage and the periodic thread's time; bench/RESULTS.md, 2026-12-03 night, "premain").
     */
    public static void eventsWithAgents() {
        if (sampler != null && (jfrUp || recordingRunning())) {
            jfrUp();
        }
    }

    private static void replaceSampler(SiteSampler s) {
        sampler = s;
        if (!jfrListened) {
            jfrListened = true;
            FlightRecorder.addListener(new FlightRecorderListener() {   // does not start JFR
                @Override
                public void recordingStateChanged(Recording r) {
                    if (r.getState() == RecordingState.RUNNING) {
                        jfrUp();
                    }
                }
            });
        }
        if (jfrUp || recordingRunning()) {
            jfrUp();
        }
        s.activate();
        SiteFeed.source(FEED);
    }

    /**
     * A recording runs (or ran before this sampler): the sampler's events, the periodic
     * hz3.NativeSite. Takes no lock of this class: JFR calls it holding its own.
     */
    private static void jfrUp() {
        jfrUp = true;
        SiteSampler s = sampler;
        if (s == null) {
            return;
        }
        s.eventsReady();
        if (hooked.compareAndSet(false, true)) {
            FlightRecorder.addPeriodicEvent(NativeSiteEvent.class, HOOK);
        }
    }

    /** Whether a recording runs now; false without touching JFR when it has not started. */
    private static boolean recordingRunning() {
        if (!FlightRecorder.isInitialized()) {
            return false;
        }
        for (Recording r : FlightRecorder.getFlightRecorder().getRecordings()) {
            if (r.getState() == RecordingState.RUNNING) {
                return true;
            }
        }
        return false;
    }

    /** Puts NativeAllocHooks on the bootstrap search path, once per JVM. */
    private static void bootClassVisible(Instrumentation inst, Path privateDir) throws IOException {
        if (bootLoaded()) {
            return;
        }
        byte[] bytes;
        try (InputStream in = Attribution.class.getClassLoader().getResourceAsStream(BOOT_RESOURCE)) {
            if (in == null) {
                throw new IOException("the agent has no " + BOOT_RESOURCE);
            }
            bytes = in.readAllBytes();
        }
        CRC32 crc = new CRC32();
        crc.update(bytes);
        Path jar = privateDir.resolve(String.format("hz3-boot-%08x.jar", crc.getValue()));
        if (!Files.isRegularFile(jar, LinkOption.NOFOLLOW_LINKS)) {
            Path tmp = Files.createTempFile(privateDir, "hz3-boot", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try {
                try (OutputStream out = Files.newOutputStream(tmp);
                        JarOutputStream j = new JarOutputStream(out)) {
                    j.putNextEntry(new JarEntry(BOOT_CLASS.replace('.', '/') + ".class"));
                    j.write(bytes);
                    j.closeEntry();
                }
                Files.move(tmp, jar, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        try (JarFile check = new JarFile(jar.toFile())) {
            JarEntry e = check.getJarEntry(BOOT_CLASS.replace('.', '/') + ".class");
            if (e == null || !java.util.Arrays.equals(check.getInputStream(e).readAllBytes(), bytes)) {
                throw new IOException(jar + " does not hold " + BOOT_CLASS);
            }
        }
        inst.appendToBootstrapClassLoaderSearch(new JarFile(jar.toFile()));
        if (!bootLoaded()) {
            throw new IOException(BOOT_CLASS + " is not visible from the bootstrap loader");
        }
    }

    private static boolean bootLoaded() {
        try {
            return Class.forName(BOOT_CLASS, false, null).getClassLoader() == null;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }
}
