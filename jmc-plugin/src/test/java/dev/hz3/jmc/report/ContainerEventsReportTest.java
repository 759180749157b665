package dev.hz3.jmc.report;

import static dev.hz3.jmc.report.ReportChartsBrowserTest.chart;
import static dev.hz3.jmc.report.ReportChartsBrowserTest.map;
import static dev.hz3.jmc.report.ReportChartsBrowserTest.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;

/**
 * The report's container path on the JDK's own container events: a child JVM (this test's JDK)
 * records jdk.ContainerConfiguration and jdk.ContainerMemoryUsage where it sees a container (JDK
 * 17 here, under cgroup v1; Temurin 25 sees none on this machine and emits neither, and then the
 * test is skipped, saying so). The page states the container's limit as the last
 * jdk.ContainerConfiguration gives it, and charts one point of container usage per event.
 */
class ContainerEventsReportTest {

    static final Path OUT = HtmlReportBrowserTest.OUT.resolve("container");

    @AfterAll
    static void cleanUp() throws Exception {
        Files.deleteIfExists(OUT.resolve("container-probe.html"));
    }

    @Test
    void theContainersLimitAndUsageAreShown() throws Exception {
        Files.createDirectories(OUT);
        Path rec = OUT.resolve("container.jfr");
        Files.deleteIfExists(rec);
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.io.tmpdir=" + OUT, "-XX:StartFlightRecording:filename=" + rec + ",settings=default",
                "-cp", System.getProperty("java.class.path"), ContainerJvm.class.getName())
                .redirectErrorStream(true).redirectOutput(OUT.resolve("container.out").toFile()).start();
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "the JVM ends within 90 s");
        assertEquals(0, p.exitValue(), Files.readString(OUT.resolve("container.out")));

        List<RecordedEvent> events = RecordingFile.readAllEvents(rec);
        List<RecordedEvent> config = events.stream()
                .filter(e -> e.getEventType().getName().equals("jdk.ContainerConfiguration")).toList();
        List<RecordedEvent> usage = events.stream()
                .filter(e -> e.getEventType().getName().equals("jdk.ContainerMemoryUsage")).toList();
        Assumptions.assumeFalse(config.isEmpty() && usage.isEmpty(), "JDK " + Runtime.version().feature()
                + " sees no container on this machine and records no container event");

        Map<String, Object> probe = ReportChartsBrowserTest.probe(rec, "container", OUT);
        String text = (String) probe.get("text");
        if (!config.isEmpty()) {
            RecordedEvent last = config.stream().max((a, b) -> a.getEndTime().compareTo(b.getEndTime())).orElseThrow();
            long limit = last.getLong("memoryLimit");
            String said = limit > 0 ? Format.bytes(limit) : "no limit";
            assertTrue(text.contains("Container memory limit (jdk.ContainerConfiguration): " + said + "."), text);
        }
        Map<String, Object> points = map(chart(probe, "process").get("points"));
        assertEquals(usage.size(), (long) num(points.getOrDefault("container usage", java.math.BigDecimal.ZERO)),
                "one point per jdk.ContainerMemoryUsage event: " + points);
        // The file recording ran all along the stream the child watched: it has every event the child saw.
        java.util.regex.Matcher seen = java.util.regex.Pattern.compile("container memory usage events: (\\d+)")
                .matcher(Files.readString(OUT.resolve("container.out")));
        assertTrue(seen.find(), "the child's count");
        assertTrue(usage.size() >= Integer.parseInt(seen.group(1)), usage.size() + " events, the child saw " + seen.group(1));
    }
}
