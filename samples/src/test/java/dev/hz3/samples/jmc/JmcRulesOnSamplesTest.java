package dev.hz3.samples.jmc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openjdk.jmc.flightrecorder.rules.Severity;
import org.openjdk.jmc.flightrecorder.rules.report.JfrRulesReport;

import dev.hz3.samples.ChildProcess;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * JMC's own rule engine (JfrRulesReport, which runs every rule RuleRegistry finds, JMC's and
 * hz3's) on recordings the hz3 agent made of the Fragment and Steady samples, started the way a
 * user starts them: bin/hz3-java -XX:StartFlightRecording:...,settings=hz3.jfc. The severities
 * differ as the seed's reading rules say: Fragment leaves survivors pinning most small pages at
 * low occupancy (rule 2, fragmentation: WARNING); Steady frees in LIFO order and leaves no such
 * pages (OK). Neither runs on glibc, so the glibc rule is not applicable.
 *
 * <p>Lives in samples because it needs the samples' classes, the agent jar and libhz3.so, which
 * the reactor builds before this module's tests; a missing one fails the test and says what to
 * build. The recordings are kept in target/jmc-rules/.
 */
class JmcRulesOnSamplesTest {

    static final Path OUT = ChildProcess.BASEDIR.resolve("target/jmc-rules");
    static final String FRAGMENTATION = "Hz3NativeHeapFragmentation";
    static final String RETURNABLE = "Hz3ReturnableNativeMemory";
    static final String HOT_SPOTS = "Hz3SizeClassHotSpots";
    static final String GLIBC = "Hz3GlibcHeap";

    static Map<String, Severity> fragment;
    static Map<String, Severity> steady;
    static Map<String, String> fragmentSummaries;
    static Map<String, String> steadySummaries;

    @BeforeAll
    static void recordAndAnalyze() throws Exception {
        Path jfc = ChildProcess.HZ3_JFC;
        if (!Files.isRegularFile(jfc)) {
            jfc = ChildProcess.ROOT.resolve("jfr-events/src/main/resources/dev/hz3/jfr/hz3.jfc");
        }
        Path classes = ChildProcess.sampleClasses();
        List<String> missing = new ArrayList<>();
        for (Path p : List.of(ChildProcess.HZ3_JAVA, ChildProcess.AGENT_JAR, jfc, ChildProcess.LIBHZ3,
                classes.resolve("dev/hz3/samples/Fragment.class"), classes.resolve("dev/hz3/samples/Steady.class"))) {
            if (!Files.exists(p)) {
                missing.add(p.toString());
            }
        }
        if (!missing.isEmpty()) {
            fail("JMC rules on the samples need the hz3 launcher, agent, settings, libhz3.so and the samples: "
                    + "missing " + missing + ". Build them with `mvn -B -DskipTests package` at the root.");
        }
        Files.createDirectories(OUT);
        Path fragmentJfr = OUT.resolve("fragment.jfr");
        Path steadyJfr = OUT.resolve("steady.jfr");
        // The survivors are held until 7 s after work-start: the fill and free take 2-3 s on a
        // busy machine, and the rules read only consistent snapshots (few pages moving while the
        // sweep runs), which come during the hold, after the last span has moved.
        run(jfc, classes, fragmentJfr, "dev.hz3.samples.Fragment", "--seconds", "7", "--size", "64");
        // One after the other: Steady's churn on a shared 2-core machine stretched Fragment's sweeps
        // during its hold until none was consistent. 8 s give Steady several 2 s windows.
        run(jfc, classes, steadyJfr, "dev.hz3.samples.Steady", "--seconds", "8");
        fragment = new LinkedHashMap<>();
        fragmentSummaries = new LinkedHashMap<>();
        analyze(fragmentJfr, fragment, fragmentSummaries);
        steady = new LinkedHashMap<>();
        steadySummaries = new LinkedHashMap<>();
        analyze(steadyJfr, steady, steadySummaries);
    }

    /** Runs main under bin/hz3-java with a recording to jfr; its output in OUT/NAME/. */
    static void run(Path jfc, Path classes, Path jfr, String main, String... args) throws Exception {
        Files.deleteIfExists(jfr);
        List<String> cmd = new ArrayList<>(List.of(ChildProcess.HZ3_JAVA.toString(),
                "-XX:StartFlightRecording:filename=" + jfr + ",settings=default,settings=" + jfc, "-Xmx256m",
                "-cp", classes.toString(), main));
        cmd.addAll(List.of(args));
        String name = main.substring(main.lastIndexOf('.') + 1).toLowerCase();
        ChildProcess c = ChildProcess.run(name, OUT, cmd, Map.of("JAVA_HOME", System.getProperty("java.home")));
        assertEquals(0, c.exit(), c::toString);
    }

    /** Runs JfrRulesReport (all severities) and collects each rule's severity and summary. */
    static void analyze(Path jfr, Map<String, Severity> severities, Map<String, String> summaries) throws Exception {
        assertTrue(Files.size(jfr) > 0, jfr + " written");
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().newDocument();
        Element root = doc.createElement("reportcollection");
        doc.appendChild(root);
        JfrRulesReport.addReport(jfr.toString(), Severity.NA, false, root);
        NodeList rules = root.getElementsByTagName("rule");
        for (int i = 0; i < rules.getLength(); i++) {
            Element r = (Element) rules.item(i);
            String id = text(r, "id");
            String sev = text(r, "severity");
            for (Severity s : Severity.values()) {
                if (s.getLocalizedName().equals(sev) || s.name().equalsIgnoreCase(sev)) {
                    severities.put(id, s);
                }
            }
            summaries.put(id, text(r, "summary"));
        }
        assertTrue(root.getElementsByTagName("error").getLength() == 0, "JfrRulesReport reported an error for " + jfr);
    }

    static String text(Element e, String tag) {
        NodeList nl = e.getElementsByTagName(tag);
        return nl.getLength() == 0 ? "" : nl.item(0).getTextContent();
    }

    @Test
    void jmcRunsTheHz3RulesAlongsideItsOwn() {
        for (String id : List.of(FRAGMENTATION, RETURNABLE, HOT_SPOTS, GLIBC)) {
            assertTrue(fragment.containsKey(id) && steady.containsKey(id), id + " missing from JMC's report: "
                    + fragment.keySet());
        }
        assertTrue(fragment.size() > 10, "JMC's own rules ran too: " + fragment.keySet());
    }

    /** Reading rule 2: partial pages dominate at low occupancy in Fragment, not in Steady. */
    @Test
    void fragmentIsFragmentedAndSteadyIsNot() {
        assertEquals(Severity.WARNING, fragment.get(FRAGMENTATION), fragmentSummaries.get(FRAGMENTATION));
        assertTrue(fragmentSummaries.get(FRAGMENTATION).contains("small tier"), fragmentSummaries.get(FRAGMENTATION));
        assertEquals(Severity.OK, steady.get(FRAGMENTATION), steadySummaries.get(FRAGMENTATION));
    }

    /** Fragment's memory is pinned by survivors, not returnable; its partial pages matter, Steady's do not. */
    @Test
    void fragmentsMemoryIsStuckNotReturnable() {
        assertTrue(fragment.get(RETURNABLE).compareTo(Severity.WARNING) < 0, fragmentSummaries.get(RETURNABLE));
        assertTrue(fragment.get(HOT_SPOTS).compareTo(Severity.OK) >= 0, "judged: " + fragmentSummaries.get(HOT_SPOTS));
        assertEquals(Severity.OK, steady.get(HOT_SPOTS), steadySummaries.get(HOT_SPOTS));
    }

    /**
     * Steady frees and allocates the same sizes all along: its empty pages at any moment (25-35 MiB)
     * are taken again within hz3's purge delay, which is hz3 working, not memory to return (issue 11:
     * it was WARNING in 3 of 3 runs, advising a shorter purge delay that would only add page faults).
     */
    @Test
    void steadyReusesItsMemoryAndThatIsNotAFinding() {
        // N/A when fewer than two consistent snapshots 2 s apart came (Steady moves pages all the
        // time, and a loaded machine stretches the sweeps): never INFO or WARNING.
        Severity s = steady.get(RETURNABLE);
        assertTrue(s == Severity.OK || s == Severity.NA, s + ": " + steadySummaries.get(RETURNABLE));
        if (s == Severity.OK) {
            assertTrue(steadySummaries.get(RETURNABLE).startsWith("hz3 re"), steadySummaries.get(RETURNABLE));
        }
    }

    @Test
    void theGlibcRuleIsNotApplicableUnderHz3() {
        assertEquals(Severity.NA, fragment.get(GLIBC));
        assertEquals(Severity.NA, steady.get(GLIBC));
    }
}
