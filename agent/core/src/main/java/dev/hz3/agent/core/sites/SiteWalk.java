package dev.hz3.agent.core.sites;

import dev.hz3.agent.boot.NativeAllocHooks;

/**
 * One sampled call's walk down its stack to its site (see {@link SiteSampler}): over the frames
 * of a Throwable made in the sampler, it stops at the site (the first frame outside the JDK) or
 * at the agent's own call, or past {@value #MAX_DEPTH} frames.
 *
 * <p>Why a Throwable's frames and not the JDK's StackWalker: the JVM fills a Throwable's stack
 * trace in native code, and the Java it runs per frame is a constructor and a few field reads;
 * a StackWalker's walk is about forty methods of the JDK's Java (the stream's frame buffers, the
 * traverser's step, the frame objects), which the JIT compiled in every JVM with attribution on
 * for a few thousand walks (bench/RESULTS.md, 2026-12-03: "attribution's cost", the JIT's share
 * of it). A frame gives its class's name, not the class: a frame of the agent's own is told by
 * its package or by its class loader's name (the agent's loader is named, see AgentLoader).
 * Each frame carries its method's name and line already: the site needs no second look.
 *
 * <p>The cost per sample grows with the whole stack's depth (a Throwable takes every frame),
 * where StackWalker stopped at the site. A Throwable made per sample, not one per thread kept
 * and filled again: a kept one would hold the classes of its thread's last sampled stack alive
 * (a Throwable's frames keep their classes from unloading). With JFR on, JFR counts each one as
 * a throwable created (jdk.ExceptionStatistics): one per sampled call.
 */
final class SiteWalk {

    /**
     * The agent's own loader's name: its classes, JNA's copy and the metrics client's are the
     * agent's (null when the core runs from the class path, as in its unit tests: the package
     * tells).
     */
    private static final String OWN_LOADER = SiteWalk.class.getClassLoader() == ClassLoader.getSystemClassLoader()
            ? null : SiteWalk.class.getClassLoader().getName();
    /** The agent's classes, also those outside its loader (the bootstrap's AgentLoader). */
    private static final String OWN_PACKAGE = "dev.hz3.agent.";
    private static final String SAMPLER = SiteSampler.class.getName();
    private static final String MARKS = Hz3Marks.class.getName();
    private static final String NAMES = SiteNames.class.getName();
    private static final String SAMPLER_INNER = SAMPLER + "$";
    private static final String MARKS_INNER = MARKS + "$";
    private static final String NAMES_INNER = NAMES + "$";
    private static final String HOOKS = "dev.hz3.agent.boot.NativeAllocHooks";

    static final int MAX_DEPTH = 64;

    /** Verdicts ({@link #verdict}): passed over, the agent's own, the site, or a JDK frame with flags. */
    static final int PASS = 1;
    static final int OWN = 2;
    static final int SITE = 3;
    static final int JDK = 4;
    static final int DIRECT_BUFFER = 8;
    static final int FOREIGN = 16;
    static final int MACHINERY = 32;

    /** The kind, refined from the frames (a direct buffer, a memory segment). */
    int kind;
    /** The agent's own call: no site. */
    boolean own;
    /** The first frame outside the JDK; null when every frame is the JDK's (or the call is the agent's). */
    StackTraceElement site;
    /** The last JDK frame above the site: the JDK method the application called. */
    StackTraceElement entry;
    /** The first JDK frame past the allocation machinery, for a call whose every frame is the JDK's. */
    StackTraceElement firstJdk;

    SiteWalk(int kind) {
        this.kind = kind;
    }

    /** Walks frames from the top (the sampler's own frames first, passed over). */
    void walk(StackTraceElement[] frames) {
        int n = Math.min(frames.length, MAX_DEPTH);
        for (int i = 0; i < n; i++) {
            StackTraceElement f = frames[i];
            int v = FrameVerdicts.of(f.getClassName(), f.getClassLoaderName());
            if (v == PASS) {
                continue;   // the sampler, its names, its marks, the hook's dispatch, reflection
            }
            if (v == OWN) {
                own = true;
                return;
            }
            if (v == SITE) {
                site = f;
                return;
            }
            if (kind == NativeAllocHooks.KIND_UNSAFE && (v & (DIRECT_BUFFER | FOREIGN)) != 0) {
                kind = (v & DIRECT_BUFFER) != 0 ? NativeAllocHooks.KIND_DIRECT_BUFFER
                        : NativeAllocHooks.KIND_MEMORY_SEGMENT;
            }
            if (firstJdk == null && (v & MACHINERY) == 0) {
                firstJdk = f;
            }
            entry = f;
        }
    }

    /** What a frame of class cn, from the loader named loader (null: unnamed or the bootstrap), is to the walk. */
    static int verdict(String cn, String loader) {
        if (cn.equals(SAMPLER) || cn.startsWith(SAMPLER_INNER) || cn.equals(NAMES)
                || cn.startsWith(NAMES_INNER) || cn.equals(MARKS) || cn.startsWith(MARKS_INNER)
                || cn.equals(HOOKS) || isReflection(cn)) {
            return PASS;
        }
        if (cn.startsWith(OWN_PACKAGE) || (OWN_LOADER != null && OWN_LOADER.equals(loader))) {
            return OWN;   // the agent's own (its JNA's frames count, under com.sun.)
        }
        if (!isJdk(cn)) {
            return SITE;
        }
        int v = JDK;
        if (cn.equals("java.nio.DirectByteBuffer")) {
            v |= DIRECT_BUFFER;
        } else if (cn.startsWith("jdk.internal.foreign.")) {
            v |= FOREIGN;
        }
        return isMachinery(cn) ? v | MACHINERY : v;
    }

    /**
     * Reflection's frames, which a Throwable shows and StackWalker (without SHOW_REFLECT_FRAMES)
     * did not: passed over, so that a call made by reflection is named as before.
     */
    private static boolean isReflection(String cn) {
        return cn.startsWith("jdk.internal.reflect.") || cn.equals("java.lang.reflect.Method")
                || cn.equals("java.lang.reflect.Constructor");
    }

    /**
     * Frames of the allocation's machinery, skipped to find its site: the JDK's and, for a JNA
     * Memory, JNA's (com.sun.jna, under com.sun.), so the site is the application's caller.
     */
    static boolean isJdk(String cn) {
        return cn.startsWith("java.") || cn.startsWith("javax.") || cn.startsWith("jdk.")
                || cn.startsWith("sun.") || cn.startsWith("com.sun.");
    }

    private static boolean isMachinery(String cn) {
        return cn.equals("jdk.internal.misc.Unsafe") || cn.equals("sun.misc.Unsafe")
                || cn.startsWith("java.nio.DirectByteBuffer") || cn.equals("java.nio.ByteBuffer")
                || cn.equals("java.nio.Bits") || cn.startsWith("java.util.zip.Deflater")
                || cn.startsWith("java.util.zip.Inflater") || cn.startsWith("jdk.internal.foreign.")
                || cn.startsWith("com.sun.jna.");
    }

    static String describe(StackTraceElement f) {
        return f.getClassName() + "." + f.getMethodName() + ":" + f.getLineNumber();
    }
}
