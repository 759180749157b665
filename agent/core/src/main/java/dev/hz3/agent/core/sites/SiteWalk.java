package dev.hz3.agent.core.sites;

import dev.hz3.agent.boot.NativeAllocHooks;
import java.util.function.Predicate;

/**
 * One sampled call's walk down its stack to its site (see {@link SiteSampler}): given each frame
 * in turn, it answers true once the site is found (the first frame outside the JDK) or the call
 * is the agent's own, which ends the walk there.
 *
 * <p>Why a predicate for {@code anyMatch}, not an iterator: the stream's iterator adapter buffers
 * frames and costs as much as the walk itself. Strings are built only for the frames named (a
 * line number costs more than a frame), and no frame is kept past its step: the walker refills
 * its frame objects batch by batch.
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

    /** The kind, refined from the frames (a direct buffer, a memory segment). */
    int kind;
    /** The agent's own call: no site. */
    boolean own;
    /** The first frame outside the JDK, described; null when every frame is the JDK's. */
    String site;
    /** The last JDK frame above the site: the JDK method the application called. */
    String entryClass;
    String entryMethod;
    /** The first JDK frame past the allocation machinery, described. */
    String firstJdk;

    SiteWalk(int kind) {
        this.kind = kind;
    }

    @Override
    public boolean test(StackWalker.StackFrame f) {
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
            site = describe(f);
            return true;
        }
        if (kind == NativeAllocHooks.KIND_UNSAFE && cn.equals("java.nio.DirectByteBuffer")) {
            kind = NativeAllocHooks.KIND_DIRECT_BUFFER;
        } else if (kind == NativeAllocHooks.KIND_UNSAFE && cn.startsWith("jdk.internal.foreign.")) {
            kind = NativeAllocHooks.KIND_MEMORY_SEGMENT;
        }
        if (firstJdk == null && !isMachinery(cn)) {
            firstJdk = describe(f);
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

    private static String describe(StackWalker.StackFrame f) {
        return f.getClassName() + "." + f.getMethodName() + ":" + f.getLineNumber();
    }
}
