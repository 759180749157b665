package dev.hz3.samples.metrics;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import dev.hz3.samples.ChildProcess;

/**
 * A real Prometheus server (Debian's package, installed by bin/setup --test) on 127.0.0.1 and a
 * free port, with a generated configuration that scrapes the given targets every 10 s unless
 * told otherwise (a scrape reads /proc/self/smaps: on a very busy machine that takes seconds) and
 * loads the shipped rules, or the ones given. Its storage is a directory under the tests'
 * temporary directory, removed on close, with the server stopped.
 */
final class Prometheus implements AutoCloseable {

    static final Path RULES = ChildProcess.ROOT.resolve("prometheus/hz3-rules.yml");

    final int port;
    private final ChildProcess server;
    private final Path storage;

    private Prometheus(int port, ChildProcess server, Path storage) {
        this.port = port;
        this.server = server;
        this.storage = storage;
    }

    static String promtool() {
        return binary("promtool");
    }

    /** /usr/bin/NAME (Debian's prometheus package); the test fails, saying how to install it, without it. */
    static String binary(String name) {
        Path p = Path.of("/usr/bin", name);
        if (!Files.isExecutable(p)) {
            fail(p + " is missing: bin/setup --test installs it (apt-get install prometheus)");
        }
        return p.toString();
    }

    /** The server ends by itself after this, should the test not stop it (its JVM killed). */
    static final int LIFETIME_SECONDS = 600;

    /** Starts the server scraping jobs (job name to host:port) and waits until it is ready. */
    static Prometheus start(Path testDir, Map<String, String> jobs) throws IOException, InterruptedException {
        return start(testDir, jobs, RULES, "10s", "10s");
    }

    /** The same with rules and the intervals given (scrape timeout: the scrape interval). */
    static Prometheus start(Path testDir, Map<String, String> jobs, Path rules, String scrapeInterval,
            String evaluationInterval) throws IOException, InterruptedException {
        int port = Scrape.freePort();
        Path storage = Files.createTempDirectory(ChildProcess.TMP, "prometheus-");
        StringBuilder config = new StringBuilder("""
                global:
                  scrape_interval: %s
                  scrape_timeout: %s
                  evaluation_interval: %s
                rule_files:
                  - %s
                scrape_configs:
                """.formatted(scrapeInterval, scrapeInterval, evaluationInterval, rules));
        jobs.forEach((job, target) -> config.append("""
                  - job_name: %s
                    static_configs:
                      - targets: ['%s']
                """.formatted(job, target)));
        Path yml = Files.writeString(Files.createDirectories(testDir.resolve("prometheus"))
                .resolve("prometheus.yml"), config);
        // timeout passes the SIGTERM of close() on to the server.
        ChildProcess server = ChildProcess.start("prometheus", testDir, List.of("timeout", LIFETIME_SECONDS + "s",
                binary("prometheus"),
                "--config.file=" + yml, "--storage.tsdb.path=" + storage,
                "--web.listen-address=127.0.0.1:" + port, "--web.console.templates=" + storage,
                "--web.console.libraries=" + storage), Map.of());
        Prometheus p = new Prometheus(port, server, storage);
        p.awaitReady();
        return p;
    }

    private void awaitReady() throws InterruptedException, IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!server.alive()) {
                fail("prometheus ended\n" + server);
            }
            try {
                Scrape.get("http://127.0.0.1:" + port + "/-/ready");
                return;
            } catch (IOException notYet) {
                pause();
            }
        }
        fail("prometheus not ready in 60 s\n" + server);
    }

    /** An instant query's result: each series' labels (as "a":"b",... JSON text) and value. */
    List<String[]> query(String promql) throws IOException, InterruptedException {
        return query(promql, "");
    }

    /** The same at a time (params: "&time=SECONDS"). */
    List<String[]> query(String promql, String params) throws IOException, InterruptedException {
        String body = Scrape.get("http://127.0.0.1:" + port + "/api/v1/query?query="
                + URLEncoder.encode(promql, StandardCharsets.UTF_8) + params);
        assertTrue(body.contains("\"status\":\"success\""), body);
        List<String[]> out = new ArrayList<>();
        Matcher m = Pattern.compile("\\{\"metric\":\\{([^}]*)\\},\"value\":\\[[0-9.]+,\"([^\"]+)\"\\]\\}")
                .matcher(body);
        while (m.find()) {
            out.add(new String[] {m.group(1), m.group(2)});
        }
        return out;
    }

    /** Queries until the result passes test (deadline: seconds); that result. */
    List<String[]> awaitQuery(String promql, Predicate<List<String[]>> test, int seconds)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        List<String[]> r;
        do {
            r = query(promql);
            if (test.test(r)) {
                return r;
            }
            pause();
        } while (System.nanoTime() < deadline);
        StringBuilder b = new StringBuilder();
        r.forEach(x -> b.append(x[0]).append(" = ").append(x[1]).append('\n'));
        String targets;
        try {
            targets = Scrape.get("http://127.0.0.1:" + port + "/api/v1/targets");
        } catch (IOException e) {
            targets = e.toString();
        }
        fail("'" + promql + "' did not get there in " + seconds + " s; last result:\n" + b + "targets: "
                + targets + "\n" + server);
        return r;
    }

    /** The body of GET path (e.g. /api/v1/alerts) from the server's HTTP API. */
    String get(String path) throws IOException, InterruptedException {
        return Scrape.get("http://127.0.0.1:" + port + path);
    }

    /** Between two polls of a condition (each poll has a deadline). */
    static void pause() {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
    }

    @Override
    public void close() throws IOException, InterruptedException {
        try {
            server.terminate();
        } finally {
            try (var s = Files.walk(storage)) {
                s.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
            }
        }
    }
}
