package dev.hz3.samples.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import dev.hz3.samples.ChildProcess;
import dev.hz3.samples.ChildTmpFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The agent's metrics endpoint (metrics=PORT) in real JVMs: what a scrape serves passes
 * promtool, its series do not grow with the classes a program touches, and its census figures
 * are those of the census the JVM recorded under the same sequence number.
 */
class MetricsEndpointTest {

    @AfterEach
    void removeChildTmpFiles() {
        ChildTmpFiles.remove();
    }

    static final int TOP = 3;
    /**
     * The most series a hz3 JVM serves: per tier (5) 5 page states, 5 occupancy buckets, live and
     * reclaim candidates (60); 3 per rank of the partial classes; 18 single hz3 series (allocator,
     * census seq and consistency, live, 3 kinds of free, returnable, census resident, unmap
     * candidates, large objects, 4 counters, segment, reserved and meta bytes); 11 of the process
     * (5 Rss parts, 2 JVM accounts, direct buffers, threads, cgroup usage and limit).
     */
    static final int MOST_SERIES = 5 * (5 + 5 + 1 + 1) + 3 * TOP + 18 + 11;

    @Test
    void seriesDoNotGrowWithTheWorkloadAndMatchTheRecordedCensus() throws Exception {
        Path dir = ChildProcess.dir("metrics-tests", "endpoint-hz3");
        int port = Scrape.freePort();
        Path jfr = dir.resolve("app.jfr");
        try (ChildProcess app = ChildProcess.startWithAgent("app", dir, true,
                "metrics=" + port + ",top=" + TOP + ",record=" + jfr, ChildProcess.testClasses().toString(),
                MetricsApp.class.getName())) {
            app.awaitOutput("metrics at http://127.0.0.1:" + port + "/metrics");
            app.awaitOutput("READY");
            app.send("classes " + (TOP + 1));
            app.awaitOutput("CLASSES " + (TOP + 1));
            Scrape few = censusAfter(port, -1);
            app.send("classes 40");
            app.awaitOutput("CLASSES " + (TOP + 41));
            Scrape many = censusAfter(port, (long) few.value("hz3_census_seq") + 1);

            assertEquals(few.series().keySet(), many.series().keySet(),
                    "the series of a scrape after 4 classes and after 44 differ");
            assertTrue(many.series().size() <= MOST_SERIES, many.series().size() + " series > "
                    + MOST_SERIES + "\n" + many.text());
            for (String key : many.series().keySet()) {
                Matcher rank = Pattern.compile("rank=\"(\\d+)\"").matcher(key);
                if (rank.find()) {
                    int r = Integer.parseInt(rank.group(1));
                    assertTrue(r >= 1 && r <= TOP, key);
                }
            }
            assertEquals("", promtoolCheckMetrics(many.text()));

            long seq = (long) many.value("hz3_census_seq");
            app.send("exit");
            assertEquals(0, app.waitFor(), app::toString);
            new Census(jfr).assertSameAs(seq, many::value, TOP, "app");
        }
    }

    /**
     * With native attribution on, the endpoint serves the top sites: the site that keeps 48 MiB
     * is rank 1 by name, its live bytes within 20% of what it keeps (sampled every 64 KiB: about
     * 768 samples, 4 standard deviations), and no rank beyond top=.
     */
    @Test
    void attributionServesTheTopSitesByRank() throws Exception {
        Path dir = ChildProcess.dir("metrics-tests", "endpoint-sites");
        int port = Scrape.freePort();
        try (ChildProcess app = ChildProcess.startWithAgent("app", dir, true,
                "metrics=" + port + ",top=" + TOP + ",attribution=on,sampleBytes=64k",
                ChildProcess.testClasses().toString(),
                MetricsApp.class.getName())) {
            app.awaitOutput("metrics at http://127.0.0.1:" + port + "/metrics");
            app.awaitOutput("native attribution on");
            app.awaitOutput("READY");
            app.send("keep 48");
            app.awaitOutput("KEPT " + (48L << 20));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            Scrape s;
            String first;
            do {
                s = Scrape.of(port);
                first = s.series().keySet().stream()
                        .filter(k -> k.startsWith("hz3_site_info{") && k.contains("rank=\"1\""))
                        .findFirst().orElse("");
                if (first.contains("MetricsApp.keepAtSite")) {
                    break;
                }
                Prometheus.pause();
            } while (System.nanoTime() < deadline);
            assertTrue(first.contains("MetricsApp.keepAtSite"), "rank 1 is not the keeping site: " + first
                    + "\n" + s.text());
            double live = s.value("hz3_site_live_bytes{rank=\"1\"}");
            double kept = 48L << 20;
            assertTrue(Math.abs(live - kept) <= 0.2 * kept, "rank 1 live " + live + " vs kept " + kept);
            for (String key : s.series().keySet()) {
                Matcher rank = Pattern.compile("rank=\"(\\d+)\"").matcher(key);
                if (key.startsWith("hz3_site") && rank.find()) {
                    assertTrue(Integer.parseInt(rank.group(1)) <= TOP, key);
                }
            }
            assertEquals("", promtoolCheckMetrics(s.text()));
            app.send("exit");
            assertEquals(0, app.waitFor(), app::toString);
        }
    }

    @Test
    void glibcServesTheSameNamesWhereTheyMeanTheSame() throws Exception {
        Path dir = ChildProcess.dir("metrics-tests", "endpoint-glibc");
        int port = Scrape.freePort();
        try (ChildProcess app = ChildProcess.startWithAgent("app", dir, false, "metrics=127.0.0.1:" + port,
                ChildProcess.testClasses().toString(), MetricsApp.class.getName())) {
            app.awaitOutput("metrics at http://127.0.0.1:" + port + "/metrics");
            app.awaitOutput("READY");
            Scrape s = Scrape.of(port);
            assertTrue(s.series().keySet().stream().anyMatch(k -> k.startsWith("hz3_allocator_info{")
                    && k.contains("malloc=\"glibc\"")), s.text());
            assertTrue(s.value("hz3_live_bytes") > 0, s.text());
            for (String kind : List.of("bins", "fastbins", "top")) {
                assertTrue(s.value("hz3_free_bytes{kind=\"" + kind + "\"}") >= 0, s.text());
            }
            assertFalse(s.series().containsKey("hz3_census_seq"), s.text());
            assertEquals("", promtoolCheckMetrics(s.text()));
            app.send("exit");
            assertEquals(0, app.waitFor(), app::toString);
        }
    }

    @Test
    void aPortInUseIsOneLineAndTheJvmGoesOn() throws Exception {
        Path dir = ChildProcess.dir("metrics-tests", "endpoint-port-taken");
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
                ChildProcess app = ChildProcess.startWithAgent("app", dir, true,
                        "metrics=" + taken.getLocalPort(), ChildProcess.testClasses().toString(),
                        MetricsApp.class.getName())) {
            app.awaitOutput("READY");
            app.send("classes 1");
            app.awaitOutput("CLASSES 1");
            app.send("exit");
            assertEquals(0, app.waitFor(), app::toString);
            List<String> lines = app.err().lines().filter(l -> l.contains("metrics=")).toList();
            assertEquals(List.of("hz3-agent: bad option 'metrics=" + taken.getLocalPort()
                    + "': cannot listen on 127.0.0.1:" + taken.getLocalPort()
                    + ": BindException: Address already in use; no metrics endpoint"), lines, app::toString);
        }
    }

    /** attach PID metrics=PORT starts the endpoint in a running JVM; attach PID stop closes it. */
    @Test
    void attachStartsAndStopsTheEndpoint() throws Exception {
        Path dir = ChildProcess.dir("metrics-tests", "endpoint-attach");
        int port = Scrape.freePort();
        try (ChildProcess app = ChildProcess.startWithAgent("app", dir, true, "log=info",
                ChildProcess.testClasses().toString(), MetricsApp.class.getName())) {
            app.awaitOutput("READY");
            assertEquals(0, attach(dir, "attach-start", app, "metrics=" + port, "top=" + TOP));
            app.send("classes " + (TOP + 1));
            app.awaitOutput("CLASSES " + (TOP + 1));
            Scrape s = censusAfter(port, -1);
            assertTrue(s.value("hz3_live_bytes") > 0, s.text());
            assertEquals(0, attach(dir, "attach-stop", app, "stop"));
            assertThrows(java.net.ConnectException.class, () -> Scrape.of(port));
            app.send("exit");
            assertEquals(0, app.waitFor(), app::toString);
        }
    }

    private static int attach(Path dir, String name, ChildProcess app, String... options) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(ChildProcess.java(Path.of(System.getProperty(
                "java.home"))), "-jar", ChildProcess.AGENT_JAR.toString(), "attach", Long.toString(app.pid())));
        cmd.addAll(List.of(options));
        return ChildProcess.run(name, dir, cmd, java.util.Map.of()).exit();
    }

    /**
     * Scrapes until the census served has at least seq (-1: any) and all TOP ranks; that scrape.
     * The listener delivers a census a second (period=1s): polled with a deadline.
     */
    static Scrape censusAfter(int port, long seq) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Scrape s;
        do {
            s = Scrape.of(port);
            double got = s.value("hz3_census_seq");
            if (!Double.isNaN(got) && got >= seq
                    && s.series().containsKey("hz3_partial_class_bytes{rank=\"" + TOP + "\"}")) {
                return s;
            }
            Prometheus.pause();
        } while (System.nanoTime() < deadline);
        fail("no census with seq >= " + seq + " and " + TOP + " ranks in 60 s:\n" + s.text());
        return s;
    }

    /** promtool check metrics on text: what it says ("" when the text passes). */
    static String promtoolCheckMetrics(String text) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(Prometheus.promtool(), "check", "metrics")
                .redirectErrorStream(true).start();
        p.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "promtool check metrics did not end");
        return p.exitValue() == 0 ? said.trim() : "exit " + p.exitValue() + ": " + said;
    }
}
