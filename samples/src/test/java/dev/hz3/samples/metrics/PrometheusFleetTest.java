package dev.hz3.samples.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import dev.hz3.samples.ChildProcess;
import dev.hz3.samples.ChildTmpFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A real Prometheus server scrapes three JVMs through the agent's endpoint, as a fleet would:
 * Fragment under hz3 (survivors pin most of its pages), Steady under hz3 and Steady under glibc.
 * The series arrive with the values of each hz3 JVM's own census (the one its recording holds
 * under the same sequence number), and the fleet query of the README ranks Fragment first.
 * Bounded: the JVMs end by themselves after SECONDS, the server is stopped at the end.
 */
class PrometheusFleetTest {

    @AfterEach
    void removeChildTmpFiles() {
        ChildTmpFiles.remove();
    }

    static final int SECONDS = 120;
    static final int TOP = 3;
    static final String CENSUS_SERIES = "hz3_tier_pages_bytes|hz3_tier_occupancy_bytes|hz3_tier_live_bytes"
            + "|hz3_partial_class_bytes|hz3_partial_class_object_size_bytes|hz3_census_seq";

    @Test
    void seriesArriveWithTheCensusValuesAndTheFleetQueryRanksTheFragmentedJvmFirst() throws Exception {
        Path dir = ChildProcess.dir("metrics-tests", "fleet");
        String classes = ChildProcess.sampleClasses().toString();
        Map<String, Integer> ports = new LinkedHashMap<>();
        for (String job : List.of("fragment", "steady", "glibc")) {
            ports.put(job, Scrape.freePort());
        }
        String run = "--seconds " + SECONDS;
        // One after the other, each up before the next starts: a busy machine starts three JVMs
        // at once slowly.
        try (ChildProcess fragment = Scrape.listening(ChildProcess.startWithAgent("fragment", dir, true,
                        agent(ports.get("fragment"), dir, "fragment"), classes, "dev.hz3.samples.Fragment",
                        ("--threads 2 --size 96 " + run).split(" ")), ports.get("fragment"));
                ChildProcess steady = Scrape.listening(ChildProcess.startWithAgent("steady", dir, true,
                        agent(ports.get("steady"), dir, "steady"), classes, "dev.hz3.samples.Steady",
                        ("--threads 1 --size 16 " + run).split(" ")), ports.get("steady"));
                ChildProcess glibc = Scrape.listening(ChildProcess.startWithAgent("glibc", dir, false,
                        "metrics=" + ports.get("glibc"), classes, "dev.hz3.samples.Steady",
                        ("--threads 1 --size 16 " + run).split(" ")), ports.get("glibc"))) {
            Map<String, String> targets = new LinkedHashMap<>();
            ports.forEach((job, port) -> targets.put(job, "127.0.0.1:" + port));
            Map<Long, Map<String, Double>> fragmentCensus;
            Map<Long, Map<String, Double>> steadyCensus;
            try (Prometheus prometheus = Prometheus.start(dir, targets)) {
                prometheus.awaitQuery("count by (job) (hz3_live_bytes)", r -> r.size() == 3, 90);
                // The README's fleet query, raw and through the shipped recording rule.
                for (String q : List.of("sum by (job) (hz3_free_bytes)", "instance:hz3_free_bytes:sum")) {
                    prometheus.awaitQuery(q, r -> r.size() == 3 && first(r).contains("\"job\":\"fragment\""), 90);
                }
                fragmentCensus = censusAsStored(prometheus, "fragment");
                steadyCensus = censusAsStored(prometheus, "steady");
            }
            for (ChildProcess j : List.of(fragment, steady, glibc)) {
                assertEquals(0, j.waitFor(), j::toString);
            }
            for (var e : Map.of("fragment", fragmentCensus, "steady", steadyCensus).entrySet()) {
                Census recorded = new Census(dir.resolve(e.getKey() + ".jfr"));
                long seq = e.getValue().keySet().iterator().next();
                Map<String, Double> stored = e.getValue().get(seq);
                recorded.assertSameAs(seq, k -> stored.getOrDefault(k, Double.NaN), TOP, e.getKey());
            }
        }
    }


    private static String agent(int port, Path dir, String name) {
        return "metrics=" + port + ",top=" + TOP + ",record=" + dir.resolve(name + ".jfr");
    }

    /** The series of the largest value. */
    private static String first(List<String[]> r) {
        String best = "";
        double max = Double.NEGATIVE_INFINITY;
        for (String[] s : r) {
            if (Double.parseDouble(s[1]) > max) {
                max = Double.parseDouble(s[1]);
                best = s[0];
            }
        }
        return best;
    }

    /**
     * The census series of one job as the server stored them, all from one scrape (queried at
     * the newest scrape's timestamp, once every series has the same timestamp): the census seq
     * and each series, keyed as the endpoint writes it.
     */
    private static Map<Long, Map<String, Double>> censusAsStored(Prometheus p, String job) throws Exception {
        String selector = "{job=\"" + job + "\",__name__=~\"" + CENSUS_SERIES + "\"}";
        // timestamp() drops the metric name: keep it in a label, so that series stay apart.
        String stamped = "timestamp(label_replace(" + selector
                + ", \"name\", \"$1\", \"__name__\", \"(.+)\"))";
        String stamps = "count(count_values(\"t\", " + stamped + "))";
        // Every series first (a failure then says which wait it was), then one timestamp for all.
        p.awaitQuery("count(" + selector + ")", r -> r.size() == 1
                && Integer.parseInt(r.get(0)[1]) >= 5 * 11 + 2 * TOP + 1, 90);
        p.awaitQuery(stamps,
                r -> r.size() == 1 && r.get(0)[1].equals("1"), 90);
        // One scrape: evaluate at the newest scrape's own timestamp, which the server has stored
        // (a clock-based time a little in the past can fall before the first scrape), for the
        // values and for the check that they share a timestamp.
        List<String[]> newest = p.query("max(" + stamped + ")");
        assertEquals(1, newest.size(), job + ": no census series stored");
        String at = "&time=" + newest.get(0)[1];
        Map<String, Double> values = new HashMap<>();
        long seq = -1;
        for (String[] s : p.query(selector + "", at)) {
            String key = key(s[0]);
            values.put(key, Double.parseDouble(s[1]));
            if (key.equals("hz3_census_seq")) {
                seq = (long) Double.parseDouble(s[1]);
            }
        }
        assertEquals("1", p.query(stamps, at).get(0)[1],
                job + ": the census series of one instant are from several scrapes");
        assertTrue(seq >= 0, job + ": no hz3_census_seq in " + values);
        return Map.of(seq, values);
    }

    private static final Pattern LABEL = Pattern.compile("\"([^\"]+)\":\"([^\"]*)\"");

    /** {"__name__":"x","a":"b","instance":..,"job":..} as the endpoint writes it: x{a="b"}. */
    static String key(String labels) {
        Matcher m = LABEL.matcher(labels);
        String name = "";
        TreeMap<String, String> rest = new TreeMap<>();
        while (m.find()) {
            switch (m.group(1)) {
                case "__name__" -> name = m.group(2);
                case "instance", "job" -> {
                }
                default -> rest.put(m.group(1), m.group(2));
            }
        }
        if (rest.isEmpty()) {
            return name;
        }
        StringBuilder b = new StringBuilder(name).append('{');
        rest.forEach((k, v) -> b.append(b.charAt(b.length() - 1) == '{' ? "" : ",")
                .append(k).append("=\"").append(v).append('"'));
        return b.append('}').toString();
    }
}
