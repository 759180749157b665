package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hz3.samples.ChildProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import jdk.jfr.consumer.RecordedEvent;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A sampled call names its site from a Throwable's frames, which the JVM fills natively, not
 * with the JDK's StackWalker: its walk is about forty methods of the JDK's Java that the JIT
 * compiled in every JVM with attribution on, a fixed cost of start-up and JIT that a short run
 * could not amortise (bench/RESULTS.md, 2026-12-03 night). The JVM's log of class loading
 * tells whether the walker ran (its traverser is loaded at a first walk; the walker's base class
 * comes with the JVM); the samples must still name the app's frames as their sites.
 */
class AttributionStackWalkTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void sitesAreNamedWithoutTheStackWalker(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "attribution-stack-walk-" + javaHome.getFileName());
        Path jfr = dir.resolve("attribution.jfr");
        Path log = dir.resolve("classes.log");
        NativeAttributionTest.recordedRun(javaHome, dir, jfr,
                "-javaagent:" + ChildProcess.AGENT_JAR + "=attribution=on",
                "-Xlog:class+load=info:file=" + log);
        List<String> walker = Files.readAllLines(log).stream()
                .filter(l -> l.contains(" java.lang.StackStreamFactory$StackFrameTraverser ")).toList();
        assertEquals(List.of(), walker, "the StackWalker's classes were loaded");
        List<RecordedEvent> samples = Recordings.of(Recordings.read(jfr), "hz3.NativeAllocationSample");
        assertTrue(samples.stream().anyMatch(e -> e.getString("site").startsWith(NativeAttributionTest.APP + ".")),
                () -> samples.size() + " samples, none with a site of the app's");
    }
}
