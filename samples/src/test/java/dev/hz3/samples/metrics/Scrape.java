package dev.hz3.samples.metrics;

import java.io.IOException;
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
