package dev.hz3.agent.core.sites;

import dev.hz3.agent.boot.NativeAllocHooks;
import java.util.Map;
import java.util.Spliterator;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * One sampled call's walk down its stack to its site with the JDK's StackWalker, once a JVM has
 * sampled many calls (see {@link SiteNames#WALKER_AFTER}); {@link SiteWalk} before. Given each
 * frame in turn, it is done once the site is found (the first frame outside the JDK) or the call
 * is the agent's own, or past {@value SiteWalk#MAX_DEPTH} frames, which ends the walk there.
 *
 * <p>Why both: this walk stops at the site and, compiled, costs a sampled call less than a
 * Throwable's frames (all of them, each made an object); but the JIT compiles about forty of the
 * JDK's methods for it, a fixed cost that a short run does not amortise (bench/RESULTS.md,
 * 2026-12-03 night). Frames are verdicted as in {@link SiteWalk#verdict}, from the class's name
 * and its loader's.
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
final class SiteStackWalk
        implements Function<Stream<StackWalker.StackFrame>, Void>, Consumer<StackWalker.StackFrame> {

    /** A class's verdict ({@link SiteWalk#verdict}), worked out once per class. */
    private static final ClassValue<Integer> VERDICTS = new ClassValue<>() {
        @Override
        protected Integer computeValue(Class<?> c) {
            ClassLoader l = c.getClassLoader();
            return SiteWalk.verdict(c.getName(), l == null ? null : l.getName());
        }
    };

    /**
     * Keyed by the bytecode index (the call's method is named by it), mapped below any line
     * number, so that its keys and {@link SiteWalk}'s never meet.
     */
    private static final int BCI_KEY = -1000;

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

    SiteStackWalk(int kind, Map<SiteKey, Site> knownSites) {
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
        if (depth++ == SiteWalk.MAX_DEPTH) {
            return true;
        }
        Class<?> c = f.getDeclaringClass();
        int v = VERDICTS.get(c);
        if (v == SiteWalk.PASS) {
            return false;   // the sampler, its names, its marks, the hook's dispatch
        }
        if (v == SiteWalk.OWN) {
            own = true;
            return true;
        }
        if (v == SiteWalk.SITE) {
            siteFrame = f;
            return true;
        }
        if (kind == NativeAllocHooks.KIND_UNSAFE && (v & (SiteWalk.DIRECT_BUFFER | SiteWalk.FOREIGN)) != 0) {
            kind = (v & SiteWalk.DIRECT_BUFFER) != 0 ? NativeAllocHooks.KIND_DIRECT_BUFFER
                    : NativeAllocHooks.KIND_MEMORY_SEGMENT;
        }
        if (firstJdkAt < 0 && (v & SiteWalk.MACHINERY) == 0) {
            firstJdkAt = depth - 1;
        }
        entryClass = c.getName();
        entryAt = depth - 1;
        return false;
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
        key = new SiteKey(f.getClassName(), f.getMethodName(), BCI_KEY - f.getByteCodeIndex(),
                entryClass, null, kind);
        known = knownSites.get(key);
        if (known == null) {
            site = describe(f);
        }
    }

    static String describe(StackWalker.StackFrame f) {
        return f.getClassName() + "." + f.getMethodName() + ":" + f.getLineNumber();
    }
}
