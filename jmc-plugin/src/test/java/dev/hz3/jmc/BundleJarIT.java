package dev.hz3.jmc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * After `package`: the bundle jar a user drops into JMC holds our classes and metadata only (JMC
 * brings its own bundles), with the OSGi headers; target/lib holds the JMC core jars bin/hz3-report
 * runs with, and nothing that is only for the tests.
 */
class BundleJarIT {

    static final Path JAR = Path.of(System.getProperty("hz3.bundle.jar", "target/hz3-jmc-plugin.jar"));
    static final Path LIB = Path.of(System.getProperty("hz3.lib.dir", "target/lib"));

    @Test
    void jarHoldsOnlyOurClassesAndMetadata() throws IOException {
        List<String> foreign = new ArrayList<>();
        List<String> names = new ArrayList<>();
        try (JarFile jar = new JarFile(JAR.toFile())) {
            for (Enumeration<JarEntry> en = jar.entries(); en.hasMoreElements();) {
                String n = en.nextElement().getName();
                names.add(n);
                boolean ok = n.endsWith("/") || n.startsWith("dev/hz3/jmc/") || n.equals("plugin.xml")
                        || n.equals("pages.xml") || n.equals("META-INF/MANIFEST.MF")
                        || n.equals("META-INF/services/org.openjdk.jmc.flightrecorder.rules.IRule")
                        || n.startsWith("META-INF/maven/dev.hz3/hz3-jmc-plugin/");
                if (!ok) {
                    foreign.add(n);
                }
            }
            BundleMetadataTest.checkManifest(jar.getManifest());
        }
        assertTrue(foreign.isEmpty(), "not ours: " + foreign);
        for (String need : List.of("plugin.xml", "pages.xml", "META-INF/services/org.openjdk.jmc.flightrecorder.rules.IRule",
                "dev/hz3/jmc/rules/NativeHeapFragmentationRule.class", "dev/hz3/jmc/rules/messages.properties",
                "dev/hz3/jmc/report/report.js", "dev/hz3/jmc/report/report.css")) {
            assertTrue(names.contains(need), need + " missing from " + JAR);
        }
        assertTrue(names.stream().noneMatch(n -> n.startsWith("org/")), "no JMC classes inside");
    }

    @Test
    void libHoldsTheJmcCoreJars() throws IOException {
        Set<String> jars;
        try (Stream<Path> s = Files.list(LIB)) {
            jars = s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
        for (String prefix : List.of("common-", "flightrecorder-", "flightrecorder.rules-", "flightrecorder.rules.jdk-",
                "encoder-", "lz4-java-")) {
            assertTrue(jars.stream().anyMatch(j -> j.startsWith(prefix)), prefix + "*.jar missing in " + LIB + ": " + jars);
        }
        assertTrue(jars.stream().noneMatch(j -> j.startsWith("junit") || j.startsWith("hz3-")), jars.toString());
    }

    @Test
    void theManifestIsTheOneWeWrote() throws IOException {
        try (JarFile jar = new JarFile(JAR.toFile())) {
            assertNotNull(jar.getManifest());
            assertEquals("dev.hz3.jmc", jar.getManifest().getMainAttributes().getValue("Automatic-Module-Name"));
        }
        assertTrue(new File(JAR.toString()).length() < 512 * 1024, "a small bundle");
    }
}
