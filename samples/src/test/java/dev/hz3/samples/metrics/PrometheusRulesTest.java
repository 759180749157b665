package dev.hz3.samples.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import dev.hz3.samples.ChildProcess;
import org.junit.jupiter.api.Test;

/** The shipped rules (prometheus/): promtool checks them and runs their unit tests. */
class PrometheusRulesTest {

    static final Path DIR = ChildProcess.ROOT.resolve("prometheus");

    @Test
    void rulesPassPromtoolCheck() throws Exception {
        assertEquals(0, promtool("check", "rules", DIR.resolve("hz3-rules.yml").toString()));
    }

    /** hz3-rules.test.yml: growth, returnable memory and fragmentation alerts, and the fleet query. */
    @Test
    void rulesPassTheirUnitTests() throws Exception {
        assertEquals(0, promtool("test", "rules", DIR.resolve("hz3-rules.test.yml").toString()));
    }

    /**
     * The time-scaled copy PrometheusAlertTest runs: durations and per-second rates over k, the
     * rest as written; and the copy of the shipped file is a valid rules file too.
     */
    @Test
    void theTimeScaledCopyScalesDurationsAndRatesOnly() throws Exception {
        assertEquals("""
                expr: (deriv(x[10s]) / 60) > 16384 and (rate(y{a="b"}[60s:5s] offset 2s) / 60) < 2
                    and increase(z[90s]) > (irate(w[500ms]) / 60)
                for: 30s
                interval: 1s
                summary: grew for 30 minutes
                """, TimeScaledRules.scale("""
                expr: deriv(x[10m]) > 16384 and rate(y{a="b"}[1h:5m] offset 2m) < 2
                    and increase(z[1h30m]) > irate(w[30s])
                for: 30m
                interval: 1m
                summary: grew for 30 minutes
                """, 60));
        Path scaled = Files.writeString(Files.createTempFile(ChildProcess.TMP, "hz3-rules-scaled-", ".yml"),
                TimeScaledRules.scale(Files.readString(DIR.resolve("hz3-rules.yml")), 60));
        try {
            assertEquals(0, promtool("check", "rules", scaled.toString()));
        } finally {
            Files.delete(scaled);
        }
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
