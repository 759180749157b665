package dev.hz3.agent.core.sites;

import dev.hz3.agent.core.Log;
import java.lang.instrument.ClassFileTransformer;
import java.security.ProtectionDomain;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.asm.AsmVisitorWrapper;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.ClassFileLocator;
import net.bytebuddy.dynamic.scaffold.TypeValidation;
import net.bytebuddy.implementation.Implementation;
import net.bytebuddy.pool.TypePool;

/**
 * Inlines the advice into the few classes it names, by their exact name: a map lookup per class
 * the JVM loads, and Byte Buddy's work only for those. Byte Buddy's {@code AgentBuilder} would do
 * the same at a higher price (its default strategies, its Nexus for self-initialisation, its
 * matchers run on every class loaded): in a JVM started with attribution on, about 530 more
 * classes and a third more start-up CPU for attribution (bench/RESULTS.md, 2026-12-03).
 *
 * <p>Each class is decorated ({@code ByteBuddy.decorate}): the advice is woven into the methods
 * matched, nothing else of the class is touched (no member added, as retransformation requires),
 * and the class is described from its own bytes (a type pool, not reflection on the loaded
 * class, which for Unsafe would load hundreds of method objects).
 */
final class AdviceTransformer implements ClassFileTransformer {

    /** By internal name (a/b/C): what is woven in. */
    private final Map<String, AsmVisitorWrapper> plans = new HashMap<>();
    private final ClassLoader ownLoader;
    private final ByteBuddy byteBuddy = new ByteBuddy()
            .with(TypeValidation.DISABLED)
            .with(Implementation.Context.Disabled.Factory.INSTANCE);
    /** Classes advised now, by name. */
    final Set<String> advised = ConcurrentHashMap.newKeySet();

    /** plans: by binary name (a.b.C). */
    AdviceTransformer(Map<String, AsmVisitorWrapper> plans, ClassLoader ownLoader) {
        plans.forEach((name, wrapper) -> this.plans.put(name.replace('.', '/'), wrapper));
        this.ownLoader = ownLoader;
    }

    /** Binary names of every class planned. */
    Set<String> plannedNames() {
        Set<String> out = new HashSet<>();
        plans.keySet().forEach(n -> out.add(n.replace('/', '.')));
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
        AsmVisitorWrapper plan = internalName == null ? null : plans.get(internalName);
        if (plan == null) {
            return null;
        }
        String name = internalName.replace('/', '.');
        if (!applies(name, loader, ownLoader)) {
            return null;
        }
        try {
            // The class's own bytes first; its loader for what Byte Buddy looks up beyond.
            ClassFileLocator locator = new ClassFileLocator.Compound(
                    ClassFileLocator.Simple.of(name, classFile),
                    ClassFileLocator.ForClassLoader.of(loader));
            TypePool pool = new TypePool.Default.WithLazyResolution(new TypePool.CacheProvider.Simple(),
                    locator, TypePool.Default.ReaderMode.FAST);
            TypeDescription type = pool.describe(name).resolve();
            byte[] out = byteBuddy.decorate(type, locator).visit(plan).make(pool).getBytes();
            advised.add(name);
            return out;
        } catch (Throwable t) {
            Log.warn("native attribution: cannot advise " + name + ": " + Log.describe(t));
            return null;
        }
    }
}
