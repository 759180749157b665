package dev.hz3.jmc.report;

import static dev.hz3.jmc.report.Format.millis;
import static dev.hz3.jmc.report.ProcessSection.processValue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToLongFunction;

import org.openjdk.jmc.flightrecorder.rules.IResult;

import dev.hz3.jmc.Hz3Attributes;
import dev.hz3.jmc.Hz3Attributes.GlibcHeap;
import dev.hz3.jmc.Hz3Attributes.ProcessMemory;
import dev.hz3.jmc.Hz3Attributes.TierOccupancy;
import dev.hz3.jmc.census.Census;
import dev.hz3.jmc.census.ClassCensus;
import dev.hz3.jmc.census.GlibcSample;
import dev.hz3.jmc.census.ProcessMemorySample;
import dev.hz3.jmc.census.TierCensus;

/**
 * The data the report's script charts, as the JSON of {@code <script id="hz3-report-data">}: times
 * in ms since 1970, values in bytes or pages, one array per series (report.js reads these names).
 */
final class ReportData {

    private ReportData() {
    }

    static Map<String, Object> of(ReportModel m) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("version", 2);
        d.put("glibcMode", m.onGlibc());
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("file", m.fileName());
        rec.put("startMs", m.startMillis());
        rec.put("endMs", m.endMillis());
        d.put("recording", rec);
        d.put("buckets", Hz3Attributes.OCC_BUCKETS);
        d.put("bucketLabels", Hz3Attributes.OCC_BUCKET_LABELS);
        m.tableCensus().ifPresent(c -> {
            Map<String, Object> cm = new LinkedHashMap<>();
            cm.put("seqLast", c.seqLast());
            cm.put("t", millis(c.timeNanos()));
            d.put("census", cm);
        });

        List<Census> censuses = m.recording().censuses();
        Set<String> tierNames = new LinkedHashSet<>();
        censuses.forEach(c -> c.tiers().forEach(t -> tierNames.add(t.tier())));
        List<Object> tiers = new ArrayList<>();
        for (String name : tierNames) {
            List<TierCensus> ts = new ArrayList<>();
            censuses.forEach(c -> c.tier(name).ifPresent(ts::add));
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("tier", name);
            t.put("t", series(ts, x -> millis(x.timeNanos())));
            t.put("seq", series(ts, TierCensus::seqLast));
            t.put("consistent", ts.stream().map(TierCensus::consistent).toList());
            for (int b = 0; b < Hz3Attributes.OCC_BUCKETS.size(); b++) {
                int bucket = b;
                t.put(Hz3Attributes.OCC_BUCKETS.get(b), series(ts, x -> x.occ()[bucket]));
            }
            t.put(TierOccupancy.PAGES_PARTIAL, series(ts, TierCensus::pagesPartial));
            t.put(TierOccupancy.CAND_DECOMMIT_PAGES, series(ts, TierCensus::candDecommitPages));
            t.put(TierOccupancy.RESIDENT_BYTES, series(ts, TierCensus::residentBytes));
            tiers.add(t);
        }
        d.put("tiers", tiers);

        List<Object> classes = new ArrayList<>();
        for (ClassCensus c : m.tableCensus().map(Census::classes).orElse(List.of())) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("rank", c.rank());
            row.put("sizeClass", c.sizeClass());
            row.put("objectSize", c.objectSize());
            row.put("tier", c.tier());
            row.put("pagesPartial", c.pagesPartial());
            for (int b = 0; b < Hz3Attributes.OCC_BUCKETS.size(); b++) {
                row.put(Hz3Attributes.OCC_BUCKETS.get(b), c.occ()[b]);
            }
            row.put("tailWasteBytes", c.tailWasteBytes());
            row.put("partialBytes", c.partialBytes());
            classes.add(row);
        }
        d.put("classes", classes);

        Map<String, Object> reclaim = new LinkedHashMap<>();
        reclaim.put("t", series(censuses, c -> millis(c.timeNanos())));
        reclaim.put("seq", series(censuses, Census::seqLast));
        reclaim.put("consistent", censuses.stream().map(Census::consistent).toList());
        reclaim.put("candidateBytes", series(censuses, Census::candidateBytes));
        reclaim.put("hz3ResidentBytes", series(censuses, Census::residentBytes));
        d.put("reclaim", reclaim);

        List<ProcessMemorySample> pm = m.recording().processMemory();
        // RSS from the JVM's own samples where it has them: every second from the recording's start.
        JdkMemory jdk = m.jdk();
        Map<String, Object> rss = new LinkedHashMap<>();
        if (!jdk.rss().isEmpty()) {
            rss.put("source", JdkMemory.RESIDENT_SET_SIZE);
            rss.put("t", jdk.rss().t());
            rss.put("rss", jdk.rss().v());
        } else {
            rss.put("source", ProcessMemory.TYPE);
            rss.put("t", series(pm, p -> millis(p.timeNanos())));
            rss.put("rss", series(pm, ProcessMemorySample::rss));
        }
        d.put("rss", rss);
        Map<String, Object> container = new LinkedHashMap<>();
        container.put("t", jdk.containerUsage().t());
        container.put("usage", jdk.containerUsage().v());
        container.put("limit", jdk.containerLimit());
        d.put("container", container);
        Map<String, Object> nmt = new LinkedHashMap<>();
        nmt.put("t", jdk.nmtCommitted().t());
        nmt.put("committed", jdk.nmtCommitted().v());
        List<Object> nmtTypes = new ArrayList<>();
        jdk.nmtByType().forEach((type, s) -> nmtTypes.add(Map.of("type", type, "t", s.t(), "committed", s.v())));
        nmt.put("types", nmtTypes);
        d.put("nmt", nmt);
        Map<String, Object> process = new LinkedHashMap<>();
        process.put("t", series(pm, p -> millis(p.timeNanos())));
        for (String part : ProcessMemory.RSS_PARTS) {
            process.put(part, series(pm, p -> processValue(p, part)));
        }
        d.put("process", process);
        d.put("processParts", ProcessMemory.RSS_PARTS);
        d.put("processLabels", List.of("Java heap", "Thread stacks", "hz3", "File mappings", "Other mappings"));
        d.put("cgroupLimit", pm.isEmpty() ? -1 : pm.get(pm.size() - 1).cgroupLimit());

        List<GlibcSample> gl = m.recording().glibc();
        if (!gl.isEmpty()) {
            Map<String, Object> g = new LinkedHashMap<>();
            g.put("t", series(gl, x -> millis(x.timeNanos())));
            g.put(GlibcHeap.ARENAS, series(gl, GlibcSample::arenas));
            g.put(GlibcHeap.IN_USE_BYTES, series(gl, GlibcSample::inUseBytes));
            g.put(GlibcHeap.FREE_BYTES, series(gl, GlibcSample::freeBytes));
            d.put("glibc", g);
        } else {
            d.put("glibc", null);
        }

        List<Object> rules = new ArrayList<>();
        for (IResult r : m.results()) {
            Map<String, Object> rr = new LinkedHashMap<>();
            rr.put("id", r.getRule().getId());
            rr.put("name", r.getRule().getName());
            rr.put("severity", r.getSeverity().name());
            rr.put("summary", r.getSummary() == null ? "" : r.getSummary());
            rules.add(rr);
        }
        d.put("rules", rules);
        d.put("sites", SitesSection.data(m));
        return d;
    }

    private static <T> long[] series(List<T> list, ToLongFunction<T> f) {
        long[] a = new long[list.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = f.applyAsLong(list.get(i));
        }
        return a;
    }
}
