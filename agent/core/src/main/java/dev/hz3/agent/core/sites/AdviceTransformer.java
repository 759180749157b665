package dev.hz3.agent.core.sites;

import dev.hz3.agent.core.Log;
import dev.hz3.agent.core.sites.Advices.Advice;
import java.lang.instrument.ClassFileTransformer;
import java.security.ProtectionDomain;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.ClassWriter;
import net.bytebuddy.jar.asm.FieldVisitor;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

/**
 * Weaves the {@link Advices} into the few classes they name, by their exact name: a map lookup
 * per class the JVM loads, and for those a read and a write with ASM (the copy Byte Buddy ships),
 * one {@link AdvisedMethod} per advised method. Nothing else of the class is touched (no member
 * added, as retransformation requires; the methods not advised are copied as they are).
 *
 * <p>Not Byte Buddy's {@code Advice} and {@code ByteBuddy.decorate}, which wove the same code
 * before: to weave 13 pieces of advice they loaded about 700 classes (type descriptions, type
 * pools, method graphs) that the JIT then compiled, most of attribution's start-up cost
 * (bench/RESULTS.md, 2026-12-03).
 */
final class AdviceTransformer implements ClassFileTransformer {

    /** By internal name (a/b/C): what is woven in. */
    private final Map<String, List<Advice>> plans = new HashMap<>();
    private final ClassLoader ownLoader;
    /** Classes advised now, by name. */
    final Set<String> advised = ConcurrentHashMap.newKeySet();

    /** plans: by binary name (a.b.C). */
    AdviceTransformer(Map<String, List<Advice>> plans, ClassLoader ownLoader) {
        for (Map.Entry<String, List<Advice>> e : plans.entrySet()) {
            this.plans.put(e.getKey().replace('.', '/'), e.getValue());
        }
        this.ownLoader = ownLoader;
    }

    /** Binary names of every class planned. */
    Set<String> plannedNames() {
        Set<String> out = new HashSet<>();
        for (String n : plans.keySet()) {
            out.add(n.replace('/', '.'));
        }
        return out;
    }

    /**
     * Whether a class of that name in that loader is the one to advise: the JDK's only from the
     * bootstrap loader; JNA's Memory from any loader but the agent's (whose JNA is its own).
     */
    static boolean applies(String binaryName, ClassLoader loader, ClassLoader ownLoader) {
        return binaryName.equals(Instrumenter.JNA_MEMORY) ? loader != ownLoader : loader == null;
    }

    @Override
    public byte[] transform(Module module, ClassLoader loader, String internalName,
            Class<?> redefined, ProtectionDomain domain, byte[] classFile) {
        List<Advice> plan = internalName == null ? null : plans.get(internalName);
        if (plan == null) {
            return null;
        }
        String name = internalName.replace('/', '.');
        if (!applies(name, loader, ownLoader)) {
            return null;
        }
        try {
            byte[] out = weave(classFile, plan);
            advised.add(name);
            return out;
        } catch (Throwable t) {
            Log.warn("native attribution: cannot advise " + name + ": " + Log.describe(t));
            return null;
        }
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
