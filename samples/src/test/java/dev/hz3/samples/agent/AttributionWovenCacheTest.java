package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hz3.samples.ChildProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The JDK classes attribution weaves are kept, woven, in the agent's private directory: a JVM
 * started again with attribution on loads no ASM class (the weaving and the JIT's work on ASM
 * were a third of attribution's set-up), and its advice works as the first JVM's did. The third
 * JVM, not the second: a class's file comes in two forms, as loaded and as retransformed, and
 * the first JVM, which writes the agent's boot jar (a Deflater), loads Deflater's stream
 * reference before attribution is on, where the next JVMs load it after; each form is woven once.
 */
class AttributionWovenCacheTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void aThirdStartWeavesNothing(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "attribution-woven-" + javaHome.getFileName());
        Map<String, String> xdg = NativeAttributionTest.privateXdg(dir);   // one for both JVMs
        for (int run = 1; run <= 3; run++) {
            Path jfr = dir.resolve("run" + run + ".jfr");
            Path log = dir.resolve("classes" + run + ".log");
            List<String> cmd = NativeAttributionTest.java(javaHome,
                    "-javaagent:" + ChildProcess.AGENT_JAR + "=attribution=on",
                    "-Xlog:class+load=info:file=" + log);
            cmd.addAll(List.of("-XX:StartFlightRecording:filename=" + jfr + ",settings="
                    + NativeAttributionTest.jfc(dir), "-cp", ChildProcess.testClasses().toString(),
                    NativeAttributionTest.APP));
            ChildProcess c = ChildProcess.run("app" + run, dir, cmd, xdg);
            assertEquals(0, c.exit(), c::toString);
            List<String> asm = Files.readAllLines(log).stream()
                    .filter(l -> l.contains(" net.bytebuddy.jar.asm.")).toList();
            if (run == 1) {
                assertFalse(asm.isEmpty(), "the first JVM weaves with ASM (a fresh private directory)");
            } else if (run == 3) {
                assertEquals(List.of(), asm, "ASM classes loaded by the third JVM");
            }
            List<RecordedEvent> samples = Recordings.of(Recordings.read(jfr), "hz3.NativeAllocationSample");
            int r = run;
            assertTrue(samples.stream().anyMatch(e -> NativeAttributionTest.allocatingMethod(e)
                    .startsWith(NativeAttributionTest.APP + ".")),
                    () -> "run " + r + ": " + samples.size() + " samples, none of the app's");
        }
    }
}
