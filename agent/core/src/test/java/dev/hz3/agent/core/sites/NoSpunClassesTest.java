package dev.hz3.agent.core.sites;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.Handle;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;
import org.junit.jupiter.api.Test;

/**
 * Native attribution's classes make no invokedynamic call: no lambda, no method reference, no
 * string concatenation through StringConcatFactory. Each such call site spins classes with the
 * JDK's ASM the first time it runs (a lambda's class, method-handle forms), which attribution's
 * start-up paid for about fifty times, and the JIT then compiled that ASM (bench/RESULTS.md,
 * 2026-12-03 evening). The agent's core is compiled with -XDstringConcat=inline for the latter.
 */
class NoSpunClassesTest {

    @Test
    void noInvokeDynamicInTheSitesPackage() throws IOException, URISyntaxException {
        Path dir = Path.of(SiteSampler.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve("dev/hz3/agent/core/sites");
        List<String> found = new ArrayList<>();
        int classes = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                classes++;
                try (InputStream in = Files.newInputStream(p)) {
                    new ClassReader(in).accept(new Indy(p.getFileName().toString(), found), 0);
                }
            }
        }
        assertTrue(classes > 10, classes + " classes in " + dir);
        assertEquals(List.of(), found, "invokedynamic call sites");
    }

    private static final class Indy extends ClassVisitor {
        private final String file;
        private final List<String> found;

        Indy(String file, List<String> found) {
            super(Opcodes.ASM9);
            this.file = file;
            this.found = found;
        }

        @Override
        public MethodVisitor visitMethod(int access, String name, String desc, String signature,
                String[] exceptions) {
            return new MethodVisitor(Opcodes.ASM9) {
                @Override
                public void visitInvokeDynamicInsn(String n, String d, Handle bsm, Object... args) {
                    found.add(file + " " + name + ": " + bsm.getOwner() + "." + bsm.getName());
                }
            };
        }
    }
}
