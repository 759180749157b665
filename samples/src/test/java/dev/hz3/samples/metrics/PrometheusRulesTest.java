package dev.hz3.samples.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The shipped rules (prometheus/): promtool checks them and runs their unit tests. */
class PrometheusRulesTest {

    static final Path DIR = ChildJvm.ROOT.resolve("prometheus");

    @Test
    void rulesPassPromtoolCheck() throws Exception {
        assertEquals(0, promtool("check", "rules", DIR.resolve("hz3-rules.yml").toString()));
    }

    /** hz3-rules.test.yml: growth, returnable memory and fragmentation alerts, and the fleet query. */
    @Test
    void rulesPassTheirUnitTests() throws Exception {
        assertEquals(0, promtool("test", "rules", DIR.resolve("hz3-rules.test.yml").toString()));
    }

    private static int promtool(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(Prometheus.promtool()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(DIR.toFile()).redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        System.out.println(String.join(" ", cmd) + ":\n" + said);
        return p.exitValue() == 0 ? 0 : fail(said);
    }

    private static int fail(String said) {
        return org.junit.jupiter.api.Assertions.fail(said);
    }
}
