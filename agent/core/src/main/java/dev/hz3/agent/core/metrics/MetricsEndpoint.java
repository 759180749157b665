package dev.hz3.agent.core.metrics;

import dev.hz3.agent.core.Log;
import dev.hz3.agent.core.nat.Malloc;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.exporter.httpserver.HttpErrorHandlingPolicy;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The agent's Prometheus endpoint (option {@code metrics=[HOST:]PORT}): an HTTP server from the
 * Prometheus Java client, serving {@code /metrics} in the Prometheus and OpenMetrics text formats
 * from a registry of its own that holds only {@link AgentCollector}. It lives in the agent's
 * class loader, as JNA does: the application's own Prometheus client, if any, is another copy
 * and never meets this one.
 *
 * <p>One daemon thread ("hz3-metrics") answers the scrapes. A port in use or a host that does
 * not resolve is one line, and the JVM goes on without the endpoint.
 */
public final class MetricsEndpoint {

    private static HTTPServer server;
    private static ExecutorService executor;
    private static MetricsAddress address;
    private static AgentCollector collector;

    private MetricsEndpoint() {
    }

    /**
     * Serves the metrics at value ([HOST:]PORT), or goes on serving them there; a new address
     * moves the endpoint. top and periodMs are the agent's top= and period= in effect.
     */
    public static synchronized void start(String value, Malloc malloc, int top, long periodMs) {
        MetricsAddress a;
        try {
            a = MetricsAddress.parse(value);
        } catch (IllegalArgumentException e) {
            Log.error("bad option " + Log.quote("metrics=" + value) + ": " + e.getMessage());
            return;
        }
        if (server != null && a.equals(address)) {
            collector.settings(top, periodMs);
            return;
        }
        stop();
        AgentCollector c = new AgentCollector(malloc, top, periodMs);
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(c);
        ExecutorService ex = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "hz3-metrics");
            t.setDaemon(true);
            return t;
        });
        CensusFeed.want(true);
        try {
            // A failed scrape (the scraper hung up, say) is the scraper's business, not the
            // application's: a debug line, instead of the client's stack trace on stderr.
            server = HTTPServer.builder().hostname(a.host()).port(a.port()).registry(registry)
                    .executorService(ex).errorHandlingPolicy(HttpErrorHandlingPolicy.builder()
                            .errorReporter(e -> Log.debug("metrics: a scrape failed: " + Log.describe(e)))
                            .build())
                    .buildAndStart();
        } catch (IOException | RuntimeException e) {
            CensusFeed.want(false);
            ex.shutdownNow();
            Log.error("bad option " + Log.quote("metrics=" + value) + ": cannot listen on " + a
                    + ": " + Log.describe(e) + "; no metrics endpoint");
            return;
        }
        executor = ex;
        collector = c;
        address = new MetricsAddress(a.host(), server.getPort());
        Log.info("metrics at http://" + address + "/metrics (Prometheus and OpenMetrics text)");
    }

    /** Stops the endpoint, if it runs; its port is free again when this returns. */
    public static synchronized void stop() {
        if (server == null) {
            return;
        }
        server.stop();
        executor.shutdownNow();
        CensusFeed.want(false);
        Log.info("metrics endpoint at " + address + " stopped");
        server = null;
        executor = null;
        collector = null;
        address = null;
    }

    /** Whether the endpoint runs. */
    public static synchronized boolean running() {
        return server != null;
    }
}
