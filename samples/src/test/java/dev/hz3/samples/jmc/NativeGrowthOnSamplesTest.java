package dev.hz3.samples.jmc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.util.IPreferenceValueProvider;
import org.openjdk.jmc.flightrecorder.JfrLoaderToolkit;
import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.Severity;

import dev.hz3.jmc.rules.Hz3Rules;
import dev.hz3.samples.ChildProcess;
import dev.hz3.jmc.rules.NativeMemoryGrowthRule;

/**
 * The rule "Native memory growth" on real recordings of the NativeLeak and NativeCache samples,
 * run in child JVMs with the agent's attribution on (under glibc: the rule needs no hz3), on JDK
 * 17 and Temurin 25. NativeLeak's two leaking frames are named and its pool is not; NativeCache,
 * which allocates the same kinds until its bound and then holds, gives OK.
 *
 * <p>hz3.NativeSite is recorded every second here (10 s in hz3.jfc) so that a run of a few
 * seconds has enough samples. The recordings are kept in target/jmc-sites/.
 */
class NativeGrowthOnSamplesTest {

    static final Path OUT = ChildProcess.BASEDIR.resolve("target/jmc-sites");
    static final String LEAK = "dev.hz3.samples.NativeLeak";
    static final String CACHE = "dev.hz3.samples.NativeCache";

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void theLeakIsNamedAndThePoolIsNot(Path javaHome) throws Exception {
        IResult r = growth(record(javaHome, LEAK, "--size", "16", "--seconds", "8"));
        String summary = plain(r.getSummary());
        assertEquals(Severity.WARNING, r.getSeverity(), summary + "\n" + plain(r.getExplanation()));
        // The frames the sample leaks from, and the kinds it leaks there.
        assertTrue(summary.contains(LEAK + ".compressRequest:"), summary);
        assertTrue(summary.contains(LEAK + ".keepReply:"), summary);
        assertFalse(summary.contains(LEAK + ".borrow"), "the pool plateaus: " + summary);
        String text = plain(r.getExplanation());
        Matcher m = Pattern.compile("- " + Pattern.quote(LEAK) + "\\.compressRequest:\\d+ \\(deflater, through "
                + "new java\\.util\\.zip\\.Deflater\\): grows [^;]+; [^;]+ live at the end").matcher(text);
        assertTrue(m.find(), text);
        assertTrue(text.contains("its oldest live sample is"), text);
        String solution = plain(r.getSolution());
        assertTrue(solution.contains("call end() when done") && solution.contains("bounded pool"), solution);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void theCacheThatHoldsIsNotALeak(Path javaHome) throws Exception {
        IResult r = growth(record(javaHome, CACHE, "--size", "32", "--seconds", "10"));
        String text = plain(r.getSummary()) + "\n" + plain(r.getExplanation());
        assertEquals(Severity.OK, r.getSeverity(), text);
        // It did see the cache's sites, and they grew (while filling) by more than the least growth.
        assertTrue(text.contains(CACHE + ".openSession:"), text);
        assertTrue(text.contains("grew and then held"), text);
    }

    static IResult growth(IItemCollection items) {
        for (IResult r : Hz3Rules.evaluate(items, IPreferenceValueProvider.DEFAULT_VALUES)) {
            if (r.getRule() instanceof NativeMemoryGrowthRule) {
                return r;
            }
        }
        throw new AssertionError("no Native memory growth result");
    }

    /** A result's text with JMC's no-break spaces ("30\u00a0MiB") as plain ones. */
    static String plain(String s) {
        return s == null ? "" : s.replace('\u00a0', ' ').replace('\u202f', ' ');
    }

    /** hz3.jfc with hz3.NativeSite every second. */
    static Path jfc(Path dir) throws IOException {
        String jfc = Files.readString(ChildProcess.HZ3_JFC);
        String site = "<event name=\"hz3.NativeSite\">";
        int at = jfc.indexOf(site);
        assertTrue(at > 0, "hz3.NativeSite in " + ChildProcess.HZ3_JFC);
        jfc = jfc.substring(0, at) + jfc.substring(at).replaceFirst(
                "<setting name=\"period\">[^<]*</setting>", "<setting name=\"period\">1 s</setting>");
        return Files.writeString(dir.resolve("sites.jfc"), jfc);
    }

    static IItemCollection record(Path javaHome, String main, String... args) throws Exception {
        for (Path p : List.of(ChildProcess.AGENT_JAR, ChildProcess.HZ3_JFC)) {
            if (!Files.exists(p)) {
                fail("missing " + p + ": build the agent first (mvn -B -DskipTests package at the root)");
            }
        }
        String name = main.substring(main.lastIndexOf('.') + 1) + "-" + javaHome.getFileName();
        Path dir = OUT.resolve(name);
        Files.createDirectories(dir);
        Path jfr = dir.resolve("recording.jfr");
        Files.deleteIfExists(jfr);
        List<String> cmd = new ArrayList<>(List.of(ChildProcess.java(javaHome), "-Xmx256m",
                "-XX:MaxDirectMemorySize=1g", "-Djava.io.tmpdir=" + dir,
                "-javaagent:" + ChildProcess.AGENT_JAR + "=attribution=on",
                "-XX:StartFlightRecording:filename=" + jfr + ",settings=" + jfc(dir),
                "-cp", ChildProcess.sampleClasses().toString(), main));
        cmd.addAll(List.of(args));
        ChildProcess c = ChildProcess.run(name, OUT, cmd, Map.of());
        assertEquals(0, c.exit(), c::toString);
        return JfrLoaderToolkit.loadEvents(new File(jfr.toString()));
    }
}
