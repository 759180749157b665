package dev.hz3.jmc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * The bundle's metadata has the shape a real JMC 9.1.2 was seen to load
 * (shared/design/jvm-integration.md, JMC section): the manifest headers, plugin.xml's two
 * extensions, and pages.xml's pages under JVM Internals made by the item-handler factory.
 */
public class BundleMetadataTest {

    static final Path RESOURCES = Path.of("src/main/resources");
    static final String ITEM_HANDLER = "org.openjdk.jmc.flightrecorder.ui.itemhandler";
    static final String JVM_INTERNALS = "org.openjdk.jmc.flightrecorder.ui.jvminternals";

    public static Manifest manifest(InputStream in) throws IOException {
        return new Manifest(in);
    }

    /** Checks the OSGi headers; shared with BundleJarIT, which checks the packaged jar. */
    public static void checkManifest(Manifest m) {
        Attributes a = m.getMainAttributes();
        assertEquals("2", a.getValue("Bundle-ManifestVersion"));
        String sn = a.getValue("Bundle-SymbolicName");
        assertNotNull(sn, "Bundle-SymbolicName");
        assertTrue(sn.matches("dev\\.hz3\\.jmc;\\s*singleton:=true"), sn);
        String version = a.getValue("Bundle-Version");
        assertNotNull(version);
        assertTrue(version.matches("\\d+\\.\\d+\\.\\d+(\\.[A-Za-z0-9_-]+)?"), "OSGi version: " + version);
        String project = System.getProperty("hz3.project.version", "");
        if (!project.isEmpty()) {
            assertTrue(project.startsWith(version), "Bundle-Version " + version + " against Maven " + project);
        }
        assertEquals("lazy", a.getValue("Bundle-ActivationPolicy"));
        String require = a.getValue("Require-Bundle");
        assertNotNull(require, "Require-Bundle");
        Set<String> bundles = new HashSet<>();
        for (String b : require.split(",")) {
            bundles.add(b.trim().split(";")[0]);
        }
        for (String b : List.of("org.openjdk.jmc.common", "org.openjdk.jmc.flightrecorder",
                "org.openjdk.jmc.flightrecorder.rules", "org.openjdk.jmc.flightrecorder.ui")) {
            assertTrue(bundles.contains(b), "Require-Bundle lacks " + b + ": " + require);
        }
        assertEquals("JavaSE-17", a.getValue("Bundle-RequiredExecutionEnvironment"));
    }

    @Test
    void manifestHasTheBundleHeaders() throws IOException {
        try (InputStream in = Files.newInputStream(RESOURCES.resolve("META-INF/MANIFEST.MF"))) {
            checkManifest(manifest(in));
        }
    }

    /**
     * Every package the plug-in's code imports is the JDK's or one of the required bundles':
     * inside JMC nothing else is there to resolve.
     */
    @Test
    void codeUsesOnlyTheRequiredBundles() throws IOException {
        List<String> bundles = List.of("org.openjdk.jmc.common", "org.openjdk.jmc.flightrecorder.rules",
                "org.openjdk.jmc.flightrecorder");
        Pattern imp = Pattern.compile("^import (?:static )?([a-z][\\w.]*)\\.[A-Z*]", Pattern.MULTILINE);
        List<String> bad = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Path.of("src/main/java"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Matcher m = imp.matcher(Files.readString(f));
                while (m.find()) {
                    String pkg = m.group(1);
                    boolean ok = pkg.startsWith("java.") || pkg.startsWith("javax.") || pkg.startsWith("dev.hz3.jmc")
                            || bundles.stream().anyMatch(b -> pkg.equals(b) || pkg.startsWith(b + "."));
                    if (!ok) {
                        bad.add(f.getFileName() + ": " + pkg);
                    }
                }
            }
        }
        assertTrue(bad.isEmpty(), "imports outside the required bundles: " + bad);
    }

    static Document xml(Path p) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return f.newDocumentBuilder().parse(p.toFile());
    }

    static List<Element> children(Element e, String name) {
        List<Element> l = new ArrayList<>();
        NodeList nl = e.getChildNodes();
        for (int i = 0; i < nl.getLength(); i++) {
            Node n = nl.item(i);
            if (n instanceof Element c && c.getTagName().equals(name)) {
                l.add(c);
            }
        }
        return l;
    }

    @Test
    void pluginXmlContributesPagesAndRules() throws Exception {
        Element plugin = xml(RESOURCES.resolve("plugin.xml")).getDocumentElement();
        assertEquals("plugin", plugin.getTagName());
        List<Element> ext = children(plugin, "extension");
        Element pages = ext.stream()
                .filter(e -> e.getAttribute("point").equals("org.openjdk.jmc.flightrecorder.ui.datapage")).findFirst()
                .orElseThrow(() -> new AssertionError("no datapage extension"));
        List<Element> pagesEl = children(pages, "pages");
        assertEquals(1, pagesEl.size());
        assertEquals("pages.xml", pagesEl.get(0).getAttribute("file"));
        assertTrue(pagesEl.get(0).getAttribute("weight").matches("\\d+"));
        assertTrue(Files.isRegularFile(RESOURCES.resolve(pagesEl.get(0).getAttribute("file"))));
        Element rules = ext.stream()
                .filter(e -> e.getAttribute("point").equals("org.openjdk.jmc.flightrecorder.rules.ruleProvider"))
                .findFirst().orElseThrow(() -> new AssertionError("no ruleProvider extension"));
        assertEquals(1, children(rules, "ruleProvider").size());
    }

    @Test
    void pagesXmlHasTheThreePagesUnderJvmInternals() throws Exception {
        Element root = xml(RESOURCES.resolve("pages.xml")).getDocumentElement();
        assertEquals("pages", root.getTagName());
        List<Element> top = children(root, "page");
        List<String> names = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (Element p : top) {
            assertEquals(JVM_INTERNALS, p.getAttribute("parent"));
            names.add(checkPage(p, ids));
        }
        assertEquals(List.of("Native Heap (hz3)", "Partial Size Classes (hz3)", "Native Call Sites (hz3)"), names);
        // The tier pages under Native Heap (hz3).
        List<String> tiers = new ArrayList<>();
        for (Element child : children(top.get(0), "page")) {
            assertFalse(child.hasAttribute("parent"), "nested pages take their parent from the nesting");
            tiers.add(checkPage(child, ids));
        }
        assertEquals(Arrays.asList("small tier (hz3)", "sub4k tier (hz3)", "medium tier (hz3)", "large tier (hz3)",
                "free tier (hz3)"),
                tiers);
    }

    private static String checkPage(Element p, Set<String> ids) {
        assertEquals(ITEM_HANDLER, p.getAttribute("factory"));
        String id = p.getAttribute("id");
        assertTrue(id.startsWith("dev.hz3.jmc."), id);
        assertTrue(ids.add(id), "duplicate page id " + id);
        List<Element> state = children(p, "state");
        assertEquals(1, state.size(), id);
        assertFalse(state.get(0).getAttribute("defaultName").isBlank(), id);
        String description = state.get(0).getAttribute("description");
        assertFalse(description.isBlank(), id);
        // JMC shows it as one label that does not wrap: longer, it widens the page past the editor.
        assertTrue(description.length() <= 90, id + ": description of " + description.length() + " characters");
        assertEquals(1, children(state.get(0), "pageFilter").size(), id);
        return state.get(0).getAttribute("defaultName");
    }
}
