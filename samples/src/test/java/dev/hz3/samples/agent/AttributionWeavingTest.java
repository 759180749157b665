package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import dev.hz3.samples.ChildProcess;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * How attribution's advice gets into the JDK: woven with the ASM that Byte Buddy's jar carries,
 * without Byte Buddy's own machinery (its type descriptions, type pools, Advice, method graphs:
 * about 700 classes to load and compile, most of attribution's start-up cost). A child JVM under
 * hz3 with attribution on runs {@link WovenPathsApp} with the JDK's own classes verified too
 * (-XX:+BytecodeVerificationLocal: the woven Unsafe, Deflater, Inflater and their stream
 * references must pass the verifier, their frames included), lists the classes it loads, and
 * still attributes: the kept blocks are sampled at their allocating method, each stack starting
 * at Unsafe.allocateMemory, and every throwing path behaves as without the agent.
 */
class AttributionWeavingTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void noByteBuddyMachineryAndStillAttributed(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "attribution-weaving-" + javaHome.getFileName());
        Path jfr = dir.resolve("woven.jfr");
        Path classes = dir.resolve("classes.txt");
        String app = WovenPathsApp.class.getName();
        List<String> cmd = NativeAttributionTest.java(javaHome,
                "-XX:+UnlockDiagnosticVMOptions", "-XX:+BytecodeVerificationLocal",
                "-Xlog:class+load=info:file=" + classes,
                "-javaagent:" + ChildProcess.AGENT_JAR + "=attribution=on,sampleBytes=64k",
                "-XX:StartFlightRecording:filename=" + jfr + ",settings=" + NativeAttributionTest.jfc(dir),
                "-cp", ChildProcess.testClasses().toString(), app);
        ChildProcess c = ChildProcess.run("app", dir, cmd, Map.of("LD_PRELOAD", ChildProcess.LIBHZ3.toString()));
        assertEquals(0, c.exit(), c::toString);
        assertTrue(c.err().contains("hz3 samples too"), c::toString);
        assertTrue(!c.err().contains("cannot advise"), c::toString);
        for (String line : List.of("allocateMemory(-1) threw IllegalArgumentException",
                "inflated 100000", "bad inflate threw DataFormatException",
                "DONE kept " + (WovenPathsApp.KEEP_COUNT + 50))) {
            assertTrue(c.out().contains(line + "\n"), () -> line + "\n" + c);
        }

        // Of Byte Buddy's jar only its copy of ASM is loaded.
        List<String> loaded = Files.readAllLines(classes);
        assertTrue(loaded.stream().anyMatch(l -> l.contains(" jdk.internal.misc.Unsafe ")), "the class log works");
        List<String> byteBuddy = loaded.stream().map(l -> l.replaceFirst("^\\S+ (\\S+) .*", "$1"))
                .filter(n -> n.startsWith("net.bytebuddy.") && !n.startsWith("net.bytebuddy.jar.asm."))
                .toList();
        assertTrue(byteBuddy.isEmpty(), () -> byteBuddy.size() + " classes of Byte Buddy's loaded: "
                + byteBuddy.subList(0, Math.min(10, byteBuddy.size())));

        // Still attributed: the kept blocks, 400 of 98,767 bytes, each sampled by the agent with
        // p = 1 - exp(-98767 / 65536) = 0.78 (about 311, sd 8; hz3's own samples inside the
        // calls, committed at the same frame, come on top).
        List<RecordedEvent> kept = Recordings.of(Recordings.read(jfr), "hz3.NativeAllocationSample")
                .stream().filter(e -> NativeAttributionTest.allocatingMethod(e).equals(app + ".keep"))
                .toList();
        assertTrue(kept.size() > 250, () -> "samples of keep: " + kept.size());
        for (RecordedEvent e : kept) {
            RecordedFrame top = e.getStackTrace().getFrames().get(0);
            assertEquals("jdk.internal.misc.Unsafe.allocateMemory",
                    top.getMethod().getType().getName() + "." + top.getMethod().getName(), e::toString);
            assertEquals("unsafe", e.getString("kind"), e::toString);
        }
    }
}
