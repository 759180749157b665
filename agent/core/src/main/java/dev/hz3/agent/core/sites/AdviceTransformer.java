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

/**
 * Weaves the {@link Advices} into the few classes they name, by their exact name: a map lookup
 * per class the JVM loads, and for those the class as woven before ({@link WovenCache}) or a read
 * and a write with ASM ({@link Weaver}). Nothing else of the class is touched (no member added,
 * as retransformation requires; the methods not advised are copied as they are).
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
    /** Classes woven before; null: weave every time. */
    private final WovenCache cache;
    /** Classes advised now, by name. */
    final Set<String> advised = ConcurrentHashMap.newKeySet();

    /** plans: by binary name (a.b.C); cache: null for none. */
    AdviceTransformer(Map<String, List<Advice>> plans, ClassLoader ownLoader, WovenCache cache) {
        this.cache = cache;
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
            byte[] out = cache == null ? null : cache.get(internalName, classFile);
            if (out == null) {
                out = Weaver.weave(classFile, plan);
                if (cache != null) {
                    cache.put(internalName, classFile, out);
                }
            }
            advised.add(name);
            return out;
        } catch (Throwable t) {
            Log.warn("native attribution: cannot advise " + name + ": " + Log.describe(t));
            return null;
        }
    }
}
