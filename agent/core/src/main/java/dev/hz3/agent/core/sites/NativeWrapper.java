package dev.hz3.agent.core.sites;

import dev.hz3.agent.core.Log;
import java.lang.instrument.ClassFileTransformer;
import java.security.ProtectionDomain;
import java.util.List;
import java.util.Set;
import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.ClassWriter;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;
import net.bytebuddy.jar.asm.Type;

/**
 * nativeMethods=: wraps every native method of the classes named (or of the packages named
 * pkg.*) through the JVM's native-method prefix. The native method is renamed
 * {@code PREFIX + name} (private, final, synthetic: the JVM still links it to the library's
 * symbol for name, as the prefix is registered for this transformer) and a Java method takes its
 * name and access, calling it inside {@link Advices#markNative}'s advice. Wrapping adds a method,
 * which a class already loaded cannot gain: only classes loaded from now on are wrapped.
 */
final class NativeWrapper implements ClassFileTransformer {

    private final List<String> names;
    private final String prefix;
    private final ClassLoader ownLoader;
    private final Set<String> advised;

    /** names: binary class names, or package prefixes pkg.* (their subpackages too). */
    NativeWrapper(List<String> names, String prefix, ClassLoader ownLoader, Set<String> advised) {
        this.names = names;
        this.prefix = prefix;
        this.ownLoader = ownLoader;
        this.advised = advised;
    }

    private boolean named(String binaryName) {
        for (String n : names) {
            if (n.endsWith(".*") ? binaryName.startsWith(n.substring(0, n.length() - 1))
                    : binaryName.equals(n)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public byte[] transform(Module module, ClassLoader loader, String internalName,
            Class<?> redefined, ProtectionDomain domain, byte[] classFile) {
        if (internalName == null || redefined != null || loader == ownLoader) {
            return null;
        }
        String name = internalName.replace('/', '.');
        if (name.startsWith("dev.hz3.agent.") || !named(name)) {
            return null;
        }
        try {
            byte[] out = wrap(classFile);
            if (out != null) {
                advised.add(name);
            }
            return out;
        } catch (Throwable t) {
            Log.warn("native attribution: cannot advise " + name + ": " + Log.describe(t));
            return null;
        }
    }

    /** The class with its native methods wrapped; null when it has none (or is synthetic). */
    byte[] wrap(byte[] classFile) {
        ClassReader reader = new ClassReader(classFile);
        if ((reader.getAccess() & (Opcodes.ACC_SYNTHETIC | Opcodes.ACC_INTERFACE)) != 0) {
            return null;
        }
        boolean frames = reader.readUnsignedShort(6) >= Opcodes.V1_6;
        String owner = reader.getClassName();
        ClassWriter writer = new ClassWriter(reader, ClassWriter.COMPUTE_MAXS);
        boolean[] wrapped = {false};
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String desc, String signature,
                    String[] exceptions) {
                if ((access & Opcodes.ACC_NATIVE) == 0) {
                    return super.visitMethod(access, name, desc, signature, exceptions);
                }
                wrapped[0] = true;
                int renamed = Opcodes.ACC_PRIVATE | Opcodes.ACC_FINAL | Opcodes.ACC_SYNTHETIC
                        | Opcodes.ACC_NATIVE | (access & Opcodes.ACC_STATIC);
                super.visitMethod(renamed, prefix + name, desc, null, exceptions).visitEnd();
                int access2 = access & ~Opcodes.ACC_NATIVE;
                MethodVisitor wrapper = super.visitMethod(access2, name, desc, signature, exceptions);
                // The native method's annotations go to the wrapper; its body is written at the end.
                return new MethodVisitor(Opcodes.ASM9, wrapper) {
                    @Override
                    public void visitEnd() {
                        body(wrapper, owner, access2, name, desc, frames);
                        super.visitEnd();
                    }
                };
            }
        }, 0);
        return wrapped[0] ? writer.toByteArray() : null;
    }

    /** Calls the renamed native method with the wrapper's arguments, inside the advice. */
    private void body(MethodVisitor wrapper, String owner, int access, String name, String desc,
            boolean frames) {
        boolean isStatic = (access & Opcodes.ACC_STATIC) != 0;
        int base = isStatic ? 0 : 1;
        for (Type a : Type.getArgumentTypes(desc)) {
            base += a.getSize();
        }
        MethodVisitor mv = new AdvisedMethod(wrapper, Advices.markNative(name, desc), owner, access,
                desc, base, frames);
        mv.visitCode();
        int slot = 0;
        if (!isStatic) {
            mv.visitVarInsn(Opcodes.ALOAD, slot++);
        }
        for (Type a : Type.getArgumentTypes(desc)) {
            mv.visitVarInsn(a.getOpcode(Opcodes.ILOAD), slot);
            slot += a.getSize();
        }
        mv.visitMethodInsn(isStatic ? Opcodes.INVOKESTATIC : Opcodes.INVOKESPECIAL, owner,
                prefix + name, desc, false);
        mv.visitInsn(Type.getReturnType(desc).getOpcode(Opcodes.IRETURN));
        mv.visitMaxs(0, 0);
    }
}
