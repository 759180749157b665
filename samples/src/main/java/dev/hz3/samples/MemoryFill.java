package dev.hz3.samples;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;

/**
 * Writes native memory from {@link UnsafeAccess#allocateMemory}, so that what a sample
 * allocates is resident (an untouched block costs address space, not RSS) and so that a
 * block's contents can be checked before it is freed. {@code sun.misc.Unsafe.setMemory} and
 * {@code getByte}, found through {@link UnsafeAccess#method}.
 */
final class MemoryFill {

    private static final MethodHandle SET_MEMORY;
    private static final MethodHandle GET_BYTE;

    static {
        try {
            SET_MEMORY = UnsafeAccess.method("setMemory",
                    MethodType.methodType(void.class, long.class, long.class, byte.class));
            GET_BYTE = UnsafeAccess.method("getByte", MethodType.methodType(byte.class, long.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private MemoryFill() {
    }

    /** Sets {@code bytes} bytes at {@code address} to {@code value}. */
    static void fill(long address, long bytes, byte value) {
        try {
            SET_MEMORY.invokeExact(address, bytes, value);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    /** The byte at {@code address}. */
    static byte get(long address) {
        try {
            return (byte) GET_BYTE.invokeExact(address);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    /**
     * Throws if the first or last byte of a block filled with {@code value} changed: a cheap
     * sign that the allocator handed the same memory out twice.
     */
    static void check(long address, long bytes, byte value) {
        if (get(address) != value || get(address + bytes - 1) != value) {
            throw new IllegalStateException(String.format(
                    "native block 0x%x of %d bytes was overwritten (want 0x%02x, found 0x%02x..0x%02x)",
                    address, bytes, value & 0xff, get(address) & 0xff, get(address + bytes - 1) & 0xff));
        }
    }

    private static RuntimeException unchecked(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
