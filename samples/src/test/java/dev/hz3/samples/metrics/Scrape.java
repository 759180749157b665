package dev.hz3.samples.metrics;

import dev.hz3.samples.ChildProcess;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** One scrape of an endpoint in the Prometheus text format: each series (name{labels}) and its value. */
record Scrape(String text, Map<String, Double> series) {

    private static final HttpClient HTTP = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5)).build();

    static String get(String url) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException(url + ": HTTP " + r.statusCode() + "\n" + r.body());
        }
        return r.body();
    }

    /** A port free on the loopback now (the agent or server about to listen on it takes it). */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** j, once its agent's endpoint listens at port; killed if it never does. */
    static ChildProcess listening(ChildProcess j, int port) throws InterruptedException {
        try {
            j.awaitOutput("metrics at http://127.0.0.1:" + port + "/metrics");
            return j;
        } catch (Throwable t) {
            j.close();
            throw t;
        }
    }

    static Scrape of(int port) throws IOException, InterruptedException {
        String text = get("http://127.0.0.1:" + port + "/metrics");
        Map<String, Double> series = new LinkedHashMap<>();
        for (String line : text.lines().toList()) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            series.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
        }
        return new Scrape(text, series);
    }

    /** The value of one series, e.g. value("hz3_live_bytes") or value("x{a=\"b\"}"); NaN when absent. */
    double value(String key) {
        return series.getOrDefault(key, Double.NaN);
    }

    long bytes(String key) {
        return (long) value(key);
    }
}
