package dev.hz3.samples;

import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;

/**
 * The phases of a sample run on worker threads: idle-before, work, idle-after, with the
 * {@link Phases} lines between them.
 *
 * <p>The work ends when every worker's body has returned, and each body must have freed all the
 * native memory it allocated by then: that is what {@code PHASE work-end} promises. Unless told
 * otherwise the workers then stay alive, parked, through idle-after (like a server's thread pool
 * between bursts), so an allocator that gives memory back only when a thread exits is seen
 * doing so only with {@code --exit-threads}.
 */
final class Workers {

    /** The work of one thread; {@code startNanos} is the shared {@link System#nanoTime()} at work-start. */
    @FunctionalInterface
    interface Body {
        void run(int id, long startNanos) throws Exception;
    }

    /** How long the work took, and what the workers threw. */
    record Result(long workMillis, List<Throwable> failures) {
    }

    private Workers() {
    }

    static Result run(String name, SampleOptions o, Body body) throws InterruptedException {
        Phases.idle(o.idleBeforeSeconds(), "idle-before-start", null);

        Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        CountDownLatch done = new CountDownLatch(o.threads());
        CountDownLatch release = new CountDownLatch(1);
        Phases.mark("work-start");
        long start = System.nanoTime();
        Thread[] workers = new Thread[o.threads()];
        for (int i = 0; i < workers.length; i++) {
            int id = i;
            workers[i] = new Thread(() -> {
                try {
                    body.run(id, start);
                } catch (Throwable t) {
                    failures.add(t);
                } finally {
                    done.countDown();
                }
                if (!o.exitThreads()) {
                    awaitUninterruptibly(release);
                }
            }, name + "-" + i);
            workers[i].start();
        }
        done.await();
        if (o.exitThreads()) {
            joinAll(workers);
        }
        long workMillis = (System.nanoTime() - start) / 1_000_000;
        Phases.mark("work-end");
        Phases.idle(o.idleAfterSeconds(), null, "idle-end");
        release.countDown();
        joinAll(workers);
        return new Result(workMillis, List.copyOf(failures));
    }

    /** True while a duration-bound loop should go on: always at least once. */
    static boolean more(int round, int rounds, long startNanos, double seconds) {
        if (rounds > 0) {
            return round < rounds;
        }
        return round == 0 || System.nanoTime() - startNanos < (long) (seconds * 1e9);
    }

    /** Prints each failure on stderr; true if there was none. */
    static boolean report(String name, Result r) {
        for (Throwable t : r.failures()) {
            System.err.println(name + ": FAILED in a worker: " + t);
            t.printStackTrace();
        }
        return r.failures().isEmpty();
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        while (true) {
            try {
                latch.await();
                return;
            } catch (InterruptedException e) {
                // Only the main thread releases the workers; keep waiting for it.
            }
        }
    }

    private static void joinAll(Thread[] threads) throws InterruptedException {
        for (Thread t : threads) {
            t.join();
        }
    }
}
