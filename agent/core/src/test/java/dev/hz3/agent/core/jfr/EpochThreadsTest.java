package dev.hz3.agent.core.jfr;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class EpochThreadsTest {

    @Test
    void osNamesAreCutTo15Bytes() {
        assertEquals("main", EpochThreads.osNameOf("main"));
        assertEquals("C2 CompilerThre", EpochThreads.osNameOf("C2 CompilerThread0"));
        assertEquals("ééééééé", EpochThreads.osNameOf("éééééééé"));   // 2-byte characters
    }

    @Test
    void aUniquelyNamedThreadIsFoundAndTwinsAreNot() throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        Runnable park = () -> {
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        Thread unique = new Thread(park, "hz3-test-unique-thread");
        Thread twin1 = new Thread(park, "hz3-test-twin-1");
        Thread twin2 = new Thread(park, "hz3-test-twin-1");
        unique.start();
        twin1.start();
        twin2.start();
        try {
            EpochThreads t = new EpochThreads();
            Object[] found = t.lookup(4242, "hz3-test-unique", -1);
            assertEquals(unique.getId(), found[0]);
            assertEquals(0L, t.lookup(4243, "hz3-test-twin-1", -1)[0]);
            assertEquals(0L, t.lookup(4244, "no-such-thread", -1)[0]);
            assertEquals(Thread.currentThread().getId(), t.lookup(7, "whatever", 7)[0]);
        } finally {
            done.countDown();
        }
    }

    @Test
    void anEndedThreadIsKeptUntilALiveOneTakesItsIdAndName() throws Exception {
        EpochThreads t = new EpochThreads();
        Thread first = new Thread(() -> { }, "hz3-test-reused");
        first.start();
        Object[] seen = t.lookup(5151, "hz3-test-reused", -1);   // may race the thread's end
        first.join();
        // Gone, and nobody else by that name: a late event of its exit epoch still names it
        // (when it was seen alive) or nobody, never someone else.
        Object[] late = t.lookup(5151, "hz3-test-reused", -1);
        assertEquals(seen[0], late[0]);

        CountDownLatch done = new CountDownLatch(1);
        Thread second = new Thread(() -> {
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "hz3-test-reused");
        second.start();
        try {
            // Linux gave the id to a new thread of the same name: that one is meant now.
            assertEquals(second.getId(), t.lookup(5151, "hz3-test-reused", -1)[0]);
        } finally {
            done.countDown();
            second.join();
        }
    }
}
