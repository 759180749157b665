package dev.hz3.jmc.report;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import jdk.jfr.consumer.RecordingStream;

/**
 * The JVM of {@link ContainerEventsReportTest}: asks JFR for jdk.ContainerMemoryUsage every 200
 * ms (event settings are shared by all recordings, so the file recording of its command line gets
 * them too) and exits once it has seen {@link #EVENTS} of them, or after 10 s when the JVM sees no
 * container and emits none. Prints how many it saw.
 */
public final class ContainerJvm {

    static final int EVENTS = 4;

    private ContainerJvm() {
    }

    public static void main(String[] args) throws Exception {
        AtomicInteger seen = new AtomicInteger();
        try (RecordingStream rs = new RecordingStream()) {
            rs.enable("jdk.ContainerMemoryUsage").withPeriod(Duration.ofMillis(200));
            rs.onEvent("jdk.ContainerMemoryUsage", e -> {
                if (seen.incrementAndGet() >= EVENTS) {
                    rs.close();
                }
            });
            rs.startAsync();
            rs.awaitTermination(Duration.ofSeconds(10));
        }
        System.out.println("container memory usage events: " + seen.get());
    }
}
