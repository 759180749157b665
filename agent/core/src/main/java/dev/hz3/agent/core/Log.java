package dev.hz3.agent.core;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent's log: one line per message on the JVM's stderr, each starting "hz3-agent: ".
 * While an attach command waits for an answer, messages are also kept for its reply.
 */
public final class Log {

    /** Levels, most severe first; {@code log=} takes their lower-case names. */
    public enum Level { OFF, ERROR, WARN, INFO, DEBUG }

    public static final String PREFIX = "hz3-agent: ";

    private static volatile Level level = Level.INFO;
    private static volatile PrintStream out = System.err;
    private static final ThreadLocal<List<String>> REPLY = new ThreadLocal<>();

    private Log() {
    }

    public static void setLevel(Level l) {
        level = l;
    }

    public static Level level() {
        return level;
    }

    /** Tests only: where lines go. */
    static void setOut(PrintStream p) {
        out = p;
    }

    public static void error(String msg) {
        log(Level.ERROR, msg);
    }

    public static void warn(String msg) {
        log(Level.WARN, msg);
    }

    public static void info(String msg) {
        log(Level.INFO, msg);
    }

    public static void debug(String msg) {
        log(Level.DEBUG, msg);
    }

    public static boolean debugEnabled() {
        return level.compareTo(Level.DEBUG) >= 0;
    }

    private static void log(Level l, String msg) {
        List<String> reply = REPLY.get();
        if (reply != null && l.compareTo(Level.INFO) <= 0) {
            reply.add(PREFIX + msg);   // the attaching command always hears warnings and results
        }
        if (level.compareTo(l) >= 0 && l != Level.OFF) {
            out.println(PREFIX + msg);
        }
    }

    /** Starts keeping this thread's messages (ERROR to INFO, whatever the level) for a reply. */
    static void beginReply() {
        REPLY.set(new ArrayList<>());
    }

    /** The messages kept since {@link #beginReply}, and stops keeping them. */
    static List<String> endReply() {
        List<String> r = REPLY.get();
        REPLY.remove();
        return r == null ? List.of() : r;
    }

    /** A throwable as one line: its class and message, and the first cause's. */
    public static String describe(Throwable t) {
        StringBuilder b = new StringBuilder(t.getClass().getSimpleName());
        if (t.getMessage() != null) {
            b.append(": ").append(t.getMessage().lines().findFirst().orElse(""));
        }
        Throwable c = t.getCause();
        if (c != null && c != t) {
            b.append(" (").append(c.getClass().getSimpleName());
            if (c.getMessage() != null) {
                b.append(": ").append(c.getMessage().lines().findFirst().orElse(""));
            }
            b.append(')');
        }
        return b.toString();
    }
}
