package dev.hz3.agent.core.sites;

import dev.hz3.agent.boot.NativeAllocHooks;
import java.util.Map;
import java.util.Spliterator;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * One sampled call's walk down its stack to its site (see {@link SiteSampler}): given each frame
 * in turn, it is done once the site is found (the first frame outside the JDK) or the call is
 * the agent's own, or past {@value #MAX_DEPTH} frames, which ends the walk there.
 *
 * <p>Why the walker's spliterator stepped by hand, not a stream operation: the walker's step
 * ({@code tryAdvance}) is called per frame and the JIT compiles it with what it calls inlined:
 * through {@code anyMatch} that was the stream's match machinery and this step, a 16 kB C2
 * method; the stream's iterator adapter buffers frames and costs as much as the walk itself. A
 * step reads only the frame's class name (kept by its Class): a JDK frame's method name would be
 * a call into the JVM per frame, so the entry's (the JDK method the application called) is read
 * by a second walk, only when the site's key is new. The site frame is keyed
 * ({@link SiteKey}) by {@link #finish} after the walk stops on it, still inside the walk (the
 * frame object is refilled once the walker fetches another batch), and described (its line
 * number costs more than the frame) only when the key is new; the first JDK frame's
 * description, needed only when no frame is outside the JDK, is made by a second walk in that
 * rare case ({@link #firstJdkAt}).
 */
final class SiteWalk
        implements Function<Stream<StackWalker.StackFrame>, Void>, Consumer<StackWalker.StackFrame> {

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

    /** Verdicts ({@link #verdict}): passed over, the agent's own, the site, or a JDK frame with flags. */
    private static final int PASS = 1;
    private static final int OWN = 2;
    private static final int SITE = 3;
    private static final int JDK = 4;
    private static final int DIRECT_BUFFER = 8;
    private static final int FOREIGN = 16;
    private static final int MACHINERY = 32;
    /** Small Integers: Integer.valueOf's cache, nothing allocated per class but the entry. */
    private static final ClassValue<Integer> VERDICTS = new ClassValue<>() {
        @Override
        protected Integer computeValue(Class<?> c) {
            return verdict(c);
        }
    };

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
    /** The last JDK frame above the site: the JDK method the application called, its class. */
    String entryClass;
    /** That frame's depth (0: the walk's caller), for its method name. */
    int entryAt = -1;
    /** Frames above the first JDK frame past the allocation machinery; -1: none seen. */
    int firstJdkAt = -1;
    private final Map<SiteKey, Site> knownSites;
    private int depth;
    private boolean done;

    SiteWalk(int kind, Map<SiteKey, Site> knownSites) {
        this.kind = kind;
        this.knownSites = knownSites;
    }

    /** The walk: the walker's stream is its source, so its spliterator is the walker's own. */
    @Override
    public Void apply(Stream<StackWalker.StackFrame> frames) {
        Spliterator<StackWalker.StackFrame> it = frames.spliterator();
        while (!done && it.tryAdvance(this)) {
            // accept does the step
        }
        finish();
        return null;
    }

    @Override
    public void accept(StackWalker.StackFrame f) {
        done = step(f);
    }

    private boolean step(StackWalker.StackFrame f) {
        if (depth++ == MAX_DEPTH) {
            return true;
        }
        Class<?> c = f.getDeclaringClass();
        int v = VERDICTS.get(c);
        if (v == PASS) {
            return false;   // the sampler, its marks, the hook's dispatch
        }
        if (v == OWN) {
            own = true;
            return true;
        }
        if (v == SITE) {
            siteFrame = f;
            return true;
        }
        if (kind == NativeAllocHooks.KIND_UNSAFE && (v & (DIRECT_BUFFER | FOREIGN)) != 0) {
            kind = (v & DIRECT_BUFFER) != 0 ? NativeAllocHooks.KIND_DIRECT_BUFFER
                    : NativeAllocHooks.KIND_MEMORY_SEGMENT;
        }
        if (firstJdkAt < 0 && (v & MACHINERY) == 0) {
            firstJdkAt = depth - 1;
        }
        entryClass = c.getName();
        entryAt = depth - 1;
        return false;
    }

    /**
     * What a frame's class is to the walk, worked out once per class from its name and loader:
     * a step that compared names (a dozen prefixes) compiled into an 8 kB C2 method.
     */
    static int verdict(Class<?> c) {
        String cn = c.getName();
        if (cn.equals(SAMPLER) || cn.startsWith(SAMPLER_INNER) || cn.equals(MARKS)
                || cn.startsWith(MARKS_INNER) || cn.equals(HOOKS)) {
            return PASS;
        }
        if (cn.startsWith(OWN_PACKAGE) || (OWN_LOADER != null && c.getClassLoader() == OWN_LOADER)) {
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
    private void finish() {
        StackWalker.StackFrame f = siteFrame;
        if (f == null) {
            return;
        }
        siteFrame = null;
        key = new SiteKey(f.getClassName(), f.getMethodName(), f.getByteCodeIndex(), entryClass,
                kind);
        known = knownSites.get(key);
        if (known == null) {
            site = describe(f);
        }
    }

    static String describe(StackWalker.StackFrame f) {
        return f.getClassName() + "." + f.getMethodName() + ":" + f.getLineNumber();
    }
}
