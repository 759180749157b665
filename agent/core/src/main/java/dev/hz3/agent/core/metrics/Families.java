package dev.hz3.agent.core.metrics;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.ArrayList;
import java.util.List;

/**
 * The metric families of one scrape, built from plain numbers. A name's unit follows from its
 * suffix ({@code _bytes}, {@code _ratio}, {@code _seconds}), as Prometheus names it; a family
 * with no sample this scrape is left out.
 */
final class Families {

    /** One gauge family; its samples are added with their label pairs. */
    final class Gauge {
        private final GaugeSnapshot.Builder builder;
        private boolean any;

        private Gauge(String name, String help) {
            builder = GaugeSnapshot.builder().name(name).help(help);
            Unit u = unitOf(name);
            if (u != null) {
                builder.unit(u);
            }
        }

        /** Adds one sample; labels are name, value, name, value... */
        Gauge set(double value, String... labels) {
            if (!any) {
                any = true;
                snapshots.add(() -> builder.build());
            }
            builder.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(value)
                    .labels(Labels.of(labels)).build());
            return this;
        }
    }

    private interface Deferred {
        MetricSnapshot build();
    }

    private final List<Deferred> snapshots = new ArrayList<>();

    Gauge gauge(String name, String help) {
        return new Gauge(name, help);
    }

    /** A counter: name without {@code _total} (the text formats add it). */
    void counter(String name, String help, double value) {
        CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
        Unit u = unitOf(name);
        if (u != null) {
            b.unit(u);
        }
        b.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(value).build());
        CounterSnapshot s = b.build();
        snapshots.add(() -> s);
    }

    /** One info family (name without {@code _info}): samples of value 1, told apart by their labels. */
    final class Info {
        private final InfoSnapshot.Builder builder;
        private boolean any;

        private Info(String name, String help) {
            builder = InfoSnapshot.builder().name(name).help(help);
        }

        /** Adds one sample; labels are name, value, name, value... */
        Info add(String... labels) {
            if (!any) {
                any = true;
                snapshots.add(() -> builder.build());
            }
            builder.dataPoint(InfoSnapshot.InfoDataPointSnapshot.builder().labels(Labels.of(labels)).build());
            return this;
        }
    }

    Info info(String name, String help) {
        return new Info(name, help);
    }

    MetricSnapshots build() {
        List<MetricSnapshot> out = new ArrayList<>(snapshots.size());
        for (Deferred d : snapshots) {
            out.add(d.build());
        }
        return new MetricSnapshots(out);
    }

    private static Unit unitOf(String name) {
        if (name.endsWith("_bytes")) {
            return Unit.BYTES;
        }
        if (name.endsWith("_ratio")) {
            return Unit.RATIO;
        }
        if (name.endsWith("_seconds")) {
            return Unit.SECONDS;
        }
        return null;
    }
}
