package dev.hz3.samples.metrics;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A time-scaled copy of a shipped rules file, for a test that cannot wait its minutes: each
 * duration (range selectors, subqueries, offsets, {@code for:}, a group's {@code interval:}) is
 * divided by k, as if every k seconds of the original were one. A rate per second taken over a k
 * times shorter window is k times larger for the same growth per window, so each {@code deriv},
 * {@code rate} and {@code irate} is divided by k too: the thresholds then read as shipped, and
 * the expressions are the shipped text otherwise. Functions whose arguments or results are
 * absolute times (predict_linear's horizon, time()) cannot be scaled this way: a file using them
 * fails the test, saying so, rather than being tested with a wrong copy.
 */
final class TimeScaledRules {

    private static final String DURATION = "(?:\\d+(?:ms|s|m|h|d|w|y))+";
    private static final Pattern RANGE = Pattern.compile("\\[(" + DURATION + ")(?::(" + DURATION + ")?)?\\]");
    private static final Pattern OFFSET = Pattern.compile("\\boffset\\s+(" + DURATION + ")");
    private static final Pattern FIELD = Pattern.compile("^(\\s*(?:for|keep_firing_for|interval):\\s*)("
            + DURATION + ")\\s*$", Pattern.MULTILINE);
    private static final Pattern PER_SECOND = Pattern.compile("\\b(deriv|rate|irate)\\(");
    private static final Pattern UNSCALABLE = Pattern.compile(
            "\\b(predict_linear|holt_winters|time|timestamp)\\(");
    private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d|w|y)");

    private TimeScaledRules() {
    }

    /** The shipped rules' text with every duration and per-second rate scaled by 1/k. */
    static String scale(String rules, int k) {
        Matcher bad = UNSCALABLE.matcher(rules);
        if (bad.find()) {
            fail("the rules use " + bad.group(1) + "(), whose times a time-scaled copy cannot scale:"
                    + " test them another way");
        }
        String s = replace(RANGE, rules, m -> "[" + duration(m.group(1), k)
                + (m.group(0).contains(":") ? ":" + (m.group(2) == null ? "" : duration(m.group(2), k)) : "") + "]");
        s = replace(OFFSET, s, m -> "offset " + duration(m.group(1), k));
        s = replace(FIELD, s, m -> m.group(1) + duration(m.group(2), k));
        return perSecondOverK(s, k);
    }

    /** Each deriv(...), rate(...), irate(...) becomes (deriv(...) / k). */
    private static String perSecondOverK(String s, int k) {
        StringBuilder out = new StringBuilder();
        Matcher m = PER_SECOND.matcher(s);
        int done = 0;
        while (m.find(done)) {
            int close = m.end();
            for (int depth = 1; depth > 0; close++) {
                if (close == s.length()) {
                    fail("no closing parenthesis after " + m.group() + " in the rules");
                }
                depth += s.charAt(close) == '(' ? 1 : s.charAt(close) == ')' ? -1 : 0;
            }
            out.append(s, done, m.start()).append('(').append(s, m.start(), close).append(" / ").append(k)
                    .append(')');
            done = close;
        }
        return out.append(s.substring(done)).toString();
    }

    /** A Prometheus duration divided by k, in whole milliseconds. */
    static String duration(String d, int k) {
        long ms = 0;
        Matcher m = PART.matcher(d);
        while (m.find()) {
            long n = Long.parseLong(m.group(1));
            ms += n * switch (m.group(2)) {
                case "ms" -> 1L;
                case "s" -> 1_000L;
                case "m" -> 60_000L;
                case "h" -> 3_600_000L;
                case "d" -> 86_400_000L;
                case "w" -> 7 * 86_400_000L;
                default -> 365 * 86_400_000L;
            };
        }
        long scaled = Math.max(1, ms / k);
        return scaled % 1000 == 0 ? scaled / 1000 + "s" : scaled + "ms";
    }

    private static String replace(Pattern p, String s, java.util.function.Function<Matcher, String> with) {
        Matcher m = p.matcher(s);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(with.apply(m)));
        }
        m.appendTail(out);
        return out.toString();
    }
}
