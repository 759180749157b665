package dev.hz3.agent.core;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent's log: one line per message on the JVM's stderr, each starting "hz3-agent: ".
 * While an attach command waits for an answer, its thread's messages go to its reply instead.
 */
public final class Log {

    /** Levels, most severe first; {@code log=} takes their lower-case names. */
    public enum Level { OFF, ERROR, WARN, INFO, DEBUG }

    public static final String PREFIX = "hz3-agent: ";

    /** The most characters of one piece of user input a line repeats. */
    public static final int QUOTE_MAX = 200;

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
        msg = escape(msg);   // one message, one line, whatever it repeats
        List<String> reply = REPLY.get();
        if (reply != null && l.compareTo(Level.INFO) <= 0) {
            // The attaching command always hears warnings and results, and it alone: the
            // application's stderr is the application's.
            reply.add(PREFIX + msg);
            return;
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

    /**
     * User input as a line may repeat it: in single quotes, control characters escaped (so it
     * cannot break the line, nor start a line of its own), cut to {@link #QUOTE_MAX} characters
     * with the cut said.
     */
    public static String quote(String s) {
        if (s.length() <= QUOTE_MAX) {
            return "'" + escape(s) + "'";
        }
        int end = Character.isHighSurrogate(s.charAt(QUOTE_MAX - 1)) ? QUOTE_MAX - 1 : QUOTE_MAX;
        return "'" + escape(s.substring(0, end)) + "...' (cut: " + s.length() + " characters)";
    }

    /** Text with its control characters (C0, DEL, C1, line and paragraph separators) escaped. */
    public static String escape(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean control = c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0x2028 || c == 0x2029;
            if (control && b == null) {
                b = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            if (b == null) {
                continue;
            }
            if (!control) {
                b.append(c);
            } else if (c == '\n') {
                b.append("\\n");
            } else if (c == '\r') {
                b.append("\\r");
            } else if (c == '\t') {
                b.append("\\t");
            } else {
                b.append(String.format("\\u%04x", (int) c));
            }
        }
        return b == null ? s : b.toString();
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
