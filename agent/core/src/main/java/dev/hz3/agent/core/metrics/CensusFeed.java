package dev.hz3.agent.core.metrics;

import dev.hz3.agent.core.nat.Hz3Structs;

/**
 * The latest hz3 census the agent received, for the metrics endpoint to read at each scrape.
 * The agent's listener (hz3's maintenance thread, at most one census per {@code period})
 * publishes every census it reads here, the same object it turns into JFR events; a scrape
 * reads one census whole, so all the census series of one scrape come from one census (their
 * {@code hz3_census_seq} names it). No scrape runs a census of its own while these arrive.
 *
 * <p>This class loads no Prometheus class: the agent touches it whether metrics are on or not.
 */
public final class CensusFeed {

    private static volatile boolean wanted;
    private static volatile Received latest;

    /** A census and when it arrived (System.nanoTime). */
    record Received(Hz3Structs.Snapshot snapshot, long nanoTime) {
    }

    private CensusFeed() {
    }

    /** Whether the endpoint is on: the listener reads each census even when JFR wants none. */
    public static boolean wanted() {
        return wanted;
    }

    static void want(boolean on) {
        wanted = on;
        if (!on) {
            latest = null;
        }
    }

    /** Called with every census the agent reads (the listener's, and those it takes itself). */
    public static void publish(Hz3Structs.Snapshot s) {
        if (wanted && s != null) {
            latest = new Received(s, System.nanoTime());
        }
    }

    static Received latest() {
        return latest;
    }
}
