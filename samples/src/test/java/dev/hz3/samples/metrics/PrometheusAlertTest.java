package dev.hz3.samples.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import dev.hz3.samples.ChildProcess;
import dev.hz3.samples.ChildTmpFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The shipped growth alert on a real server: Prometheus loads a time-scaled copy of
 * prometheus/hz3-rules.yml (each minute of it a second, see TimeScaledRules) and scrapes two JVMs
 * under hz3 through the agent's endpoint: NativeLeak, whose native memory grows without end, and
 * Steady, whose does not. Through the server's HTTP API: the alert fires for the leak, and never
 * fired for Steady, whose series the rule evaluated all along, for longer than the alert's window
 * and its for: together. Bounded: the JVMs end by themselves after
 * SECONDS, the server after its lifetime, and the test stops both when it is done.
 */
class PrometheusAlertTest {

    @AfterEach
    void removeChildTmpFiles() {
        ChildTmpFiles.remove();
    }

    static final String ALERT = "Hz3NativeMemoryGrowing";
    /** Every K seconds of the shipped rules become one: 10m windows 10 s, 30m for: 30 s. */
    static final int K = 60;
    static final int SECONDS = 110;
    /** NativeLeak's growth, MiB/s: 8 MiB/s, over K, is 140 KiB/s, well above the alert's 16 KiB/s. */
    static final int LEAK_MIB = 8;

    @Test
    void theGrowthAlertFiresForALeakAndStaysSilentForSteady() throws Exception {
        Path dir = ChildProcess.dir("metrics-tests", "alert");
        String shipped = Files.readString(Prometheus.RULES);
        Path rules = Files.writeString(Files.createDirectories(dir.resolve("prometheus"))
                .resolve("hz3-rules-scaled.yml"), TimeScaledRules.scale(shipped, K));
        Matcher forField = Pattern.compile("alert: " + ALERT + "\\n(?:.*\\n)*?\\s*for: (\\S+)").matcher(shipped);
        assertTrue(forField.find(), "no for: in " + ALERT + " in " + Prometheus.RULES);
        String scaledFor = TimeScaledRules.duration(forField.group(1), K);

        String classes = ChildProcess.sampleClasses().toString();
        Map<String, Integer> ports = new LinkedHashMap<>();
        ports.put("leak", Scrape.freePort());
        ports.put("steady", Scrape.freePort());
        String run = "--seconds " + SECONDS;
        // The leak's direct buffers outgrow the default limit (the heap's size) within the run.
        try (ChildProcess leak = Scrape.listening(ChildProcess.startWithAgent("leak", dir, true,
                        "metrics=" + ports.get("leak"), List.of("-XX:MaxDirectMemorySize=1g"), classes,
                        "dev.hz3.samples.NativeLeak", ("--size " + LEAK_MIB + " " + run).split(" ")),
                        ports.get("leak"));
                ChildProcess steady = Scrape.listening(ChildProcess.startWithAgent("steady", dir, true,
                        "metrics=" + ports.get("steady"), classes, "dev.hz3.samples.Steady",
                        ("--threads 1 --size 1 " + run).split(" ")), ports.get("steady"))) {
            Map<String, String> targets = new LinkedHashMap<>();
            ports.forEach((job, port) -> targets.put(job, "127.0.0.1:" + port));
            try (Prometheus prometheus = Prometheus.start(dir, targets, rules, "2s", "1s")) {
                String loaded = prometheus.get("/api/v1/rules?type=alert");
                assertTrue(loaded.contains("\"name\":\"" + ALERT + "\""), loaded);
                Matcher duration = Pattern.compile("\"name\":\"" + ALERT + "\",\"query\":\"[^\"]*\",\"duration\":(\\d+)")
                        .matcher(loaded);
                assertTrue(duration.find(), loaded);
                assertEquals(scaledFor, duration.group(1) + "s", "the server runs the scaled copy: " + loaded);

                prometheus.awaitQuery("ALERTS{alertname=\"" + ALERT + "\",alertstate=\"firing\"}",
                        r -> r.stream().anyMatch(s -> s[0].contains("\"job\":\"leak\"")), 90);
                List<String[]> alerts = alerts(prometheus.get("/api/v1/alerts"));
                assertTrue(alerts.stream().anyMatch(a -> a[0].equals("leak") && a[1].equals("firing")),
                        () -> "/api/v1/alerts has no firing " + ALERT + " for the leak\n" + text(alerts));
                assertTrue(alerts.stream().noneMatch(a -> a[0].equals("steady") && a[1].equals("firing")),
                        () -> "/api/v1/alerts has " + ALERT + " firing for Steady\n" + text(alerts));

                // Silent all along, not only now: no firing ALERTS sample for Steady since the
                // start, once the rule has seen Steady for the alert's window and for:. Pending
                // is not silence's opposite: for: is there so that a short rise (the JIT's
                // arenas, a burst of work) is not an alert, and Steady has those.
                double needed = Integer.parseInt(duration.group(1)) + window(shipped);
                String steadySeen = "time() - min_over_time(timestamp("
                        + "instance:hz3_live_bytes:deriv10m{job=\"steady\"})[5m:1s])";
                prometheus.awaitQuery(steadySeen, r -> r.size() == 1 && Double.parseDouble(r.get(0)[1]) >= needed, 60);
                String values = text(prometheus.query("max_over_time(instance:hz3_live_bytes:deriv10m[5m])"
                        + " or label_replace(min_over_time(instance:hz3_live_bytes:deriv10m[5m]), \"of\", \"min\","
                        + " \"\", \"\")"));
                String states = text(prometheus.query("count_over_time(ALERTS{alertname=\"" + ALERT + "\"}[5m])"));
                System.out.println("the rule's values (B/s after scaling), max and min of each job:\n" + values
                        + "\nevaluations with the alert pending or firing:\n" + states);
                List<String[]> steadyFiring = prometheus.query("count_over_time(ALERTS{alertname=\"" + ALERT
                        + "\",alertstate=\"firing\",job=\"steady\"}[5m])");
                assertEquals(List.of(), steadyFiring.stream().map(x -> x[0] + " = " + x[1]).toList(),
                        "Steady's growth alert fired; the rule's values:\n" + values);
            }
        }
    }

    /** The growth rule's window, in seconds after scaling: the range of its deriv. */
    private static double window(String shipped) {
        Matcher m = Pattern.compile("deriv\\(hz3_live_bytes\\[(\\w+)\\]\\)").matcher(shipped);
        assertTrue(m.find(), "no deriv(hz3_live_bytes[...]) in the shipped rules");
        String d = TimeScaledRules.duration(m.group(1), K);
        return d.endsWith("ms") ? Long.parseLong(d.replace("ms", "")) / 1000.0 : Long.parseLong(d.replace("s", ""));
    }

    private static final Pattern ALERT_JSON = Pattern.compile("\\{\"labels\":\\{([^}]*)\\},\"annotations\":"
            + "\\{(?:[^\"}]|\"(?:[^\"\\\\]|\\\\.)*\")*\\},\"state\":\"(\\w+)\"");

    /** /api/v1/alerts' alerts of ALERT: each one's job and state. */
    static List<String[]> alerts(String body) {
        assertTrue(body.contains("\"status\":\"success\""), body);
        List<String[]> out = new ArrayList<>();
        Matcher m = ALERT_JSON.matcher(body);
        while (m.find()) {
            if (m.group(1).contains("\"alertname\":\"" + ALERT + "\"")) {
                Matcher job = Pattern.compile("\"job\":\"([^\"]*)\"").matcher(m.group(1));
                out.add(new String[] {job.find() ? job.group(1) : "", m.group(2)});
            }
        }
        return out;
    }

    private static String text(List<String[]> rows) {
        return String.join("\n", rows.stream().map(r -> String.join(" ", r)).toList());
    }

}
