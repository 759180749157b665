package dev.hz3.samples;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;

/**
 * The three {@code sun.misc.Unsafe} methods the samples use, found by reflection on
 * {@code theUnsafe} (jdk.unsupported opens sun.misc, so no command-line flag is needed).
 *
 * <p>{@code allocateMemory} and {@code freeMemory} are plain {@code os::malloc}/{@code os::free}
 * in the JVM, hence malloc/free of whatever allocator is preloaded; {@code invokeCleaner} frees
 * a direct buffer now rather than whenever the GC notices it.
 */
final class UnsafeAccess {

    private static final MethodHandle ALLOCATE;
    private static final MethodHandle FREE;
    private static final MethodHandle INVOKE_CLEANER;

    static {
        try {
            ALLOCATE = method("allocateMemory", MethodType.methodType(long.class, long.class));
            FREE = method("freeMemory", MethodType.methodType(void.class, long.class));
            INVOKE_CLEANER = method("invokeCleaner", MethodType.methodType(void.class, ByteBuffer.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** A method of {@code sun.misc.Unsafe}, bound to {@code theUnsafe}. */
    static MethodHandle method(String name, MethodType type) throws ReflectiveOperationException {
        Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
        Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
        theUnsafe.setAccessible(true);
        return MethodHandles.lookup().findVirtual(unsafeClass, name, type).bindTo(theUnsafe.get(null));
    }

    private UnsafeAccess() {
    }

    static long allocateMemory(long bytes) {
        try {
            return (long) ALLOCATE.invokeExact(bytes);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static void freeMemory(long address) {
        try {
            FREE.invokeExact(address);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Frees the native memory of a direct buffer (not a slice or duplicate) right away. */
    static void free(ByteBuffer direct) {
        try {
            INVOKE_CLEANER.invokeExact(direct);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
