package dev.hz3.agent.core.sites;

import static net.bytebuddy.matcher.ElementMatchers.is;
import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.isNative;
import static net.bytebuddy.matcher.ElementMatchers.isStatic;
import static net.bytebuddy.matcher.ElementMatchers.isSynthetic;
import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.none;
import static net.bytebuddy.matcher.ElementMatchers.not;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import dev.hz3.agent.core.Log;
import java.lang.instrument.Instrumentation;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.agent.builder.ResettableClassFileTransformer;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.asm.AsmVisitorWrapper;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.dynamic.scaffold.TypeValidation;
import net.bytebuddy.implementation.SuperMethodCall;
import net.bytebuddy.matcher.ElementMatcher;
import net.bytebuddy.utility.JavaModule;

/**
 * Installs {@link Advices} into the JDK's native allocation entry points (retransforming those
 * already loaded) and removes it again; with {@link AdviceTransformer}, the only classes that
 * use Byte Buddy. Loaded only when attribution is turned on, so that a JVM without attribution
 * does no Byte Buddy work.
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
    private final ResettableClassFileTransformer nativeTransformer;
    /** Classes advised now (those loaded when installed, and those loaded since). */
    final Set<String> advised;

    private Instrumenter(Instrumentation inst, boolean hz3, List<String> nativeNames) {
        Map<String, AsmVisitorWrapper> plans = new HashMap<>();
        AsmVisitorWrapper unsafe = new AsmVisitorWrapper.Compound(
                Advice.to(Advices.Allocate.class)
                        .on(named("allocateMemory").and(takesArguments(long.class))),
                Advice.to(Advices.Reallocate.class)
                        .on(named("reallocateMemory").and(takesArguments(long.class, long.class))),
                Advice.to(Advices.Free.class)
                        .on(named("freeMemory").and(takesArguments(long.class))));
        plans.put(UNSAFE, !hz3 ? unsafe : new AsmVisitorWrapper.Compound(unsafe,
                Advice.to(Advices.MarkUnsafe.class)
                        .on(named("allocateMemory").and(takesArguments(long.class))
                                .or(named("reallocateMemory").and(takesArguments(long.class, long.class))))));
        plans.put(DEFLATER_REF, new AsmVisitorWrapper.Compound(
                Advice.to(Advices.NewDeflater.class).on(isConstructor()),
                Advice.to(Advices.EndZStream.class).on(named("run"))));
        plans.put(INFLATER_REF, new AsmVisitorWrapper.Compound(
                Advice.to(Advices.NewInflater.class).on(isConstructor()),
                Advice.to(Advices.EndZStream.class).on(named("run"))));
        // The application's JNA, in whatever loader has it; never the agent's own copy.
        plans.put(JNA_MEMORY, new AsmVisitorWrapper.Compound(
                Advice.to(Advices.JnaMalloc.class)
                        .on(named("malloc").and(isStatic()).and(takesArguments(long.class))),
                Advice.to(Advices.JnaFree.class)
                        .on(named("free").and(isStatic()).and(takesArguments(long.class)))));
        if (hz3) {
            // zlib's own mallocs, which only hz3 sees, happen inside these constructors.
            plans.put(DEFLATER, Advice.to(Advices.MarkDeflater.class)
                    .on(isConstructor().and(takesArguments(int.class, boolean.class))));
            plans.put(INFLATER, new AsmVisitorWrapper.Compound(
                    Advice.to(Advices.MarkInflater.class)
                            .on(isConstructor().and(takesArguments(boolean.class))),
                    // The window, at the first inflate: the inflate call's site (a stack per
                    // Inflater created would name the creating one).
                    Advice.to(Advices.MarkInflate.class)
                            .on(named("inflate").or(named("setDictionary"))
                                    .and(takesArguments(byte[].class, int.class, int.class)
                                            .or(takesArguments(ByteBuffer.class))))));
        }
        transformer = new AdviceTransformer(plans, OWN_LOADER);
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
        nativeTransformer = hz3 && !nativeNames.isEmpty() ? wrapNatives(inst, nativeNames) : null;
    }

    /**
     * nativeMethods=: every native method of the classes named (or of the packages named pkg.*)
     * is wrapped, through the JVM's native-method prefix, in {@link Advices.MarkNative}. Wrapping
     * adds a method (the renamed native one), which a class already loaded cannot gain: only
     * classes loaded from now on are wrapped (so the option belongs at start-up).
     */
    private ResettableClassFileTransformer wrapNatives(Instrumentation inst, List<String> names) {
        AgentBuilder.Listener listener = new AgentBuilder.Listener.Adapter() {
            @Override
            public void onTransformation(TypeDescription type, ClassLoader loader,
                    JavaModule module, boolean loaded, DynamicType dynamicType) {
                advised.add(type.getName());
            }

            @Override
            public void onError(String type, ClassLoader loader, JavaModule module,
                    boolean loaded, Throwable t) {
                Log.warn("native attribution: cannot advise " + type + ": " + Log.describe(t));
            }
        };
        if (!inst.isNativeMethodPrefixSupported()) {
            Log.warn("native attribution: this JVM cannot wrap native methods (no native-method"
                    + " prefix): nativeMethods= ignored");
            return null;
        }
        ElementMatcher.Junction<TypeDescription> types = none();
        for (String n : names) {
            types = types.or(n.endsWith(".*") ? nameStartsWith(n.substring(0, n.length() - 1))
                    : named(n));
        }
        return new AgentBuilder.Default(new ByteBuddy().with(TypeValidation.DISABLED))
                .enableNativeMethodPrefix(NATIVE_PREFIX)
                .with(AgentBuilder.RedefinitionStrategy.DISABLED)
                .with(AgentBuilder.TypeStrategy.Default.REBASE)
                .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                .with(listener)
                .ignore(nameStartsWith("dev.hz3.agent.").or(isSynthetic()))
                .type(types, not(is(OWN_LOADER)))
                .transform((b, type, loader, module, pd) -> b.method(isNative())
                        .intercept(Advice.to(Advices.MarkNative.class).wrap(SuperMethodCall.INSTANCE)))
                .installOn(inst);
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

    /** hz3: hz3 is the malloc, and the calls whose own mallocs it attributes are marked too. */
    static Instrumenter install(Instrumentation inst, boolean hz3, List<String> nativeNames) {
        // The advice commits events through jdk.jfr.Event from java.base, which does not read
        // jdk.jfr. Reads are only ever added, so this stays after attribution is off (harmless).
        Module base = Object.class.getModule();
        Module jfr = jdk.jfr.Event.class.getModule();
        if (!base.canRead(jfr)) {
            inst.redefineModule(base, Set.of(jfr), Map.of(), Map.of(), Set.of(), Map.of());
        }
        return new Instrumenter(inst, hz3, nativeNames);
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
        if (nativeTransformer != null) {
            // Wrapped classes keep their wrappers, which do nothing with attribution off.
            nativeTransformer.reset(inst, AgentBuilder.RedefinitionStrategy.DISABLED);
        }
        advised.clear();
        return n;
    }
}
