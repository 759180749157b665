package dev.hz3.jmc.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.MessageFormat;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.openjdk.jmc.common.util.TypedPreference;
import org.openjdk.jmc.flightrecorder.rules.IRule;
import org.openjdk.jmc.flightrecorder.rules.RuleRegistry;

import dev.hz3.jmc.Hz3Attributes;

/** The rules are registered for ServiceLoader (and so RuleRegistry), and are well formed. */
class RuleRegistrationTest {

    static final String SERVICES = "META-INF/services/org.openjdk.jmc.flightrecorder.rules.IRule";

    @Test
    void ruleRegistryFindsEveryHz3Rule() {
        Set<String> registered = RuleRegistry.getRules().stream().map(IRule::getId).collect(Collectors.toSet());
        for (IRule r : Hz3Rules.all()) {
            assertTrue(registered.contains(r.getId()), r.getId() + " not found by RuleRegistry");
        }
    }

    @Test
    void servicesFileListsExactlyTheRules() throws IOException {
        List<String> listed;
        try (InputStream in = Hz3Rules.class.getClassLoader().getResourceAsStream(SERVICES)) {
            assertNotNull(in);
            listed = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().map(String::trim)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        }
        assertEquals(Hz3Rules.all().stream().map(r -> r.getClass().getName()).toList(), listed);
    }

    @Test
    void rulesAreWellFormed() {
        Set<String> ids = new HashSet<>();
        Set<String> prefIds = new HashSet<>();
        for (IRule r : Hz3Rules.all()) {
            assertTrue(ids.add(r.getId()), "duplicate id " + r.getId());
            assertTrue(r.getId().startsWith("Hz3"), r.getId());
            assertFalse(r.getName().isBlank());
            assertFalse(r.getName().contains("!"), r.getName());
            assertTrue(r.getTopic().startsWith("hz3."), r.getTopic());
            assertFalse(r.getConfigurationAttributes().isEmpty(), r.getId() + " has no preferences");
            for (TypedPreference<?> p : r.getConfigurationAttributes()) {
                assertTrue(prefIds.add(p.getIdentifier()), "duplicate preference " + p.getIdentifier());
                assertNotNull(p.getDefaultValue());
                assertFalse(p.getName().contains("!") || p.getDescription().contains("!"), p.getName());
                // JMC stores preferences as text: the default must survive that.
                @SuppressWarnings("unchecked")
                TypedPreference<Object> po = (TypedPreference<Object>) p;
                try {
                    String persisted = po.getPersister().persistableString(po.getDefaultValue());
                    assertEquals(po.getDefaultValue(), po.getPersister().parsePersisted(persisted));
                } catch (Exception e) {
                    throw new AssertionError(p.getIdentifier(), e);
                }
            }
            assertTrue(r.getRequiredEvents().keySet().stream().allMatch(Hz3Attributes.FIELDS::containsKey),
                    r.getRequiredEvents().toString());
        }
    }

    /** Every key the rules use exists, and every text is a valid MessageFormat pattern. */
    @Test
    void everyMessageKeyExists() throws IOException {
        Properties p = new Properties();
        try (InputStream in = Hz3Rules.class.getResourceAsStream("messages.properties")) {
            p.load(in);
        }
        for (String key : p.stringPropertyNames()) {
            new MessageFormat(p.getProperty(key)); // throws on a broken pattern
        }
        Pattern use = Pattern.compile("Messages\\.(?:get|format)\\(\"([A-Za-z_]+)\"");
        Pattern pref = Pattern.compile("Preference\\(\\s*\"[^\"]+\",\\s*\"([A-Za-z_]+)\"");
        Set<String> missing = new HashSet<>();
        try (Stream<Path> files = Files.list(Path.of("src/main/java/dev/hz3/jmc/rules"))) {
            for (Path f : files.toList()) {
                String src = Files.readString(f);
                for (Pattern pat : List.of(use, pref)) {
                    Matcher m = pat.matcher(src);
                    while (m.find()) {
                        String key = m.group(1);
                        if (!p.containsKey(key)) {
                            missing.add(f.getFileName() + ": " + key);
                        }
                        if (pat == pref && !p.containsKey(key + "_DESC")) {
                            missing.add(f.getFileName() + ": " + key + "_DESC");
                        }
                    }
                }
            }
        }
        assertTrue(missing.isEmpty(), "missing in messages.properties: " + missing);
    }
}
