package dev.hz3.agent.core.sites;

import static net.bytebuddy.matcher.ElementMatchers.is;
import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.isStatic;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.none;
import static net.bytebuddy.matcher.ElementMatchers.not;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import dev.hz3.agent.core.Log;
import java.lang.instrument.Instrumentation;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.agent.builder.ResettableClassFileTransformer;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.dynamic.scaffold.TypeValidation;
import net.bytebuddy.utility.JavaModule;

/**
 * The only class that uses Byte Buddy: it installs {@link Advices} into the JDK's native
 * allocation entry points (retransforming those already loaded) and removes it again. Loaded
 * only when attribution is turned on, so that a JVM without attribution does no Byte Buddy work.
 */
final class Instrumenter {

    /** The JDK classes advised, by name. */
    static final String UNSAFE = "jdk.internal.misc.Unsafe";
    static final String DEFLATER_REF = "java.util.zip.Deflater$DeflaterZStreamRef";
    static final String INFLATER_REF = "java.util.zip.Inflater$InflaterZStreamRef";
    static final String JNA_MEMORY = "com.sun.jna.Memory";
    /** The agent's loader, whose JNA is the agent's own: not advised. */
    private static final ClassLoader OWN_LOADER = Instrumenter.class.getClassLoader();

    private final ResettableClassFileTransformer transformer;
    /** Classes advised now (those loaded when installed, and those loaded since). */
    final Set<String> advised = ConcurrentHashMap.newKeySet();

    private Instrumenter(Instrumentation inst) {
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
        transformer = new AgentBuilder.Default(new ByteBuddy().with(TypeValidation.DISABLED))
                .disableClassFormatChanges()
                .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                // Retransform the advised classes already loaded, found by name: not a walk
                // over every loaded class.
                .with(new AgentBuilder.RedefinitionStrategy.DiscoveryStrategy.Explicit(
                        loaded(inst)))
                .with(AgentBuilder.DescriptionStrategy.Default.POOL_ONLY)
                .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                .with(AgentBuilder.TypeStrategy.Default.REDEFINE)
                .with(listener)
                .ignore(none())   // the default ignores the bootstrap loader's classes
                .type(named(UNSAFE))
                .transform((b, type, loader, module, pd) -> b
                        .visit(Advice.to(Advices.Allocate.class)
                                .on(named("allocateMemory").and(takesArguments(long.class))))
                        .visit(Advice.to(Advices.Reallocate.class)
                                .on(named("reallocateMemory").and(takesArguments(long.class, long.class))))
                        .visit(Advice.to(Advices.Free.class)
                                .on(named("freeMemory").and(takesArguments(long.class)))))
                .type(named(DEFLATER_REF))
                .transform((b, type, loader, module, pd) -> b
                        .visit(Advice.to(Advices.NewDeflater.class).on(isConstructor()))
                        .visit(Advice.to(Advices.EndZStream.class).on(named("run"))))
                .type(named(INFLATER_REF))
                .transform((b, type, loader, module, pd) -> b
                        .visit(Advice.to(Advices.NewInflater.class).on(isConstructor()))
                        .visit(Advice.to(Advices.EndZStream.class).on(named("run"))))
                // The application's JNA, in whatever loader has it; never the agent's own copy.
                .type(named(JNA_MEMORY), not(is(OWN_LOADER)))
                .transform((b, type, loader, module, pd) -> b
                        .visit(Advice.to(Advices.JnaMalloc.class)
                                .on(named("malloc").and(isStatic()).and(takesArguments(long.class))))
                        .visit(Advice.to(Advices.JnaFree.class)
                                .on(named("free").and(isStatic()).and(takesArguments(long.class)))))
                .installOn(inst);
    }

    /** The advised classes loaded now (jdk.internal.misc.Unsafe always is). */
    private static Class<?>[] loaded(Instrumentation inst) {
        Set<String> names = Set.of(UNSAFE, DEFLATER_REF, INFLATER_REF);
        List<Class<?>> found = new ArrayList<>();
        for (Class<?> c : inst.getAllLoadedClasses()) {
            ClassLoader l = c.getClassLoader();
            if ((l == null && names.contains(c.getName()))
                    || (l != null && l != OWN_LOADER && c.getName().equals(JNA_MEMORY))) {
                found.add(c);
            }
        }
        return found.toArray(new Class<?>[0]);
    }

    static Instrumenter install(Instrumentation inst) {
        // The advice commits events through jdk.jfr.Event from java.base, which does not read
        // jdk.jfr. Reads are only ever added, so this stays after attribution is off (harmless).
        Module base = Object.class.getModule();
        Module jfr = jdk.jfr.Event.class.getModule();
        if (!base.canRead(jfr)) {
            inst.redefineModule(base, Set.of(jfr), Map.of(), Map.of(), Set.of(), Map.of());
        }
        return new Instrumenter(inst);
    }

    /** Removes the advice: the advised classes are retransformed back. */
    int remove(Instrumentation inst) {
        int n = advised.size();
        transformer.reset(inst, AgentBuilder.RedefinitionStrategy.RETRANSFORMATION);
        advised.clear();
        return n;
    }
}
