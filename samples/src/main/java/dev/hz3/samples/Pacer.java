package dev.hz3.samples;

import java.util.concurrent.TimeUnit;

/**
 * Runs work at a steady rate, the way requests reach a server: ten ticks a second for a given
 * time, each tick's work done at once and the rest of the tick slept. A slow machine makes ticks
 * late, not fewer: a late tick's work is still done, so the total follows the clock.
 */
final class Pacer {

    static final int TICKS_PER_SECOND = 10;
    private static final long TICK_NANOS = TimeUnit.SECONDS.toNanos(1) / TICKS_PER_SECOND;

    /** One tick's work; {@code tick} counts from 0, {@code ticks} is how many the run has. */
    @FunctionalInterface
    interface Tick {
        void run(long tick, long ticks);
    }

    private Pacer() {
    }

    static void run(double seconds, Tick work) throws InterruptedException {
        long ticks = Math.max(1, Math.round(seconds * TICKS_PER_SECOND));
        long start = System.nanoTime();
        for (long t = 0; t < ticks; t++) {
            work.run(t, ticks);
            long due = start + (t + 1) * TICK_NANOS - System.nanoTime();
            if (due > 0) {
                TimeUnit.NANOSECONDS.sleep(due);
            }
        }
    }
}
