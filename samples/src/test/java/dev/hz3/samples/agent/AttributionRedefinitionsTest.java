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
 * Attribution turned on at start-up, before -XX:StartFlightRecording's JFR, must leave the hz3
 * event classes for JFR to instrument as they load: an event class loaded earlier is redefined
 * when JFR registers it, and every class redefinition throws away the compilations the JIT has
 * in flight (HotSpot's "Jvmti state change invalidated dependencies"), which the JIT then does
 * again. The JVM's own log of redefinitions tells; the recording must still hold the samples.
 */
class AttributionRedefinitionsTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void noHz3EventClassIsRedefined(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "attribution-redefinitions-" + javaHome.getFileName());
        Path jfr = dir.resolve("attribution.jfr");
        Path log = dir.resolve("redefinitions.log");
        NativeAttributionTest.recordedRun(javaHome, dir, jfr,
                "-javaagent:" + ChildProcess.AGENT_JAR + "=attribution=on",
                "-Xlog:redefine+class+load=info:file=" + log);
        List<String> lines = Files.readAllLines(log);
        List<String> events = lines.stream().filter(l -> l.contains("redefined name=dev.hz3.jfr.")).toList();
        assertEquals(List.of(), events, () -> "hz3 event classes redefined; every redefinition:\n"
                + String.join("\n", lines));
        // The advice is there: the JDK's classes were redefined for it.
        assertTrue(lines.stream().anyMatch(l -> l.contains("redefined name=jdk.internal.misc.Unsafe")),
                () -> String.join("\n", lines));
        List<RecordedEvent> samples = Recordings.of(Recordings.read(jfr), "hz3.NativeAllocationSample");
        assertTrue(samples.stream().anyMatch(e -> NativeAttributionTest.allocatingMethod(e)
                .startsWith(NativeAttributionTest.APP + ".")), () -> samples.size() + " samples, none of the app's");
    }
}
