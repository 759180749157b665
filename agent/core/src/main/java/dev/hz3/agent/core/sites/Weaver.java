package dev.hz3.agent.core.sites;

import dev.hz3.agent.core.sites.Advices.Advice;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.ClassWriter;
import net.bytebuddy.jar.asm.FieldVisitor;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

/**
 * Weaves a plan of {@link Advices} into a class file with ASM (the copy Byte Buddy ships), one
 * {@link AdvisedMethod} per advised method. Apart from {@link AdviceTransformer} so that the
 * transformer loads no ASM class when {@link WovenCache} has the class woven already: the JVM's
 * verifier loads the classes a method passes as ASM types when it links that method's class.
 */
final class Weaver {

    private Weaver() {
    }

    /** The class with the advice woven in; throws if an advised method is not as planned. */
    static byte[] weave(byte[] classFile, List<Advice> plan) {
        ClassReader reader = new ClassReader(classFile);
        Scan scan = new Scan(plan);
        reader.accept(scan, ClassReader.SKIP_DEBUG | ClassReader.SKIP_FRAMES);
        if (scan.maxLocals.isEmpty()) {
            throw new IllegalStateException("none of its methods is as planned");
        }
        ClassWriter writer = new ClassWriter(reader, ClassWriter.COMPUTE_MAXS);
        boolean frames = (reader.readUnsignedShort(6) & 0xffff) >= Opcodes.V1_6;
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String desc, String signature,
                    String[] exceptions) {
                MethodVisitor mv = super.visitMethod(access, name, desc, signature, exceptions);
                Integer base = scan.maxLocals.get(name + desc);
                Advice a = base == null ? null : find(plan, name, desc);
                return a == null ? mv
                        : new AdvisedMethod(mv, a, reader.getClassName(), access, desc, base, frames);
            }
        }, ClassReader.EXPAND_FRAMES);
        return writer.toByteArray();
    }

    static Advice find(List<Advice> plan, String name, String desc) {
        for (Advice a : plan) {
            if (a.matches(name, desc)) {
                return a;
            }
        }
        return null;
    }

    /**
     * First pass: each advised method's max_locals (the advice's slots go past them) and whether
     * the field the advice reads is there.
     */
    private static final class Scan extends ClassVisitor {
        final List<Advice> plan;
        final Map<String, Integer> maxLocals = new HashMap<>();
        boolean addressField;

        Scan(List<Advice> plan) {
            super(Opcodes.ASM9);
            this.plan = plan;
        }

        @Override
        public FieldVisitor visitField(int access, String name, String desc, String signature,
                Object value) {
            if (name.equals("address") && desc.equals("J") && (access & Opcodes.ACC_STATIC) == 0) {
                addressField = true;
            }
            return null;
        }

        @Override
        public MethodVisitor visitMethod(int access, String name, String desc, String signature,
                String[] exceptions) {
            Advice a = find(plan, name, desc);
            if (a == null || (access & (Opcodes.ACC_ABSTRACT | Opcodes.ACC_NATIVE)) != 0) {
                return null;
            }
            if (a.freeArg == Advices.ADDRESS_FIELD && !addressField) {
                throw new IllegalStateException("no long field address for " + name);
            }
            return new MethodVisitor(Opcodes.ASM9) {
                @Override
                public void visitMaxs(int maxStack, int max) {
                    maxLocals.put(name + desc, max);
                }
            };
        }
    }
}
