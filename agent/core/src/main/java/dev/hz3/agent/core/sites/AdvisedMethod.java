package dev.hz3.agent.core.sites;

import static dev.hz3.agent.core.sites.Frames.frameType;
import static dev.hz3.agent.core.sites.Frames.set;
import static dev.hz3.agent.core.sites.Frames.toFrame;
import static dev.hz3.agent.core.sites.Frames.toSlots;

import dev.hz3.agent.core.sites.Advices.Advice;
import java.util.Arrays;
import net.bytebuddy.jar.asm.Handle;
import net.bytebuddy.jar.asm.Label;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;
import net.bytebuddy.jar.asm.Type;

/**
 * Weaves one {@link Advice} into one method as the class is read (ASM, from the copy Byte Buddy
 * ships: Byte Buddy's own machinery never loads). Its shape is Byte Buddy's inlined advice:
 *
 * <pre>
 *   mark = 0; try { free(...) } catch (Throwable t) {}; try { mark = enter() } catch (Throwable t) {}
 *   [the body; each return stores its value and jumps to the exit; when onThrowable, the whole
 *    body is covered by a handler that runs the mark's exit and rethrows]
 *   exit: try { [commit each of] exit(mark, kind) } catch ...; try { [commit] alloc(...) } catch ...
 *         return the value
 * </pre>
 *
 * <p>Frames. The class is written with COMPUTE_MAXS only: computing frames would load classes
 * (to merge types) while a JDK class is being defined. The frames the inserted code needs are
 * known without analysis: the enter code runs on the method's entry frame; the exit code and the
 * handlers declare every local TOP but the arguments they read (whose slots keep their declared
 * types, as javac compiles), the mark and the return value, which live in new slots past the
 * method's own (base: its max_locals). The mark lives through the body, so every frame of the
 * body is given its slot (INTEGER). The class is read with EXPAND_FRAMES for that.
 */
final class AdvisedMethod extends MethodVisitor {

    static final String HOOKS = "dev/hz3/agent/boot/NativeAllocHooks";
    private static final String EVENT = "jdk/jfr/Event";
    private static final String THROWABLE = "java/lang/Throwable";
    /** The pieces of advice (see suppressed). */
    private static final int FREE = 0;
    private static final int ENTER = 1;
    private static final int MARK_EXIT = 2;
    private static final int ALLOC_EXIT = 3;

    private final Advice advice;
    private final String owner;
    private final boolean isStatic;
    private final boolean isConstructor;
    private final Type[] args;
    private final Type ret;
    /** Whether the class file carries frames (version 50 and later). */
    private final boolean frames;
    private final int markSlot;
    private final int retSlot;
    private final int throwSlot;
    private final int arraySlot;
    private final int indexSlot;
    private final Label bodyStart = new Label();
    private final Label bodyEnd = new Label();
    private final Label exit = new Label();
    private final Label thrown = new Label();
    private boolean started;
    private boolean returns;

    /** base: the method's max_locals before weaving (the first slot free for the advice's). */
    AdvisedMethod(MethodVisitor next, Advice advice, String owner, int access, String desc, int base,
            boolean frames) {
        super(Opcodes.ASM9, next);
        this.advice = advice;
        this.owner = owner;
        this.isStatic = (access & Opcodes.ACC_STATIC) != 0;
        this.isConstructor = advice.name.equals("<init>");
        this.args = Type.getArgumentTypes(desc);
        this.ret = Type.getReturnType(desc);
        this.frames = frames;
        markSlot = base;
        retSlot = base + 1;
        throwSlot = retSlot + ret.getSize();
        arraySlot = throwSlot + 1;
        indexSlot = arraySlot + 1;
        check();
    }

    /** What the advice reads must be there: a long where it reads one. */
    private void check() {
        for (int a : new int[] {advice.freeArg, advice.allocAddress, advice.allocBytesArg}) {
            if (a >= 0 && (a >= args.length || args[a] != Type.LONG_TYPE)) {
                throw new IllegalArgumentException(advice.name + ": argument " + a + " is not a long");
            }
        }
        if (advice.allocAddress == Advices.RETURN && ret != Type.LONG_TYPE) {
            throw new IllegalArgumentException(advice.name + " does not return a long");
        }
        if (advice.freeArg == Advices.ADDRESS_FIELD && isStatic) {
            throw new IllegalArgumentException(advice.name + " is static: no address field");
        }
    }

    private int slotOf(int arg) {
        int s = isStatic ? 0 : 1;
        for (int i = 0; i < arg; i++) {
            s += args[i].getSize();
        }
        return s;
    }

    // ---- the code as it comes: the advice goes in before the first instruction, after the
    // ---- method's own exception table (so that its handlers keep priority over ours)

    private void start() {
        if (started) {
            return;
        }
        started = true;
        if (advice.onThrowable) {
            mv.visitTryCatchBlock(bodyStart, bodyEnd, thrown, THROWABLE);
        }
        Object[] entry = entrySlots();
        if (advice.markKind != Advices.NONE) {
            mv.visitInsn(Opcodes.ICONST_0);
            mv.visitVarInsn(Opcodes.ISTORE, markSlot);
            entry = set(entry, markSlot, Opcodes.INTEGER);
        }
        if (advice.freeArg != Advices.NONE) {
            suppressed(entry, FREE);
        }
        if (advice.markKind != Advices.NONE) {
            suppressed(entry, ENTER);
        }
        if (advice.freeArg != Advices.NONE || advice.markKind != Advices.NONE) {
            // The body's first instruction may carry a frame of its own: not at our last one's.
            mv.visitInsn(Opcodes.NOP);
        }
        mv.visitLabel(bodyStart);
    }

    @Override
    public void visitInsn(int opcode) {
        start();
        if (opcode >= Opcodes.IRETURN && opcode <= Opcodes.RETURN && advice.hasExit()) {
            returns = true;
            if (ret.getSort() != Type.VOID) {
                mv.visitVarInsn(ret.getOpcode(Opcodes.ISTORE), retSlot);
            }
            mv.visitJumpInsn(Opcodes.GOTO, exit);
            return;
        }
        super.visitInsn(opcode);
    }

    @Override
    public void visitFrame(int type, int numLocal, Object[] local, int numStack, Object[] stack) {
        start();
        if (advice.markKind == Advices.NONE || !frames) {
            super.visitFrame(type, numLocal, local, numStack, stack);
            return;
        }
        // EXPAND_FRAMES: every frame is F_NEW, with all its locals; the mark's slot is added.
        Object[] slots = set(toSlots(Arrays.copyOf(local, numLocal)), markSlot, Opcodes.INTEGER);
        Object[] locals = toFrame(slots);
        super.visitFrame(Opcodes.F_NEW, locals.length, locals, numStack, stack);
    }

    @Override
    public void visitMaxs(int maxStack, int maxLocals) {
        start();
        mv.visitLabel(bodyEnd);
        if (returns) {
            Object[] locals = exitSlots();
            if (advice.markKind != Advices.NONE) {
                locals = set(locals, markSlot, Opcodes.INTEGER);
            }
            if (ret.getSort() != Type.VOID) {
                locals = set(locals, retSlot, frameType(ret));
            }
            mv.visitLabel(exit);
            frame(locals);
            if (advice.markKind != Advices.NONE) {
                markExit(locals);
            }
            if (advice.allocAddress != Advices.NONE) {
                allocExit(locals);
            }
            if (ret.getSort() != Type.VOID) {
                mv.visitVarInsn(ret.getOpcode(Opcodes.ILOAD), retSlot);
            }
            mv.visitInsn(ret.getOpcode(Opcodes.IRETURN));
        }
        if (advice.onThrowable) {
            Object[] locals = set(new Object[0], markSlot, Opcodes.INTEGER);
            mv.visitLabel(thrown);
            frame(locals, THROWABLE);
            mv.visitVarInsn(Opcodes.ASTORE, throwSlot);
            locals = set(locals, throwSlot, THROWABLE);
            markExit(locals);
            mv.visitVarInsn(Opcodes.ALOAD, throwSlot);
            mv.visitInsn(Opcodes.ATHROW);
        }
        super.visitMaxs(maxStack, maxLocals);
    }

    private void free() {
        if (advice.freeArg == Advices.ADDRESS_FIELD) {
            mv.visitVarInsn(Opcodes.ALOAD, 0);
            mv.visitFieldInsn(Opcodes.GETFIELD, owner, "address", "J");
        } else {
            mv.visitVarInsn(Opcodes.LLOAD, slotOf(advice.freeArg));
        }
        mv.visitMethodInsn(Opcodes.INVOKESTATIC, HOOKS, "free", "(J)V", false);
    }

    private void enter() {
        mv.visitMethodInsn(Opcodes.INVOKESTATIC, HOOKS, "enter", "()I", false);
        mv.visitVarInsn(Opcodes.ISTORE, markSlot);
    }

    private void markExit(Object[] locals) {
        suppressed(locals, MARK_EXIT);
    }

    /** Commits the events hz3 sampled inside the call, in the advised method (JFR's top frame). */
    private void markExit(Object[] locals, Label done) {
        mv.visitVarInsn(Opcodes.ILOAD, markSlot);
        pushInt(advice.markKind);
        mv.visitMethodInsn(Opcodes.INVOKESTATIC, HOOKS, "exit", "(II)[Ljava/lang/Object;", false);
        Label next = new Label();
        Label cond = new Label();
        onlyIfNotNull(done, locals, "[Ljava/lang/Object;");
        mv.visitVarInsn(Opcodes.ASTORE, arraySlot);
        mv.visitInsn(Opcodes.ICONST_0);
        mv.visitVarInsn(Opcodes.ISTORE, indexSlot);
        mv.visitJumpInsn(Opcodes.GOTO, cond);
        Object[] inLoop = set(set(locals, arraySlot, "[Ljava/lang/Object;"), indexSlot, Opcodes.INTEGER);
        mv.visitLabel(next);
        frame(inLoop);
        mv.visitVarInsn(Opcodes.ALOAD, arraySlot);
        mv.visitVarInsn(Opcodes.ILOAD, indexSlot);
        mv.visitInsn(Opcodes.AALOAD);
        commit();
        mv.visitIincInsn(indexSlot, 1);
        mv.visitLabel(cond);
        frame(inLoop);
        mv.visitVarInsn(Opcodes.ILOAD, indexSlot);
        mv.visitVarInsn(Opcodes.ALOAD, arraySlot);
        mv.visitInsn(Opcodes.ARRAYLENGTH);
        mv.visitJumpInsn(Opcodes.IF_ICMPLT, next);
    }

    private void allocExit(Object[] locals) {
        suppressed(locals, ALLOC_EXIT);
    }

    /** Counts the block, and commits its event when sampled. */
    private void allocExit(Object[] locals, Label done) {
        mv.visitVarInsn(Opcodes.LLOAD, advice.allocAddress == Advices.RETURN ? retSlot
                : slotOf(advice.allocAddress));
        if (advice.allocBytesArg != Advices.NONE) {
            mv.visitVarInsn(Opcodes.LLOAD, slotOf(advice.allocBytesArg));
        } else {
            mv.visitLdcInsn(advice.allocBytes);
        }
        pushInt(advice.allocKind);
        mv.visitMethodInsn(Opcodes.INVOKESTATIC, HOOKS, "alloc", "(JJI)Ljava/lang/Object;", false);
        onlyIfNotNull(done, locals, "java/lang/Object");
        commit();
    }

    /**
     * With a hook's result on the stack: null is popped and goes to done; anything else stays
     * on the stack, where the code that follows goes on with it (a frame of that type).
     */
    private void onlyIfNotNull(Label done, Object[] locals, String type) {
        Label some = new Label();
        mv.visitInsn(Opcodes.DUP);
        mv.visitJumpInsn(Opcodes.IFNONNULL, some);
        mv.visitInsn(Opcodes.POP);
        mv.visitJumpInsn(Opcodes.GOTO, done);
        mv.visitLabel(some);
        frame(locals, type);
    }

    private void commit() {
        mv.visitTypeInsn(Opcodes.CHECKCAST, EVENT);
        mv.visitMethodInsn(Opcodes.INVOKEVIRTUAL, EVENT, "commit", "()V", false);
    }

    /**
     * The piece of advice (FREE, ENTER, MARK_EXIT, ALLOC_EXIT), run on a frame of locals
     * (slot-indexed), with whatever it throws swallowed. A number, not a lambda per piece: no
     * class to spin at weaving (see Order).
     */
    private void suppressed(Object[] locals, int piece) {
        Label from = new Label();
        Label to = new Label();
        Label handler = new Label();
        Label done = new Label();
        mv.visitTryCatchBlock(from, to, handler, THROWABLE);
        mv.visitLabel(from);
        switch (piece) {
            case FREE -> free();
            case ENTER -> enter();
            case MARK_EXIT -> markExit(locals, done);
            default -> allocExit(locals, done);
        }
        mv.visitLabel(to);
        mv.visitJumpInsn(Opcodes.GOTO, done);
        mv.visitLabel(handler);
        frame(locals, THROWABLE);
        mv.visitInsn(Opcodes.POP);
        mv.visitLabel(done);
        frame(locals);
    }

    private void pushInt(int v) {
        if (v >= -1 && v <= 5) {
            mv.visitInsn(Opcodes.ICONST_0 + v);
        } else {
            mv.visitIntInsn(Opcodes.BIPUSH, v);
        }
    }

    // ---- frames (see Frames)

    private void frame(Object[] slots, Object... stack) {
        if (frames) {
            Object[] locals = toFrame(slots);
            mv.visitFrame(Opcodes.F_NEW, locals.length, locals, stack.length, stack);
        }
    }

    /** The method's entry frame: this (uninitialised in a constructor) and the arguments. */
    private Object[] entrySlots() {
        Object[] s = new Object[0];
        int slot = 0;
        if (!isStatic) {
            s = set(s, slot++, isConstructor ? Opcodes.UNINITIALIZED_THIS : owner);
        }
        for (Type a : args) {
            s = set(s, slot, frameType(a));
            slot += a.getSize();
        }
        return s;
    }

    /** At an exit, only what the exit code reads: the argument slots it loads. */
    private Object[] exitSlots() {
        Object[] s = new Object[0];
        for (int a : new int[] {advice.allocAddress, advice.allocBytesArg}) {
            if (a >= 0 && advice.allocAddress != Advices.NONE) {
                s = set(s, slotOf(a), Opcodes.LONG);
            }
        }
        return s;
    }

    // ---- every other visit of the code starts the advice first

    @Override
    public void visitLabel(Label label) {
        start();
        super.visitLabel(label);
    }

    @Override
    public void visitLineNumber(int line, Label startLabel) {
        start();
        super.visitLineNumber(line, startLabel);
    }

    @Override
    public void visitIntInsn(int opcode, int operand) {
        start();
        super.visitIntInsn(opcode, operand);
    }

    @Override
    public void visitVarInsn(int opcode, int varIndex) {
        start();
        super.visitVarInsn(opcode, varIndex);
    }

    @Override
    public void visitTypeInsn(int opcode, String type) {
        start();
        super.visitTypeInsn(opcode, type);
    }

    @Override
    public void visitFieldInsn(int opcode, String owner, String name, String descriptor) {
        start();
        super.visitFieldInsn(opcode, owner, name, descriptor);
    }

    @Override
    public void visitMethodInsn(int opcode, String owner, String name, String descriptor,
            boolean isInterface) {
        start();
        super.visitMethodInsn(opcode, owner, name, descriptor, isInterface);
    }

    @Override
    public void visitInvokeDynamicInsn(String name, String descriptor,
            Handle bootstrapMethodHandle, Object... bootstrapMethodArguments) {
        start();
        super.visitInvokeDynamicInsn(name, descriptor, bootstrapMethodHandle, bootstrapMethodArguments);
    }

    @Override
    public void visitJumpInsn(int opcode, Label label) {
        start();
        super.visitJumpInsn(opcode, label);
    }

    @Override
    public void visitLdcInsn(Object value) {
        start();
        super.visitLdcInsn(value);
    }

    @Override
    public void visitIincInsn(int varIndex, int increment) {
        start();
        super.visitIincInsn(varIndex, increment);
    }

    @Override
    public void visitTableSwitchInsn(int min, int max, Label dflt, Label... labels) {
        start();
        super.visitTableSwitchInsn(min, max, dflt, labels);
    }

    @Override
    public void visitLookupSwitchInsn(Label dflt, int[] keys, Label[] labels) {
        start();
        super.visitLookupSwitchInsn(dflt, keys, labels);
    }

    @Override
    public void visitMultiANewArrayInsn(String descriptor, int numDimensions) {
        start();
        super.visitMultiANewArrayInsn(descriptor, numDimensions);
    }
}
