package dev.hz3.agent.boot;

/**
 * The one class of the agent that JDK classes see. Native attribution inlines advice into
 * {@code jdk.internal.misc.Unsafe} and {@code java.util.zip}'s stream references; that advice
 * calls the static methods here, so this class must be visible from the bootstrap class loader:
 * the agent appends a jar holding only this class to the bootstrap search path when attribution
 * is first turned on (never otherwise), and fills {@link #current} with its sampler.
 *
 * <p>It imports nothing but the JDK and holds no state but the slot: with the slot empty
 * (attribution off) an advised call costs one volatile read. Nothing here may throw or allocate.
 * The kind numbers index {@code dev.hz3.jfr.Hz3Events.NATIVE_KINDS}: keep them in sync.
 */
public abstract class NativeAllocHooks {

    public static final int KIND_UNSAFE = 0;
    public static final int KIND_DIRECT_BUFFER = 1;
    public static final int KIND_MEMORY_SEGMENT = 2;
    public static final int KIND_DEFLATER = 3;
    public static final int KIND_INFLATER = 4;
    public static final int KIND_JNA_MEMORY = 5;
    public static final int KIND_NATIVE_CALL = 6;

    /**
     * Nominal bytes of a zlib stream, which its Java object cannot know: zlib's documented
     * memory use at the JDK's settings (windowBits 15, memLevel 8) plus its state structs.
     * Deflate: window 64 KiB + prev 64 KiB + head 64 KiB + pending 64 KiB + about 6 KiB.
     * Inflate: window 32 KiB (allocated on first use) + about 7 KiB of state.
     */
    public static final long DEFLATER_BYTES = 4 * 65_536 + 6_144;
    public static final long INFLATER_BYTES = 32_768 + 7_168;

    /** The agent's sampler while attribution is on; null when off. */
    public static volatile NativeAllocHooks current;

    protected NativeAllocHooks() {
    }

    /**
     * A block of bytes at address, just allocated (address 0: the call failed or was empty).
     * Returns null, or when the block is sampled its hz3.NativeAllocationSample, filled, for the
     * advice to commit itself: JFR's stack trace then starts at the advised JDK method, with no
     * frame of the agent's on top.
     */
    public static Object alloc(long address, long bytes, int kind) {
        NativeAllocHooks h = current;
        return h != null && address != 0 ? h.onAlloc(address, bytes, kind) : null;
    }

    /** The block at address is about to be freed. */
    public static void free(long address) {
        NativeAllocHooks h = current;
        if (h != null && address != 0) {
            h.onFree(address);
        }
    }

    /**
     * Under hz3 only: the mallocs this thread makes from now until {@link #exit} (zlib's inside a
     * Deflater's constructor, a JNI library's) are the current call's. Returns what exit needs
     * (0: nothing was marked).
     */
    public static int enter() {
        NativeAllocHooks h = current;
        return h != null ? h.onEnter() : 0;
    }

    /**
     * Ends what {@link #enter} returned mark for; kind names the call for its site. Returns null,
     * or the hz3.NativeAllocationSample events (jdk.jfr.Event) of the mallocs hz3 sampled inside
     * the call, for the advice to commit itself, as {@link #alloc}'s.
     */
    public static Object[] exit(int mark, int kind) {
        NativeAllocHooks h = current;
        return h != null && mark != 0 ? h.onExit(mark, kind) : null;
    }

    protected int onEnter() {
        return 0;
    }

    protected Object[] onExit(int mark, int kind) {
        return null;
    }

    /** The event to commit (a jdk.jfr.Event), or null when not sampled. */
    protected abstract Object onAlloc(long address, long bytes, int kind);

    protected abstract void onFree(long address);
}
