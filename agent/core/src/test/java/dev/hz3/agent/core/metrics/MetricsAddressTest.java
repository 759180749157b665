package dev.hz3.agent.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.hz3.agent.core.Options;
import java.util.List;
import org.junit.jupiter.api.Test;

class MetricsAddressTest {

    @Test
    void loopbackUnlessAHostIsGiven() {
        assertEquals(new MetricsAddress("127.0.0.1", 9464), MetricsAddress.parse("9464"));
        assertEquals(new MetricsAddress("0.0.0.0", 9464), MetricsAddress.parse("0.0.0.0:9464"));
        assertEquals(new MetricsAddress("localhost", 0), MetricsAddress.parse("localhost:0"));
        assertEquals(new MetricsAddress("::1", 9464), MetricsAddress.parse("[::1]:9464"));
        assertEquals("[::1]:9464", MetricsAddress.parse("[::1]:9464").toString());
    }

    @Test
    void badValuesAreOneLineAndTheOptionIsDropped() {
        Options o = Options.parse("metrics=99999,metrics=:9464,metrics=::1:9464,metrics=host:,metrics=x");
        String allowed = "expected [HOST:]PORT, e.g. 9464 or 0.0.0.0:9464 (a Prometheus endpoint; host"
                + " 127.0.0.1 unless given): ";
        assertEquals(List.of(
                "bad option 'metrics=99999': " + allowed + "port '99999' is not 0..65535",
                "bad option 'metrics=:9464': " + allowed + "no host before ':'",
                "bad option 'metrics=::1:9464': " + allowed + "an IPv6 host goes in brackets, e.g. [::1]:9464",
                "bad option 'metrics=host:': " + allowed + "no port",
                "bad option 'metrics=x': " + allowed + "port 'x' is not 0..65535"), o.errors());
        assertEquals(false, o.has(Options.Key.METRICS));
    }
}
