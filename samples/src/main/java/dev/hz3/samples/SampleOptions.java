package dev.hz3.samples;

import java.util.Locale;

/**
 * The command line shared by {@link Churn}, {@link Fragment}, {@link Steady}, {@link NativeLeak}
 * and {@link NativeCache}.
 *
 * <p>Each sample passes its defaults and says whether it takes {@code --threads} and
 * {@code --rounds}. A bad argument becomes one line on stderr and exit status 2; {@code --help}
 * prints the sample's usage on stdout and exits 0. So a harness can tell a typo from a crash by
 * the status alone.
 */
record SampleOptions(int sizeMib, double seconds, int rounds, int threads,
        double idleBeforeSeconds, double idleAfterSeconds, boolean exitThreads) {

    /**
     * Per-sample defaults; {@code threads == 0} means the sample takes no {@code --threads},
     * {@code rounds == TIMED_ONLY} that it takes no {@code --rounds} (it runs for a time only).
     */
    record Defaults(int sizeMib, double seconds, int rounds, int threads) {
        static final int TIMED_ONLY = -1;
    }

    /** Thrown for {@code --help}: not an error. */
    static final class HelpRequested extends RuntimeException {
        private static final long serialVersionUID = 1L;

        HelpRequested() {
            super(null, null, false, false);
        }
    }

    /** As the first argument: check the others and exit (0, or 2 with the line). */
    static final String CHECK_ARGS = "--check-args";

    /** Upper bound of {@code --size}: every sample keeps its native memory under this. */
    static final int MAX_SIZE_MIB = 64 << 10;

    /**
     * Parses {@code args}. {@code --seconds} and {@code --rounds} replace each other (the last
     * one wins) unless the sample uses both, as {@link Fragment} does ({@code bothCount}).
     */
    static SampleOptions parse(String[] args, Defaults d, boolean bothCount) {
        int size = d.sizeMib();
        double seconds = d.seconds();
        int rounds = d.rounds();
        int threads = d.threads();
        double idleBefore = 0;
        double idleAfter = 0;
        boolean exitThreads = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "-h", "--help" -> throw new HelpRequested();
                case "--size" -> size = intIn(args, ++i, 1, MAX_SIZE_MIB);
                case "--seconds" -> {
                    seconds = seconds(args, ++i, false);
                    if (!bothCount) {
                        rounds = 0;
                    }
                }
                case "--rounds" -> {
                    if (d.rounds() == Defaults.TIMED_ONLY) {
                        throw new IllegalArgumentException("--rounds does not apply here");
                    }
                    rounds = intIn(args, ++i, 1, Integer.MAX_VALUE);
                    if (!bothCount) {
                        seconds = 0;
                    }
                }
                case "--threads" -> {
                    if (d.threads() == 0) {
                        throw new IllegalArgumentException("--threads does not apply here");
                    }
                    threads = intIn(args, ++i, 1, 1024);
                }
                case "--idle-before" -> idleBefore = seconds(args, ++i, true);
                case "--idle-after" -> idleAfter = seconds(args, ++i, true);
                case "--exit-threads" -> {
                    if (d.threads() == 0) {
                        throw new IllegalArgumentException("--exit-threads does not apply here");
                    }
                    exitThreads = true;
                }
                default -> throw new IllegalArgumentException("unknown argument '" + a + "'");
            }
        }
        return new SampleOptions(size, seconds, rounds, threads, idleBefore, idleAfter, exitThreads);
    }

    /**
     * Parses the arguments or ends the JVM: usage on stdout and status 0 for {@code --help},
     * one line on stderr and status 2 for a bad argument.
     */
    static SampleOptions parseOrExit(String name, String usage, String[] args, Defaults d,
            boolean bothCount) {
        // --check-args: what bin/hz3-demo runs first, in a plain JVM, so that a bad argument
        // replaces no recording: parse, then exit 0 saying nothing (or as below).
        boolean checkOnly = args.length > 0 && args[0].equals(CHECK_ARGS);
        try {
            SampleOptions o = parse(checkOnly ? java.util.Arrays.copyOfRange(args, 1, args.length) : args,
                    d, bothCount);
            if (checkOnly) {
                System.exit(0);
            }
            return o;
        } catch (HelpRequested h) {
            System.out.print(usage);
            System.out.flush();
            System.exit(0);
        } catch (IllegalArgumentException e) {
            System.err.println(name + ": " + e.getMessage() + " (see --help)");
            System.exit(2);
        }
        throw new AssertionError("unreachable");
    }

    /** The usage lines every sample shares, after its own. */
    static String commonUsage() {
        return """
                  --idle-before S   sleep S seconds (decimals allowed) before the work
                  --idle-after S    sleep S seconds after the work, with all its native memory freed
                Phase lines on stdout, for a harness that samples RSS:
                  PHASE <name> t_ms=<System.currentTimeMillis()> rss_kb=<VmRSS>
                with <name> one of idle-before-start (only with --idle-before), work-start,
                work-end (all workers done and every native block of the sample freed),
                idle-end (only with --idle-after). Bad arguments: one line on stderr, exit 2.
                  --check-args      (first) check the other arguments and exit 0 without running
                """;
    }

    /**
     * The usage lines of a sample that still holds its native memory after the work
     * ({@link NativeLeak}, {@link NativeCache}), after its own; held names that memory.
     */
    static String heldUsage(String held) {
        return """
                  --idle-before S   sleep S seconds before the work
                  --idle-after S    sleep S seconds after it (%s is still held)
                Phase lines on stdout: PHASE <name> t_ms=<ms since 1970> rss_kb=<VmRSS>, with <name>
                idle-before-start, work-start, work-end, idle-end. Bad arguments: one line on stderr,
                exit 2.
                  --check-args      (first) check the other arguments and exit 0 without running
                """.formatted(held);
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            throw new IllegalArgumentException(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    private static int intIn(String[] args, int i, int lo, int hi) {
        String v = value(args, i);
        long x;
        try {
            x = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(args[i - 1] + " wants a whole number, got '" + v + "'");
        }
        if (x < lo || x > hi) {
            throw new IllegalArgumentException(args[i - 1] + " must be in " + lo + ".." + hi
                    + ", got " + v);
        }
        return (int) x;
    }

    private static double seconds(String[] args, int i, boolean zeroAllowed) {
        String v = value(args, i);
        double x;
        try {
            x = Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(args[i - 1] + " wants seconds, got '" + v + "'");
        }
        if (!(zeroAllowed ? x >= 0 : x > 0) || x > 86_400 || Double.isNaN(x)) {
            throw new IllegalArgumentException(args[i - 1] + " must be " + (zeroAllowed ? ">= 0" : "> 0")
                    + " and at most 86400, got " + v);
        }
        return x;
    }

    /** How long the work runs, for the first output line. */
    String workDescription() {
        return rounds > 0 ? "rounds=" + rounds : String.format(Locale.ROOT, "seconds=%s", seconds);
    }
}
