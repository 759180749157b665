package dev.hz3.jfr;

/**
 * Names shared by every hz3 JFR event. The event classes themselves come later; what is here is
 * what they, the agent and the JMC plugin must agree on, defined once.
 *
 * <p>An event class uses the category as {@code @Category({Hz3Events.CATEGORY_ROOT,
 * Hz3Events.CATEGORY_HZ3})} (an annotation needs the constants themselves, not an array field)
 * and its name as {@code @Name(Hz3Events.NAME_PREFIX + "Something")}.
 */
public final class Hz3Events {

    /** First level of the JFR category path: where JMC lists native-memory events. */
    public static final String CATEGORY_ROOT = "Native Memory";

    /** Second level of the JFR category path. */
    public static final String CATEGORY_HZ3 = "hz3";

    /** Every hz3 event type id starts with this; the JMC page filters on it. */
    public static final String NAME_PREFIX = "hz3.";

    private Hz3Events() {
    }

    /** The category path {"Native Memory", "hz3"}, as a fresh array. */
    public static String[] category() {
        return new String[] {CATEGORY_ROOT, CATEGORY_HZ3};
    }
}
