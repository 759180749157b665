package dev.hz3.agent.core.sites;

import java.util.Arrays;
import net.bytebuddy.jar.asm.Opcodes;
import net.bytebuddy.jar.asm.Type;

/**
 * Stack map frames for {@link AdvisedMethod}, built as slot-indexed arrays of verification types
 * (ASM's Opcodes.TOP, INTEGER, LONG... or an internal class name), where a long or double takes
 * its slot and the next (HALF), and turned into ASM's form (one element per value, trailing TOPs
 * dropped) when written.
 */
final class Frames {

    /** The second slot of a long or double. */
    private static final Object HALF = new Object();

    private Frames() {
    }

    /** The verification type of a value of type t. */
    static Object frameType(Type t) {
        switch (t.getSort()) {
            case Type.BOOLEAN:
            case Type.BYTE:
            case Type.CHAR:
            case Type.SHORT:
            case Type.INT:
                return Opcodes.INTEGER;
            case Type.FLOAT:
                return Opcodes.FLOAT;
            case Type.LONG:
                return Opcodes.LONG;
            case Type.DOUBLE:
                return Opcodes.DOUBLE;
            default:
                return t.getInternalName();
        }
    }

    /** A copy of slots with type at slot (TOP up to it). */
    static Object[] set(Object[] slots, int slot, Object type) {
        boolean wide = type == Opcodes.LONG || type == Opcodes.DOUBLE;
        Object[] s = Arrays.copyOf(slots, Math.max(slots.length, slot + (wide ? 2 : 1)));
        for (int i = 0; i < s.length; i++) {
            if (s[i] == null) {
                s[i] = Opcodes.TOP;
            }
        }
        s[slot] = type;
        if (wide) {
            s[slot + 1] = HALF;
        }
        return s;
    }

    static Object[] toSlots(Object[] frameLocals) {
        Object[] s = new Object[0];
        int slot = 0;
        for (Object t : frameLocals) {
            s = set(s, slot, t);
            slot += t == Opcodes.LONG || t == Opcodes.DOUBLE ? 2 : 1;
        }
        return s;
    }

    static Object[] toFrame(Object[] slots) {
        int end = slots.length;
        while (end > 0 && slots[end - 1] == Opcodes.TOP) {
            end--;
        }
        Object[] out = new Object[end];
        int n = 0;
        for (int i = 0; i < end; i++) {
            if (slots[i] != HALF) {
                out[n++] = slots[i];
            }
        }
        return Arrays.copyOf(out, n);
    }
}
