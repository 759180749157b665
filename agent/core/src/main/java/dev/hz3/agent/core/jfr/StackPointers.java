package dev.hz3.agent.core.jfr;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The stack pointers of the process's threads (/proc/self/task/TID/syscall), which tell the
 * mappings that are thread stacks: a thread shows one while it sits in a system call or is
 * stopped, none while it runs.
 */
final class StackPointers {

    private static final int REFRESH = 12;   // a minute of scrapes every 5 s, two of JFR's every 10 s
    private final Map<Long, Long> known = new HashMap<>();   // thread id -> stack pointer
    private int threads;
    private long readings;

    /** A thread's stack pointer from its /proc task directory; 0 when running or gone. */
    private static long stackPointer(Path task) {
        try {
            String[] f = Files.readString(task.resolve("syscall")).trim().split("\\s+");
            if (f.length >= 3 && f[f.length - 2].startsWith("0x")) {
                return Long.parseUnsignedLong(f[f.length - 2].substring(2), 16);
            }
        } catch (IOException | RuntimeException gone) {
            // The thread exited, or is running ("running" has no stack pointer).
        }
        return 0;
    }

    /**
     * Stack pointers of the process's threads that sit in a system call or are stopped. A
     * thread's stack does not move, so a stack pointer once read is kept while its thread
     * lives, and only threads not yet caught in a system call are read again (about 2 ms a
     * reading saved with 30 threads). A thread id the
     * kernel gave to a new thread meanwhile could keep a pointer into a stack freed since: the
     * whole set is read afresh every {@link #REFRESH} readings.
     */
    Set<Long> known() {
        if (++readings % REFRESH == 0) {
            known.clear();
        }
        Set<Long> alive = new HashSet<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path t : tasks) {
                long tid = Long.parseLong(t.getFileName().toString());
                alive.add(tid);
                if (!known.containsKey(tid)) {
                    long sp = stackPointer(t);
                    if (sp != 0) {
                        known.put(tid, sp);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // No /proc/self/task: no stacks found.
        }
        known.keySet().retainAll(alive);
        threads = alive.size();
        return new HashSet<>(known.values());
    }

    /** The process's threads at the last {@link #known()}. */
    int threads() {
        return threads;
    }
}
