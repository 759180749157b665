package dev.hz3.samples;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The CPU a run's workers and the JIT spent in the work phase, read inside the JVM at work-end.
 * A harness reading /proc from outside at the {@code PHASE work-end} line comes too late on a
 * loaded machine (its look may land after the JVM has gone); the workers here read their own
 * CPU as their body returns, and the last of them reads the JIT's compiler threads. From /proc,
 * not ThreadMXBean: java.management, loaded in every run of the sample, would be a cost of its own.
 */
final class ThreadCpu {

    /** Clock ticks per second of /proc's times: USER_HZ, 100 in Linux's x86 and arm ABIs. */
    private static final long TICK_MS = 10;

    private ThreadCpu() {
    }

    @FunctionalInterface
    interface Work {
        void run() throws Exception;
    }

    /** Sums the workers' own CPU; the last worker to finish reads the JIT's. */
    static final class AtWorkEnd {
        private final AtomicInteger running;
        private final AtomicLong workersMillis = new AtomicLong();
        private volatile long jitMillis = -1;

        AtWorkEnd(int workers) {
            running = new AtomicInteger(workers);
        }

        void measure(Work w) throws Exception {
            try {
                w.run();
            } finally {
                workersMillis.addAndGet(Math.max(0, millis(Path.of("/proc/thread-self/stat"))));
                if (running.decrementAndGet() == 0) {
                    jitMillis = compilerThreadsMillis();
                }
            }
        }

        /** The workers' CPU (user + system) in ms, once all have finished. */
        long workersMillis() {
            return workersMillis.get();
        }

        /** The JIT compiler threads' CPU in ms up to work-end; -1 where /proc has no such threads. */
        long jitMillis() {
            return jitMillis;
        }
    }

    /**
     * utime + stime of this JVM's JIT compiler threads (named "C1 CompilerThread0" ..., which
     * /proc truncates to 15 characters), in ms; -1 when none is found. A compiler thread the
     * JVM retired before now is not counted.
     */
    static long compilerThreadsMillis() {
        long ms = 0;
        boolean found = false;
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path t : tasks) {
                try {
                    if (Files.readString(t.resolve("comm")).matches("C[12] CompilerThre.*\\s*")) {
                        long m = millis(t.resolve("stat"));
                        if (m >= 0) {
                            ms += m;
                            found = true;
                        }
                    }
                } catch (IOException e) {
                    // the thread ended meanwhile: its CPU is not counted
                }
            }
        } catch (IOException e) {
            return -1;   // not Linux
        }
        return found ? ms : -1;
    }

    /** utime + stime in ms from a thread's /proc stat file; -1 when it cannot be read. */
    private static long millis(Path stat) {
        try {
            String s = Files.readString(stat);
            // fields 14 and 15, counted after the name (which may hold spaces), so the 12th and
            // 13th after its closing parenthesis
            String[] f = s.substring(s.lastIndexOf(')') + 2).trim().split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * TICK_MS;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
