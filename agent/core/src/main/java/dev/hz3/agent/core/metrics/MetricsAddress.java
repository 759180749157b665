package dev.hz3.agent.core.metrics;

/**
 * Where the metrics endpoint listens: the value of {@code metrics=[HOST:]PORT}. The host is
 * 127.0.0.1 unless one is given, so nothing beyond this machine reaches the endpoint unless
 * asked; an IPv6 host is written in brackets ({@code [::1]:9464}). Port 0 takes any free port
 * (the agent's start line names it).
 */
public record MetricsAddress(String host, int port) {

    public static final String LOOPBACK = "127.0.0.1";

    /** Null when text is a valid [HOST:]PORT, else what is wrong with it. */
    public static String problem(String text) {
        try {
            parse(text);
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    /** The address text names; IllegalArgumentException saying what is wrong. */
    public static MetricsAddress parse(String text) {
        String t = text.trim();
        int colon = t.lastIndexOf(':');
        String host = colon < 0 ? LOOPBACK : t.substring(0, colon);
        String port = colon < 0 ? t : t.substring(colon + 1);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException("an IPv6 host goes in brackets, e.g. [::1]:9464");
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("no host before ':'");
        }
        if (port.isEmpty()) {
            throw new IllegalArgumentException("no port");
        }
        if (!port.matches("\\d{1,5}") || Integer.parseInt(port) > 65535) {
            throw new IllegalArgumentException("port '" + port + "' is not 0..65535");
        }
        return new MetricsAddress(host, Integer.parseInt(port));
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
