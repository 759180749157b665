package dev.hz3.agent.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The agent's options: {@code key=value} pairs and at most one action word, separated by
 * commas, as given to {@code -javaagent:hz3-agent.jar=OPTIONS}, to {@code attach PID OPTIONS}
 * and in HZ3_AGENT_OPTIONS. A bad value is named on one line and the option keeps its default
 * (or its current value when attached again); the JVM goes on.
 *
 * <p>Options given are remembered as given: only those change hz3's settings, so that hz3's
 * own HZ3_* environment variables keep their effect otherwise.
 */
public final class Options {

    /** What an attach asks for; {@code -javaagent} always starts. */
    public enum Action { START, SNAPSHOT, PURGE, STOP, DUMP }

    /** One option: its key, what values it allows (for the error line), its default. */
    public enum Key {
        PERIOD("period", "a duration 0ms..1h, e.g. 500ms, 2s or 1m", "1s"),
        TOP("top", "a whole number 1..64", "5"),
        SCAN_BUDGET("scanBudget", "a whole number 0..1048576 (segments the census reads per epoch; 0: no sweeps)", "64"),
        PURGE_DELAY("purgeDelay", "a duration 0ms..1h", "500ms"),
        EPOCH_INTERVAL("epochInterval", "a duration 0ms..1h (0: no maintenance thread)", "200ms"),
        RECORD("record", "a file name for a recording the agent starts, e.g. record=app.jfr", ""),
        JFC("jfc", "default, profile, none or a .jfc file: the JDK settings that record= adds to hz3's", "default"),
        LOG("log", "off, error, warn, info or debug", "info"),
        ATTRIBUTION("attribution", "on or off (native attribution: sampled stacks of Unsafe, direct buffer and zlib allocations)", "off"),
        SAMPLE_BYTES("sampleBytes", "a byte count 1k..1g, e.g. 512k or 1m (mean bytes between two samples)", "512k"),
        SITES("sites", "a whole number 1..100 (sites per hz3.NativeSite period)", "10"),
        NATIVE_METHODS("nativeMethods", "classes or packages (pkg.*) separated by ':' whose native methods hz3 attributes the mallocs of, e.g. org.rocksdb.*:com.example.Lib", ""),
        // The agent's recording kept bounded (names as in -XX:StartFlightRecording); see OwnRecording.
        MAXAGE("maxage", "a duration 1m..365d, e.g. 30m, 6h or 2d (the age of the oldest data record= keeps)", ""),
        MAXSIZE("maxsize", "a byte count 1m..1024g, e.g. 100m or 2g (the most data record= keeps on disk)", ""),
        DUMP("dump", "a new file for a copy of the agent's recording now, e.g. attach PID dump=now.jfr", ""),
        METRICS("metrics", "[HOST:]PORT, e.g. 9464 or 0.0.0.0:9464 (a Prometheus endpoint; host 127.0.0.1 unless given)", ""),
        REPLY("reply", "a file the attach command reads (set by attach)", "");

        public final String key;
        final String allowed;
        public final String dflt;

        Key(String key, String allowed, String dflt) {
            this.key = key;
            this.allowed = allowed;
            this.dflt = dflt;
        }

        static Key of(String key) {
            for (Key k : values()) {
                if (k.key.equalsIgnoreCase(key)) {
                    return k;
                }
            }
            return null;
        }
    }

    private static final Pattern DURATION =
            Pattern.compile("(\\d{1,10})\\s*(ms|s|m|h)?", Pattern.CASE_INSENSITIVE);
    private static final long MAX_MS = 3_600_000;

    private final Map<Key, String> given = new LinkedHashMap<>();
    private final List<String> errors = new ArrayList<>();
    private Action action = Action.START;

    private Options() {
    }

    /** Parses options; never throws: bad ones are in {@link #errors()}. */
    public static Options parse(String text) {
        Options o = new Options();
        if (text == null || text.isBlank()) {
            return o;
        }
        for (String token : text.split(",")) {
            token = token.trim();
            if (token.isEmpty()) {
                continue;
            }
            int eq = token.indexOf('=');
            if (eq < 0) {
                Action a = actionOf(token);
                if (a == null) {
                    o.errors.add("bad option " + Log.quote(token) + ": expected key=value or one of"
                            + " start, snapshot, purge, stop");
                } else {
                    o.action = a;
                }
                continue;
            }
            String name = token.substring(0, eq).trim();
            String value = token.substring(eq + 1).trim();
            Key k = Key.of(name);
            if (k == null) {
                o.errors.add("unknown option " + Log.quote(token) + ": known options are " + known());
                continue;
            }
            String problem = check(k, value);
            if (problem != null) {
                o.errors.add("bad option " + Log.quote(token) + ": expected " + problem);
            } else {
                o.given.put(k, value);
            }
        }
        return o;
    }

    private static Action actionOf(String word) {
        for (Action a : Action.values()) {
            if (a.name().equalsIgnoreCase(word)) {
                return a;
            }
        }
        return null;
    }

    private static String known() {
        StringBuilder b = new StringBuilder();
        for (Key k : Key.values()) {
            if (k == Key.REPLY) {
                continue;
            }
            if (b.length() > 0) {
                b.append(", ");
            }
            b.append(k.key);
        }
        return b.toString();
    }

    /** Null when value is allowed for k, else what is allowed. */
    private static String check(Key k, String value) {
        switch (k) {
            case PERIOD, PURGE_DELAY, EPOCH_INTERVAL -> {
                long ms = durationMs(value);
                return ms < 0 || ms > MAX_MS ? k.allowed : null;
            }
            case TOP -> {
                return wholeNumber(value, 1, 64) ? null : k.allowed;
            }
            case SITES -> {
                return wholeNumber(value, 1, 100) ? null : k.allowed;
            }
            case ATTRIBUTION -> {
                return value.equalsIgnoreCase("on") || value.equalsIgnoreCase("off") ? null : k.allowed;
            }
            case NATIVE_METHODS -> {
                return value.matches(NATIVE_NAMES) ? null : k.allowed;
            }
            case SAMPLE_BYTES -> {
                long b = byteCount(value);
                return b < 1024 || b > (1L << 30) ? k.allowed : null;
            }
            case SCAN_BUDGET -> {
                return wholeNumber(value, 0, 1 << 20) ? null : k.allowed;
            }
            case LOG -> {
                try {
                    Log.Level.valueOf(value.toUpperCase(Locale.ROOT));
                    return null;
                } catch (IllegalArgumentException e) {
                    return k.allowed;
                }
            }
            case MAXAGE -> {
                long s = ageSeconds(value);
                return s < 60 || s > 365L * 86_400 ? k.allowed : null;
            }
            case MAXSIZE -> {
                long b = byteCount(value);
                return b < (1L << 20) || b > (1L << 40) ? k.allowed : null;
            }
            case METRICS -> {
                return dev.hz3.agent.core.metrics.MetricsAddress.problem(value) == null ? null
                        : k.allowed + ": " + dev.hz3.agent.core.metrics.MetricsAddress.problem(value);
            }
            case RECORD, REPLY, JFC, DUMP -> {
                return value.isEmpty() ? k.allowed : null;
            }
            default -> {
                return k.allowed;
            }
        }
    }

    /** nativeMethods=: class names, or package names ending in .*, separated by ':'. */
    private static final String NATIVE_NAMES =
            "[\\p{L}_$][\\p{L}\\p{N}_$.]*(\\.\\*)?(:[\\p{L}_$][\\p{L}\\p{N}_$.]*(\\.\\*)?)*";

    private static boolean wholeNumber(String v, long lo, long hi) {
        if (!v.matches("\\d{1,10}")) {
            return false;
        }
        long n = Long.parseLong(v);
        return n >= lo && n <= hi;
    }

    private static final Pattern BYTES =
            Pattern.compile("(\\d{1,10})\\s*([kmg]?)b?", Pattern.CASE_INSENSITIVE);

    /** Bytes of "4096", "512k", "1m", "1g" (binary units); -1 if bad. */
    static long byteCount(String v) {
        Matcher m = BYTES.matcher(v);
        if (!m.matches()) {
            return -1;
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k" -> n << 10;
            case "m" -> n << 20;
            case "g" -> n << 30;
            default -> n;
        };
    }

    private static final Pattern AGE = Pattern.compile("(\\d{1,9})\\s*(s|m|h|d)", Pattern.CASE_INSENSITIVE);

    /** Seconds of "90s", "30m", "6h", "2d" (maxage: a unit is required, as JFR's); -1 if bad. */
    static long ageSeconds(String v) {
        Matcher m = AGE.matcher(v);
        if (!m.matches()) {
            return -1;
        }
        long n = Long.parseLong(m.group(1));
        return n * switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "m" -> 60;
            case "h" -> 3600;
            case "d" -> 86_400;
            default -> 1;
        };
    }

    /** Milliseconds of "500ms", "2s", "1m", "1h" or a bare number of milliseconds; -1 if bad. */
    static long durationMs(String v) {
        Matcher m = DURATION.matcher(v);
        if (!m.matches()) {
            return -1;
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "ms" : m.group(2).toLowerCase(Locale.ROOT);
        return switch (unit) {
            case "s" -> n * 1000;
            case "m" -> n * 60_000;
            case "h" -> n * 3_600_000;
            default -> n;
        };
    }

    /**
     * Drops an option given (it keeps its default, or its current value on a later attach) and
     * names it and its problem in {@link #errors()}: for checks beyond its syntax, such as
     * whether record='s file can be written.
     */
    public void reject(Key k, String problem) {
        String value = given.remove(k);
        if (value != null) {
            errors.add("bad option " + Log.quote(k.key + "=" + value) + ": " + problem);
        }
    }

    public List<String> errors() {
        return errors;
    }

    /** The action word given; dump=FILE is the dump action. */
    public Action action() {
        return action == Action.START && given.containsKey(Key.DUMP) ? Action.DUMP : action;
    }

    public boolean has(Key k) {
        return given.containsKey(k);
    }

    /** The value given, or the default. */
    public String get(Key k) {
        return given.getOrDefault(k, k.dflt);
    }

    public long ms(Key k) {
        return durationMs(get(k));
    }

    public long bytes(Key k) {
        return byteCount(get(k));
    }

    public int integer(Key k) {
        return Integer.parseInt(get(k));
    }

    public Log.Level logLevel() {
        return Log.Level.valueOf(get(Key.LOG).toUpperCase(Locale.ROOT));
    }

    /** These options with those given in newer laid over them (an attach after the first). */
    public Options with(Options newer) {
        Options o = new Options();
        o.given.putAll(given);
        o.given.putAll(newer.given);
        o.given.remove(Key.REPLY);
        if (newer.given.containsKey(Key.REPLY)) {
            o.given.put(Key.REPLY, newer.given.get(Key.REPLY));
        }
        o.action = newer.action;
        return o;
    }

    /** These options without k (back to its default). */
    public Options without(Key k) {
        Options o = new Options();
        o.given.putAll(given);
        o.given.remove(k);
        o.action = action;
        return o;
    }

    /** The options given, as key=value text (what is in effect beyond the defaults). */
    public String givenText() {
        StringBuilder b = new StringBuilder();
        given.forEach((k, v) -> {
            if (k != Key.REPLY) {
                b.append(b.length() > 0 ? "," : "").append(k.key).append('=').append(v);
            }
        });
        return b.toString();
    }

    /** Every option but reply, with its value in effect. */
    public String effectiveText() {
        StringBuilder b = new StringBuilder();
        for (Key k : Key.values()) {
            if (k == Key.REPLY || (k.dflt.isEmpty() && !has(k))) {
                continue;
            }
            b.append(b.length() > 0 ? "," : "").append(k.key).append('=').append(get(k));
        }
        return b.toString();
    }
}
