package dev.hz3.jmc.report;

import jdk.jfr.DataAmount;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;

/**
 * The JDK's memory events under their own names and with their own fields, for synthetic
 * recordings: the tests run on JDK 17, which has no jdk.ResidentSetSize (21+) nor NMT events (20+).
 * Not the container events: JDK 17 has its own jdk.ContainerConfiguration and
 * jdk.ContainerMemoryUsage, and a second type of the same name is not read back by JMC's parser.
 */
final class JdkEvents {

    private JdkEvents() {
    }

    static final Class<?>[] CLASSES = {ResidentSetSize.class, NativeMemoryUsage.class, NativeMemoryUsageTotal.class};

    @Name("jdk.ResidentSetSize")
    @Label("Resident Set Size")
    static final class ResidentSetSize extends Event {
        @DataAmount
        long size;
        @DataAmount
        long peak;
    }

    @Name("jdk.NativeMemoryUsage")
    @Label("Native Memory Usage Per Type")
    static final class NativeMemoryUsage extends Event {
        String type;
        @DataAmount
        long reserved;
        @DataAmount
        long committed;
    }

    @Name("jdk.NativeMemoryUsageTotal")
    @Label("Total Native Memory Usage")
    static final class NativeMemoryUsageTotal extends Event {
        @DataAmount
        long reserved;
        @DataAmount
        long committed;
    }

    static void rss(long size) {
        ResidentSetSize e = new ResidentSetSize();
        e.size = size;
        e.peak = size;
        e.commit();
    }

    static void nmt(long heap, long classes, long threads) {
        String[] types = {"Java Heap", "Class", "Thread"};
        long[] committed = {heap, classes, threads};
        for (int i = 0; i < types.length; i++) {
            NativeMemoryUsage e = new NativeMemoryUsage();
            e.type = types[i];
            e.committed = committed[i];
            e.reserved = committed[i] * 2;
            e.commit();
        }
        NativeMemoryUsageTotal t = new NativeMemoryUsageTotal();
        t.committed = heap + classes + threads;
        t.reserved = t.committed * 2;
        t.commit();
    }
}
