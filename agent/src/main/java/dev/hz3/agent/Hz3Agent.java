package dev.hz3.agent;

import java.lang.instrument.Instrumentation;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.List;

/**
 * The agent jar's entry points (Premain-Class, Agent-Class and Main-Class). This bootstrap
 * does as little as possible and depends on nothing but the JDK: it extracts the agent's core
 * and its dependencies (JNA, Byte Buddy's attach, the hz3 events), carried as inner jars under
 * META-INF/hz3/lib/, into a private directory ({@link PrivateDir}), loads them in a class loader
 * of their own whose parent is the platform class loader ({@link AgentLoader}: it adds Byte Buddy
 * only when first needed), and calls the core reflectively.
 * So the application never sees the agent's JNA, nor the agent the application's.
 *
 * <p>Nothing here throws into the JVM: a failure is one line on stderr and the JVM goes on.
 */
public final class Hz3Agent {

    static final String CORE = "dev.hz3.agent.core.AgentCore";

    /** The core, loaded once per JVM; a second attach reuses it (and so the running agent). */
    private static Class<?> core;
    private static Path privateDir;

    private Hz3Agent() {
    }

    /** -javaagent:hz3-agent.jar[=OPTIONS]. */
    public static void premain(String args, Instrumentation inst) {
        enter("premain", args, inst);
    }

    /** Attach (java -jar hz3-agent.jar attach PID ...). */
    public static void agentmain(String args, Instrumentation inst) {
        enter("agentmain", args, inst);
    }

    /** java -jar hz3-agent.jar COMMAND ... */
    public static void main(String[] args) {
        int code;
        try {
            Class<?> c = core();
            Method m = c.getMethod("main", String.class, String.class, String[].class);
            code = (Integer) m.invoke(null, agentJar().toString(), privateDir.toString(), args);
        } catch (Throwable t) {
            System.err.println("hz3-agent: " + describe(t));
            code = 1;
        }
        System.exit(code);
    }

    private static void enter(String entry, String args, Instrumentation inst) {
        try {
            Class<?> c = core();
            Method m = c.getMethod(entry, String.class, String.class, String.class,
                    Instrumentation.class);
            m.invoke(null, agentJar().toString(), privateDir.toString(), args, inst);
        } catch (Throwable t) {
            System.err.println("hz3-agent: not started: " + describe(t));
        }
    }

    private static synchronized Class<?> core() throws Exception {
        if (core == null) {
            Path jar = agentJar();
            privateDir = PrivateDir.forAgent(jar);
            List<Path> jars = PrivateDir.extractInnerJars(jar, privateDir);
            core = Class.forName(CORE, true, new AgentLoader(jars, jar, privateDir));
        }
        return core;
    }

    /** This jar, from where this class was loaded. */
    static Path agentJar() throws Exception {
        return Path.of(Hz3Agent.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    private static String describe(Throwable t) {
        if (t instanceof InvocationTargetException && t.getCause() != null) {
            t = t.getCause();
        }
        String msg = t.getMessage();
        return t.getClass().getSimpleName() + (msg == null ? "" : ": " + msg);
    }
}
