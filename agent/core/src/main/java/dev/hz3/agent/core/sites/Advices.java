package dev.hz3.agent.core.sites;

import dev.hz3.agent.boot.NativeAllocHooks;

/**
 * What native attribution weaves into the JDK's native allocation entry points, as data: each
 * {@link Advice} names a method and the calls into {@link NativeAllocHooks} (the only class of
 * the agent's that advised code may touch: the advised classes are loaded by the bootstrap
 * loader) that {@link AdvisedMethod} inserts at its entry and exits. Every inserted call is
 * wrapped in a handler that swallows whatever it throws, so an advised JDK method behaves as
 * before whatever the agent does.
 *
 * <p>A sampled allocation's event is committed in the advised method itself, not in the sampler
 * (the agent's samples at the entry points, and under hz3 those hz3 took inside a marked call,
 * which its exit returns): JFR's stack trace starts at its caller, so the top frame is the JDK's
 * entry point (say {@code Unsafe.allocateMemory}) and the stacks aggregate in JMC without the
 * agent's frames. It is called through {@code jdk.jfr.Event}, which java.base is made to read
 * (see Instrumenter).
 *
 * <p>Where each allocation passes once: {@code sun.misc.Unsafe} delegates to
 * {@code jdk.internal.misc.Unsafe} (JDK 17 and later), and so do {@code DirectByteBuffer}'s
 * constructor and its {@code Deallocator}, so only {@code jdk.internal.misc.Unsafe} is advised,
 * and the sampler tells a direct buffer from its stack. A zlib stream is advised where its
 * native address is known once: its {@code ZStreamRef}'s constructor (one per Deflater or
 * Inflater, however their constructors chain) and its {@code run()} (reached from {@code end()}
 * and from the cleaner; it clears the address, so a second run frees nothing).
 *
 * <p>Order, where one method has several parts (as Byte Buddy's {@code Advice} wrappers, which
 * wove these before, composed them): at entry the free, then the mark; at a return the mark's
 * end, then the allocation.
 */
final class Advices {

    /** An argument index that is none. */
    static final int NONE = -1;
    /** Where a block's address comes from: the method's return value. */
    static final int RETURN = -2;
    /** What is freed at entry: the advised object's own {@code long address} field. */
    static final int ADDRESS_FIELD = -3;

    private Advices() {
    }

    /**
     * The advice on the methods of a class named name with descriptor desc (null: any, for the
     * constructors of a class that has one). Argument indexes count the declared parameters
     * from 0, as Byte Buddy's {@code @Argument}; an argument is read from its slot when the
     * inserted code runs (at an exit: as the method left it).
     */
    static final class Advice {
        final String name;
        final String desc;
        /** At entry, free(that argument, or ADDRESS_FIELD); NONE: nothing. */
        final int freeArg;
        /** Around the body, under hz3: enter() at entry, exit(mark, markKind) at the exits; NONE: no mark. */
        final int markKind;
        /** The mark's exit runs when the body throws too (then the throwable goes on). */
        final boolean onThrowable;
        /** At a return, alloc(address, bytes, allocKind): address from RETURN or an argument; NONE: no alloc. */
        final int allocAddress;
        /** The bytes: that argument, or NONE for allocBytes. */
        final int allocBytesArg;
        final long allocBytes;
        final int allocKind;

        private Advice(String name, String desc, int freeArg, int markKind, boolean onThrowable,
                int allocAddress, int allocBytesArg, long allocBytes, int allocKind) {
            this.name = name;
            this.desc = desc;
            this.freeArg = freeArg;
            this.markKind = markKind;
            this.onThrowable = onThrowable;
            this.allocAddress = allocAddress;
            this.allocBytesArg = allocBytesArg;
            this.allocBytes = allocBytes;
            this.allocKind = allocKind;
        }

        /** Nothing yet, on name(desc). */
        static Advice on(String name, String desc) {
            return new Advice(name, desc, NONE, NONE, false, NONE, NONE, 0, 0);
        }

        Advice free(int arg) {
            return new Advice(name, desc, arg, markKind, onThrowable, allocAddress, allocBytesArg,
                    allocBytes, allocKind);
        }

        Advice mark(int kind, boolean throwsToo) {
            return new Advice(name, desc, freeArg, kind, throwsToo, allocAddress, allocBytesArg,
                    allocBytes, allocKind);
        }

        /** bytesArg NONE: the block is bytes long. */
        Advice alloc(int address, int bytesArg, long bytes, int kind) {
            return new Advice(name, desc, freeArg, markKind, onThrowable, address, bytesArg, bytes, kind);
        }

        boolean matches(String methodName, String methodDesc) {
            return name.equals(methodName) && (desc == null || desc.equals(methodDesc));
        }

        boolean hasExit() {
            return markKind != NONE || allocAddress != NONE;
        }
    }

    /** jdk.internal.misc.Unsafe.allocateMemory(long): the block it returns. */
    static Advice allocate() {
        return Advice.on("allocateMemory", "(J)J").alloc(RETURN, 0, 0, NativeAllocHooks.KIND_UNSAFE);
    }

    /**
     * jdk.internal.misc.Unsafe.reallocateMemory(long, long): the old block is forgotten before
     * the call (so its address cannot be reused meanwhile), the new one counted after.
     */
    static Advice reallocate() {
        return Advice.on("reallocateMemory", "(JJ)J").free(0)
                .alloc(RETURN, 1, 0, NativeAllocHooks.KIND_UNSAFE);
    }

    /** jdk.internal.misc.Unsafe.freeMemory(long), before the block is freed. */
    static Advice free() {
        return Advice.on("freeMemory", "(J)V").free(0);
    }

    /**
     * Under hz3: the mallocs inside Unsafe.allocateMemory/reallocateMemory belong to the call's
     * site (its pages, pinned or not, are the site's).
     */
    static Advice markUnsafe(Advice a) {
        return a.mark(NativeAllocHooks.KIND_UNSAFE, true);
    }

    /** {Deflater,Inflater}$*ZStreamRef(owner, long address): zlib's nominal bytes for the stream. */
    static Advice newZStream(long bytes, int kind) {
        return Advice.on("<init>", null).alloc(1, NONE, bytes, kind);
    }

    /** {Deflater,Inflater}$*ZStreamRef.run() (synchronized): the address it is about to end. */
    static Advice endZStream() {
        return Advice.on("run", "()V").free(ADDRESS_FIELD);
    }

    /**
     * The application's com.sun.jna.Memory.malloc(long), through which every Memory(size) is
     * allocated (JNA 5): the block it returns.
     */
    static Advice jnaMalloc() {
        return Advice.on("malloc", "(J)J").alloc(RETURN, 0, 0, NativeAllocHooks.KIND_JNA_MEMORY);
    }

    /** com.sun.jna.Memory.free(long), from close(), dispose() and the cleaner: before the free. */
    static Advice jnaFree() {
        return Advice.on("free", "(J)V").free(0);
    }

    /**
     * Under hz3: zlib's own mallocs inside Deflater(int, boolean) (its state, window, hash
     * chains and pending buffer), which Java never sees, belong to the constructor's caller. A
     * constructor cannot catch what it throws: a mark left by one is cleared by the thread's
     * next outermost mark (see SiteSampler.onEnter).
     */
    static Advice markDeflater() {
        return Advice.on("<init>", "(IZ)V").mark(NativeAllocHooks.KIND_DEFLATER, false);
    }

    /** Under hz3: zlib's mallocs inside Inflater(boolean), as {@link #markDeflater}. */
    static Advice markInflater() {
        return Advice.on("<init>", "(Z)V").mark(NativeAllocHooks.KIND_INFLATER, false);
    }

    /**
     * Under hz3: zlib allocates an inflate stream's window (32 KiB at the JDK's windowBits) at the
     * first Inflater.inflate that produces output (or setDictionary), not in the constructor: the
     * mallocs inside those calls (name: inflate or setDictionary, desc: ([BII) or (ByteBuffer))
     * belong to the call's site. The call may throw (DataFormatException): the mark is cleared
     * then too.
     */
    static Advice markInflate(String name, String desc) {
        return Advice.on(name, desc).mark(NativeAllocHooks.KIND_INFLATER, true);
    }

    /**
     * Under hz3, agent option nativeMethods=: the wrapper of a native method the user named
     * (see NativeWrapper), so that what the native library mallocs inside belongs to the Java
     * call's site.
     */
    static Advice markNative(String name, String desc) {
        return Advice.on(name, desc).mark(NativeAllocHooks.KIND_NATIVE_CALL, true);
    }
}
