package dev.hz3.agent.core.nat;

import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads the records hz3 hands its listener (a snapshot a second, an epoch record five times a
 * second) into {@link Hz3Structs}' classes through one view of the native memory. JNA's
 * {@code Structure.read()} goes field by field, each a native call and a reflective lookup:
 * about a millisecond of hz3's maintenance thread per snapshot, most of what an idle JVM paid
 * for the agent. The layout (each field's offset) is JNA's own, asked once per class, so the
 * result is the one {@code read()} gives (Hz3BindingTest compares the two).
 */
public final class StructReader {

    private static final Map<Class<?>, Layout> LAYOUTS = new ConcurrentHashMap<>();

    private StructReader() {
    }

    /** The snapshot at p (the listener's data, valid only during the call), copied. */
    public static Hz3Structs.Snapshot snapshot(Pointer p) {
        return read(new Hz3Structs.Snapshot(), p);
    }

    /**
     * Fills s's fields from the struct at p, laid out as s is; returns s. The listener reads each
     * epoch record into one EpochInfo of its own (a new Structure costs a native allocation).
     */
    public static <T extends Structure> T read(T s, Pointer p) {
        ByteBuffer b = p.getByteBuffer(0, layout(s).size).order(ByteOrder.nativeOrder());
        try {
            fill(s, b, 0);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);   // public fields: cannot happen
        }
        return s;
    }

    /** Fills s from a copy of its bytes (see {@link #bytes}); returns s. */
    public static <T extends Structure> T read(T s, byte[] raw) {
        try {
            fill(s, ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder()), 0);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);   // public fields: cannot happen
        }
        return s;
    }

    /** The bytes of the struct at p, laid out as like is: one copy, read later with {@link #read(Structure, byte[])}. */
    public static byte[] bytes(Structure like, Pointer p) {
        return p.getByteArray(0, layout(like).size);
    }

    private static void fill(Object s, ByteBuffer b, int base) throws IllegalAccessException {
        for (Slot f : layout((Structure) s).slots) {
            int at = base + f.offset;
            Class<?> t = f.field.getType();
            if (t == long.class) {
                f.field.setLong(s, b.getLong(at));
            } else if (t == int.class) {
                f.field.setInt(s, b.getInt(at));
            } else if (t == short.class) {
                f.field.setShort(s, b.getShort(at));
            } else if (t == byte.class) {
                f.field.setByte(s, b.get(at));
            } else if (t == long[].class) {
                long[] a = (long[]) f.field.get(s);
                for (int i = 0; i < a.length; i++) {
                    a[i] = b.getLong(at + 8 * i);
                }
            } else if (t == int[].class) {
                int[] a = (int[]) f.field.get(s);
                for (int i = 0; i < a.length; i++) {
                    a[i] = b.getInt(at + 4 * i);
                }
            } else if (t == byte[].class) {
                byte[] a = (byte[]) f.field.get(s);
                for (int i = 0; i < a.length; i++) {
                    a[i] = b.get(at + i);
                }
            } else if (Structure[].class.isAssignableFrom(t)) {
                Structure[] a = (Structure[]) f.field.get(s);
                for (int i = 0; i < a.length; i++) {
                    fill(a[i], b, at + i * layout(a[i]).size);   // Structure.size() costs a lookup
                }
            } else {
                throw new IllegalStateException("StructReader: field " + f.field + " of a type it does not read");
            }
        }
    }

    private record Slot(Field field, int offset) {
    }

    /** A struct's fields with their offsets, and its size (both JNA's). */
    private record Layout(Slot[] slots, int size) {
    }

    private static Layout layout(Structure s) {
        Layout l = LAYOUTS.get(s.getClass());
        return l != null ? l : LAYOUTS.computeIfAbsent(s.getClass(), c -> {
            try {
                Method offset = Structure.class.getDeclaredMethod("fieldOffset", String.class);
                offset.setAccessible(true);
                List<Slot> slots = new ArrayList<>();
                for (String name : c.getAnnotation(Structure.FieldOrder.class).value()) {
                    slots.add(new Slot(c.getField(name), (Integer) offset.invoke(s, name)));
                }
                return new Layout(slots.toArray(new Slot[0]), s.size());
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("StructReader: the layout of " + c.getSimpleName(), e);
            }
        });
    }
}
