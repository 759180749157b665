package dev.hz3.agent.core.sites;

/**
 * {@link SiteWalk#verdict} kept per class, so that a walk's frame costs an identity lookup and
 * not the thirty-odd name comparisons of the verdict: those, inlined into one method called for
 * every frame of every sampled call, made the largest single compilation of attribution (C2,
 * about 8 KB of code; bench/RESULTS.md, 2026-12-03 late). Compiled, this lookup is a few
 * instructions; the verdict itself now runs once per class, seldom enough to stay interpreted.
 *
 * <p>Keyed by the very String objects a frame gives: the JVM fills a StackTraceElement's class
 * name from its class's name (one object per class, kept by the class) and its loader name from
 * the loader's, so a class's frames always bring the same two objects. A key that were not the
 * same object would only miss (the verdict computed again, same answer). A slot holds one entry,
 * replaced on a collision: a bounded table, no lock; an entry is immutable, so a thread sees a
 * whole one or the one before.
 */
final class FrameVerdicts {

    /** Slots; a power of two. A walk meets a few dozen classes. */
    private static final int SLOTS = 1024;

    private static final class Entry {
        final String className;
        final String loaderName;
        final int verdict;

        Entry(String className, String loaderName, int verdict) {
            this.className = className;
            this.loaderName = loaderName;
            this.verdict = verdict;
        }
    }

    private static final Entry[] TABLE = new Entry[SLOTS];

    private FrameVerdicts() {
    }

    /** SiteWalk.verdict(className, loaderName), from the table when this class was met before. */
    static int of(String className, String loaderName) {
        int slot = System.identityHashCode(className) & (SLOTS - 1);
        Entry e = TABLE[slot];
        if (e != null && e.className == className && e.loaderName == loaderName) {
            return e.verdict;
        }
        int v = SiteWalk.verdict(className, loaderName);
        TABLE[slot] = new Entry(className, loaderName, v);
        return v;
    }
}
