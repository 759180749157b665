package dev.hz3.agent.core.sites;

import dev.hz3.agent.boot.NativeAllocHooks;
import dev.hz3.agent.core.Log;
import dev.hz3.agent.core.sites.Advices.Advice;
import java.lang.instrument.Instrumentation;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Installs {@link Advices} into the JDK's native allocation entry points (retransforming those
 * already loaded) and removes it again, through {@link AdviceTransformer}; the weaving itself
 * ({@link Weaver}, {@link NativeWrapper}) is what uses Byte Buddy's jar (only the ASM it ships:
 * its own machinery never loads). Loaded only when attribution is turned on.
 */
final class Instrumenter {

    /** The JDK classes advised, by name. */
    static final String UNSAFE = "jdk.internal.misc.Unsafe";
    static final String DEFLATER_REF = "java.util.zip.Deflater$DeflaterZStreamRef";
    static final String INFLATER_REF = "java.util.zip.Inflater$InflaterZStreamRef";
    static final String JNA_MEMORY = "com.sun.jna.Memory";
    static final String DEFLATER = "java.util.zip.Deflater";
    static final String INFLATER = "java.util.zip.Inflater";
    /** The agent's loader, whose JNA is the agent's own: not advised. */
    private static final ClassLoader OWN_LOADER = Instrumenter.class.getClassLoader();

    /** The prefix of a wrapped native method's renamed original. */
    static final String NATIVE_PREFIX = "hz3$native$";

    private final AdviceTransformer transformer;
    private final NativeWrapper nativeWrapper;
    /** Classes advised now (those loaded when installed, and those loaded since). */
    final Set<String> advised;

    private Instrumenter(Instrumentation inst, boolean hz3, List<String> nativeNames, Path privateDir) {
        Map<String, List<Advice>> plans = new HashMap<>();
        plans.put(UNSAFE, hz3
                ? List.of(Advices.markUnsafe(Advices.allocate()), Advices.markUnsafe(Advices.reallocate()),
                        Advices.free())
                : List.of(Advices.allocate(), Advices.reallocate(), Advices.free()));
        plans.put(DEFLATER_REF, List.of(
                Advices.newZStream(NativeAllocHooks.DEFLATER_BYTES, NativeAllocHooks.KIND_DEFLATER),
                Advices.endZStream()));
        plans.put(INFLATER_REF, List.of(
                Advices.newZStream(NativeAllocHooks.INFLATER_BYTES, NativeAllocHooks.KIND_INFLATER),
                Advices.endZStream()));
        // The application's JNA, in whatever loader has it; never the agent's own copy.
        plans.put(JNA_MEMORY, List.of(Advices.jnaMalloc(), Advices.jnaFree()));
        if (hz3) {
            // zlib's own mallocs, which only hz3 sees, happen inside these constructors.
            plans.put(DEFLATER, List.of(Advices.markDeflater()));
            plans.put(INFLATER, List.of(Advices.markInflater(),
                    // The window, at the first inflate: the inflate call's site (a stack per
                    // Inflater created would name the creating one).
                    Advices.markInflate("inflate", "([BII)I"),
                    Advices.markInflate("inflate", "(Ljava/nio/ByteBuffer;)I"),
                    Advices.markInflate("setDictionary", "([BII)V"),
                    Advices.markInflate("setDictionary", "(Ljava/nio/ByteBuffer;)V")));
        }
        transformer = new AdviceTransformer(plans, OWN_LOADER,
                privateDir == null ? null : new WovenCache(privateDir, hz3));
        advised = transformer.advised;
        inst.addTransformer(transformer, true);
        Class<?>[] loaded = loaded(inst, plans.keySet());
        if (loaded.length > 0) {
            try {
                inst.retransformClasses(loaded);
            } catch (Throwable t) {
                Log.warn("native attribution: cannot advise the JDK's loaded classes: " + Log.describe(t));
            }
        }
        nativeWrapper = hz3 && !nativeNames.isEmpty() ? wrapNatives(inst, nativeNames) : null;
    }

    /**
     * nativeMethods=: every native method of the classes named (or of the packages named pkg.*)
     * is wrapped (see {@link NativeWrapper}); only classes loaded from now on (so the option
     * belongs at start-up).
     */
    private NativeWrapper wrapNatives(Instrumentation inst, List<String> names) {
        if (!inst.isNativeMethodPrefixSupported()) {
            Log.warn("native attribution: this JVM cannot wrap native methods (no native-method"
                    + " prefix): nativeMethods= ignored");
            return null;
        }
        NativeWrapper w = new NativeWrapper(names, NATIVE_PREFIX, OWN_LOADER, advised);
        inst.addTransformer(w, false);
        inst.setNativeMethodPrefix(w, NATIVE_PREFIX);
        return w;
    }

    /** The classes named in plans loaded now (jdk.internal.misc.Unsafe always is). */
    private static Class<?>[] loaded(Instrumentation inst, Set<String> names) {
        List<Class<?>> found = new ArrayList<>();
        for (Class<?> c : inst.getAllLoadedClasses()) {
            if (names.contains(c.getName()) && AdviceTransformer.applies(c.getName(),
                    c.getClassLoader(), OWN_LOADER)) {
                found.add(c);
            }
        }
        return found.toArray(new Class<?>[0]);
    }

    /**
     * hz3: hz3 is the malloc, and the calls whose own mallocs it attributes are marked too.
     * privateDir: the agent's directory for this build, where the woven classes are kept (null:
     * woven every time).
     */
    static Instrumenter install(Instrumentation inst, boolean hz3, List<String> nativeNames,
            Path privateDir) {
        // The advice commits events through jdk.jfr.Event from java.base, which does not read
        // jdk.jfr. Reads are only ever added, so this stays after attribution is off (harmless).
        Module base = Object.class.getModule();
        Module jfr = jdk.jfr.Event.class.getModule();
        if (!base.canRead(jfr)) {
            inst.redefineModule(base, Set.of(jfr), Map.of(), Map.of(), Set.of(), Map.of());
        }
        return new Instrumenter(inst, hz3, nativeNames, privateDir);
    }

    /** Removes the advice: the advised classes are retransformed back. */
    int remove(Instrumentation inst) {
        int n = advised.size();
        inst.removeTransformer(transformer);
        Class<?>[] back = loaded(inst, transformer.plannedNames());
        if (back.length > 0) {
            try {
                inst.retransformClasses(back);
            } catch (Throwable t) {
                Log.warn("native attribution: cannot take the advice out of the JDK's classes: "
                        + Log.describe(t));
            }
        }
        if (nativeWrapper != null) {
            // Wrapped classes keep their wrappers, which do nothing with attribution off.
            inst.removeTransformer(nativeWrapper);
        }
        advised.clear();
        return n;
    }
}
