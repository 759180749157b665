package dev.hz3.agent.core.sites;

import dev.hz3.agent.boot.NativeAllocHooks;
import jdk.jfr.Event;
import net.bytebuddy.asm.Advice;

/**
 * The advice native attribution inlines into JDK classes. Each body is one call to
 * {@link NativeAllocHooks} (the only class of the agent's it may touch: the advised classes are
 * loaded by the bootstrap loader), and suppresses whatever that throws, so an advised JDK method
 * behaves as before whatever the agent does. Byte Buddy copies these bodies; the classes are
 * never run.
 *
 * <p>A sampled allocation's event is committed here, in the advised method, not in the sampler
 * (the agent's samples at the entry points, and under hz3 those hz3 took inside a marked call,
 * which its exit returns):
 * JFR's stack trace starts at its caller, so the top frame is the JDK's entry point (say
 * {@code Unsafe.allocateMemory}) and the stacks aggregate in JMC without the agent's frames. It
 * is called through {@code jdk.jfr.Event}, which java.base is made to read (see Instrumenter).
 *
 * <p>Where each allocation passes once: {@code sun.misc.Unsafe} delegates to
 * {@code jdk.internal.misc.Unsafe} (JDK 17 and later), and so do {@code DirectByteBuffer}'s
 * constructor and its {@code Deallocator}, so only {@code jdk.internal.misc.Unsafe} is advised,
 * and the sampler tells a direct buffer from its stack. A zlib stream is advised where its
 * native address is known once: its {@code ZStreamRef}'s constructor (one per Deflater or
 * Inflater, however their constructors chain) and its {@code run()} (reached from {@code end()}
 * and from the cleaner; it clears the address, so a second run frees nothing).
 */
final class Advices {

    private Advices() {
    }

    /** jdk.internal.misc.Unsafe.allocateMemory(long): the block it returns. */
    static final class Allocate {
        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.Argument(0) long bytes, @Advice.Return long address) {
            Object sample = NativeAllocHooks.alloc(address, bytes, NativeAllocHooks.KIND_UNSAFE);
            if (sample != null) {
                ((Event) sample).commit();
            }
        }
    }

    /**
     * jdk.internal.misc.Unsafe.reallocateMemory(long, long): the old block is forgotten before
     * the call (so its address cannot be reused meanwhile), the new one counted after.
     */
    static final class Reallocate {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static void enter(@Advice.Argument(0) long address) {
            NativeAllocHooks.free(address);
        }

        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.Argument(1) long bytes, @Advice.Return long address) {
            Object sample = NativeAllocHooks.alloc(address, bytes, NativeAllocHooks.KIND_UNSAFE);
            if (sample != null) {
                ((Event) sample).commit();
            }
        }
    }

    /** jdk.internal.misc.Unsafe.freeMemory(long), before the block is freed. */
    static final class Free {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static void enter(@Advice.Argument(0) long address) {
            NativeAllocHooks.free(address);
        }
    }

    /** Deflater$DeflaterZStreamRef(Deflater, long address). */
    static final class NewDeflater {
        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.Argument(1) long address) {
            Object sample = NativeAllocHooks.alloc(address, NativeAllocHooks.DEFLATER_BYTES,
                    NativeAllocHooks.KIND_DEFLATER);
            if (sample != null) {
                ((Event) sample).commit();
            }
        }
    }

    /** Inflater$InflaterZStreamRef(Inflater, long address). */
    static final class NewInflater {
        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.Argument(1) long address) {
            Object sample = NativeAllocHooks.alloc(address, NativeAllocHooks.INFLATER_BYTES,
                    NativeAllocHooks.KIND_INFLATER);
            if (sample != null) {
                ((Event) sample).commit();
            }
        }
    }

    /**
     * The application's com.sun.jna.Memory.malloc(long), through which every Memory(size) is
     * allocated (JNA 5): the block it returns.
     */
    static final class JnaMalloc {
        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.Argument(0) long bytes, @Advice.Return long address) {
            Object sample = NativeAllocHooks.alloc(address, bytes, NativeAllocHooks.KIND_JNA_MEMORY);
            if (sample != null) {
                ((Event) sample).commit();
            }
        }
    }

    /** com.sun.jna.Memory.free(long), from close(), dispose() and the cleaner: before the free. */
    static final class JnaFree {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static void enter(@Advice.Argument(0) long address) {
            NativeAllocHooks.free(address);
        }
    }

    /**
     * Under hz3: the mallocs inside jdk.internal.misc.Unsafe.allocateMemory/reallocateMemory
     * belong to the call's site (its pages, pinned or not, are the site's).
     */
    static final class MarkUnsafe {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static int enter() {
            return NativeAllocHooks.enter();
        }

        @Advice.OnMethodExit(suppress = Throwable.class, onThrowable = Throwable.class)
        static void exit(@Advice.Enter int mark) {
            Object[] samples = NativeAllocHooks.exit(mark, NativeAllocHooks.KIND_UNSAFE);
            if (samples != null) {
                for (Object e : samples) {
                    ((Event) e).commit();
                }
            }
        }
    }

    /**
     * Under hz3: zlib's own mallocs inside Deflater(int, boolean) (its state, window, hash
     * chains and pending buffer), which Java never sees, belong to the constructor's caller. A
     * constructor cannot catch what it throws: a mark left by one is cleared by the thread's
     * next outermost mark (see SiteSampler.onEnter).
     */
    static final class MarkDeflater {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static int enter() {
            return NativeAllocHooks.enter();
        }

        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.Enter int mark) {
            Object[] samples = NativeAllocHooks.exit(mark, NativeAllocHooks.KIND_DEFLATER);
            if (samples != null) {
                for (Object e : samples) {
                    ((Event) e).commit();
                }
            }
        }
    }

    /** Under hz3: zlib's mallocs inside Inflater(boolean), as {@link MarkDeflater}. */
    static final class MarkInflater {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static int enter() {
            return NativeAllocHooks.enter();
        }

        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.Enter int mark) {
            Object[] samples = NativeAllocHooks.exit(mark, NativeAllocHooks.KIND_INFLATER);
            if (samples != null) {
                for (Object e : samples) {
                    ((Event) e).commit();
                }
            }
        }
    }

    /**
     * Under hz3: zlib allocates an inflate stream's window (32 KiB at the JDK's windowBits) at the
     * first Inflater.inflate that produces output (or setDictionary), not in the constructor: the
     * mallocs inside those calls belong to the call's site. The call may throw
     * (DataFormatException): the mark is cleared then too.
     */
    static final class MarkInflate {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static int enter() {
            return NativeAllocHooks.enter();
        }

        @Advice.OnMethodExit(suppress = Throwable.class, onThrowable = Throwable.class)
        static void exit(@Advice.Enter int mark) {
            Object[] samples = NativeAllocHooks.exit(mark, NativeAllocHooks.KIND_INFLATER);
            if (samples != null) {
                for (Object e : samples) {
                    ((Event) e).commit();
                }
            }
        }
    }

    /**
     * Under hz3, agent option nativeMethods=: wraps a native method the user named (through the
     * JVM's native-method prefix: the original is renamed, this wrapper calls it), so that what
     * the native library mallocs inside belongs to the Java call's site.
     */
    static final class MarkNative {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static int enter() {
            return NativeAllocHooks.enter();
        }

        @Advice.OnMethodExit(suppress = Throwable.class, onThrowable = Throwable.class)
        static void exit(@Advice.Enter int mark) {
            Object[] samples = NativeAllocHooks.exit(mark, NativeAllocHooks.KIND_NATIVE_CALL);
            if (samples != null) {
                for (Object e : samples) {
                    ((Event) e).commit();
                }
            }
        }
    }

    /** {Deflater,Inflater}$*ZStreamRef.run() (synchronized): the address it is about to end. */
    static final class EndZStream {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static void enter(@Advice.FieldValue("address") long address) {
            NativeAllocHooks.free(address);
        }
    }
}
