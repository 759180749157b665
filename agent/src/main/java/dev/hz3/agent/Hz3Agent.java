package dev.hz3.agent;

import java.lang.instrument.Instrumentation;

/**
 * Entry points of the hz3 agent jar (Premain-Class and Agent-Class in its manifest).
 *
 * <p>Nothing is implemented yet: both entry points say so on stderr and return, so a JVM started
 * with {@code -javaagent:hz3-agent.jar} runs unchanged.
 */
public final class Hz3Agent {

    private Hz3Agent() {
    }

    /** Called before main when the JVM is started with {@code -javaagent}. */
    public static void premain(String args, Instrumentation inst) {
        notImplemented();
    }

    /** Called when the agent is attached to a running JVM. */
    public static void agentmain(String args, Instrumentation inst) {
        notImplemented();
    }

    private static void notImplemented() {
        System.err.println("hz3-agent: not implemented yet (issue 5)");
    }
}
