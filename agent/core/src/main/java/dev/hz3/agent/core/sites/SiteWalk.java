package dev.hz3.agent.core.sites;

import dev.hz3.agent.boot.NativeAllocHooks;
import java.util.Map;
import java.util.function.Predicate;

/**
 * One sampled call's walk down its stack to its site (see {@link SiteSampler}): given each frame
 * in turn, it answers true once the site is found (the first frame outside the JDK) or the call
 * is the agent's own, or past {@value #MAX_DEPTH} frames, which ends the walk there.
 *
 * <p>Why a predicate for {@code anyMatch}, not an iterator: the stream's iterator adapter buffers
 * frames and costs as much as the walk itself; and no {@code limit()}: the predicate counts the
 * depth. Each step only compares class names: the JIT compiles the walker's step with this
 * predicate inlined into it, once per JVM, and what a step calls makes that compilation bigger.
 * The site frame is keyed ({@link SiteKey}) by {@link #finish} after the walk stops on it, still
 * inside the walk (the frame object is refilled once the walker fetches another batch), and
 * described (its line number costs more than the frame) only when the key is new; the first JDK
 * frame's description, needed only when no frame is outside the JDK, is made by a second walk in
 * that rare case ({@link #firstJdkAt}).
 */
final class SiteWalk implements Predicate<StackWalker.StackFrame> {

    /**
     * The agent's own loader: its classes, JNA's copy and the metrics client's are the agent's
     * (null when the core runs from the class path, as in its unit tests: the package tells).
     */
    private static final ClassLoader OWN_LOADER =
            SiteWalk.class.getClassLoader() == ClassLoader.getSystemClassLoader() ? null
                    : SiteWalk.class.getClassLoader();
    /** The agent's classes, also those outside its loader (the bootstrap's AgentLoader). */
    private static final String OWN_PACKAGE = "dev.hz3.agent.";
    private static final String SAMPLER = SiteSampler.class.getName();
    private static final String MARKS = Hz3Marks.class.getName();
    private static final String SAMPLER_INNER = SAMPLER + "$";
    private static final String MARKS_INNER = MARKS + "$";
    private static final String HOOKS = "dev.hz3.agent.boot.NativeAllocHooks";

    static final int MAX_DEPTH = 64;

    /** The kind, refined from the frames (a direct buffer, a memory segment). */
    int kind;
    /** The agent's own call: no site. */
    boolean own;
    /** The first frame outside the JDK, described when its key was new; else null. */
    String site;
    /** The site frame's key; null when every frame is the JDK's (or the call is the agent's). */
    SiteKey key;
    /** The site its key already had, or null. */
    Site known;
    /** The site's frame, from the step that found it until {@link #finish}. */
    private StackWalker.StackFrame siteFrame;
    /** The last JDK frame above the site: the JDK method the application called. */
    String entryClass;
    String entryMethod;
    /** Frames above the first JDK frame past the allocation machinery; -1: none seen. */
    int firstJdkAt = -1;
    private int depth;

    SiteWalk(int kind) {
        this.kind = kind;
    }

    @Override
    public boolean test(StackWalker.StackFrame f) {
        if (depth++ == MAX_DEPTH) {
            return true;
        }
        String cn = f.getClassName();
        if (cn.equals(SAMPLER) || cn.startsWith(SAMPLER_INNER) || cn.equals(MARKS)
                || cn.startsWith(MARKS_INNER) || cn.equals(HOOKS)) {
            return false;   // the sampler, its marks, the hook's dispatch
        }
        if (cn.startsWith(OWN_PACKAGE) || (OWN_LOADER != null
                && f.getDeclaringClass().getClassLoader() == OWN_LOADER)) {
            own = true;   // the agent's own (its JNA's frames count, under com.sun.)
            return true;
        }
        if (!isJdk(cn)) {
            siteFrame = f;
            return true;
        }
        if (kind == NativeAllocHooks.KIND_UNSAFE && cn.equals("java.nio.DirectByteBuffer")) {
            kind = NativeAllocHooks.KIND_DIRECT_BUFFER;
        } else if (kind == NativeAllocHooks.KIND_UNSAFE && cn.startsWith("jdk.internal.foreign.")) {
            kind = NativeAllocHooks.KIND_MEMORY_SEGMENT;
        }
        if (firstJdkAt < 0 && !isMachinery(cn)) {
            firstJdkAt = depth - 1;
        }
        entryClass = cn;
        entryMethod = f.getMethodName();
        return false;
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

    /**
     * Keys the frame the walk stopped on and looks the key up in known; describes the frame when
     * the key is new. Call it inside the same walk.
     */
    void finish(Map<SiteKey, Site> knownSites) {
        StackWalker.StackFrame f = siteFrame;
        if (f == null) {
            return;
        }
        siteFrame = null;
        key = new SiteKey(f.getClassName(), f.getMethodName(), f.getByteCodeIndex(), entryClass,
                entryMethod, kind);
        known = knownSites.get(key);
        if (known == null) {
            site = describe(f);
        }
    }

    static String describe(StackWalker.StackFrame f) {
        return f.getClassName() + "." + f.getMethodName() + ":" + f.getLineNumber();
    }
}
