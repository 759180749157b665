package dev.hz3.jmc.report;

import static dev.hz3.jmc.report.Format.bytes;
import static dev.hz3.jmc.report.Format.count;
import static dev.hz3.jmc.report.Format.esc;
import static dev.hz3.jmc.report.Format.millis;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.hz3.jmc.Hz3Attributes.NativeSite;
import dev.hz3.jmc.census.NativeSites;
import dev.hz3.jmc.census.SiteSample;
import dev.hz3.jmc.census.SiteSeries;
import dev.hz3.jmc.census.SiteTrend;

/**
 * The report's "Java call sites" section (agent option attribution=on): the top sites by live
 * native bytes at their last sample, with growth, hz3's pinned pages and each site's most common
 * stack, and their live bytes over time for report.js to chart on the shared time axis. Without
 * site events it says how to get them, or, on a glibc recording, is left out (that page names
 * nothing of hz3).
 */
final class SitesSection {

    /** Sites in the table and the chart. */
    static final int TOP = 7;

    private SitesSection() {
    }

    /** The sites shown: most live bytes at their last sample first. */
    static List<SiteSeries> top(NativeSites sites) {
        return sites.series().stream().sorted(Comparator.comparingLong((SiteSeries s) -> s.last().liveBytes())
                .reversed().thenComparing(SiteSeries::name)).limit(TOP).toList();
    }

    static void html(StringBuilder h, ReportModel m) {
        NativeSites sites = m.sites();
        if (sites.isEmpty() && m.onGlibc()) {
            return;
        }
        h.append("<h2 id=\"sites-title\">Java call sites of native memory</h2>\n");
        if (sites.isEmpty()) {
            h.append("<p class=\"empty\" id=\"sites-none\">This recording has no Java call sites (")
                    .append(NativeSite.TYPE).append(" events): native attribution was off. Start the JVM with ")
                    .append("<code>HZ3_AGENT_OPTIONS=attribution=on bin/hz3-java ...</code> (or the agent option ")
                    .append("<code>attribution=on</code>; in a running JVM <code>java -jar hz3-agent.jar attach PID ")
                    .append("attribution=on</code>) and record with hz3.jfc: this section then shows which Java code ")
                    .append("holds native memory (Unsafe, direct buffers, Deflater and Inflater), and which of it ")
                    .append("grows.</p>\n");
            return;
        }
        List<SiteSeries> top = top(sites);
        long sampleBytes = top.get(0).last().sampleBytes();
        h.append("<p class=\"note\">").append(sites.series().size()).append(sites.series().size() == 1 ? " site" : " sites")
                .append(", the ").append(top.size()).append(" with the most live bytes at their last sample here. ")
                .append("Live bytes are estimated from sampled allocations (one per ").append(esc(bytes(sampleBytes)))
                .append(" allocated, on average); growth is from a site's first sample to its last. ")
                .append(sites.hasPinning() ? "Pinned (an estimate, scaled from the site's samples by hz3's exact "
                        + "count of partly used pages per size class): the unused bytes of partly used pages that the "
                        + "site's live objects keep resident (what freeing them would return). "
                        : "Pinned pages are known only when hz3 is the malloc. ")
                .append("Stacks are counted over the agent's samples (one per sampled Java call), or hz3's own "
                        + "samples of the mallocs inside the calls when the agent sampled none; never both, "
                        + "since both sample the bytes Java sees.")
                .append("</p>\n");
        h.append("<div class=\"scroll\"><table id=\"sites\" class=\"wrap\">\n<tr><th>Site</th><th>Kind</th>")
                .append("<th class=\"num\">Live</th><th class=\"num\">Growth</th><th class=\"num\">Per minute</th>")
                .append("<th class=\"num\">Native live</th><th class=\"num\">Pinned pages (est.)</th><th class=\"num\">Pinned (est.)</th>")
                .append("<th class=\"num\">Oldest live sample</th><th>Most common stack</th></tr>\n");
        for (SiteSeries s : top) {
            SiteSample last = s.last();
            SiteTrend trend = SiteTrend.of(s);
            String key = "site=" + s.name() + ";last";
            h.append("<tr data-site=\"").append(esc(s.name())).append("\">");
            cell(h, key, NativeSite.SITE, s.site(), "text", esc(s.site()));
            cell(h, key, NativeSite.KIND, s.kind(), "text", esc(s.kind()));
            cell(h, key, NativeSite.LIVE_BYTES, Long.toString(last.liveBytes()), "num", esc(bytes(last.liveBytes())));
            h.append("<td class=\"num\" data-growth=\"").append(trend.growthBytes()).append("\">")
                    .append(esc(bytes(trend.growthBytes()))).append("</td><td class=\"num\">")
                    .append(trend.points() < 2 ? "-" : esc(bytes(Math.round(trend.bytesPerSecond() * 60))))
                    .append("</td>");
            hz3Only(h, key, NativeSite.NATIVE_LIVE_BYTES, last.nativeLiveBytes(), true);
            hz3Only(h, key, NativeSite.PINNED_PAGES, last.pinnedPages(), false);
            hz3Only(h, key, NativeSite.PINNED_BYTES, last.pinnedBytes(), true);
            cell(h, key, NativeSite.OLDEST_AGE, Long.toString(last.oldestAgeNanos()), "num",
                    esc(String.format(Locale.ROOT, "%.1f s", last.oldestAgeNanos() / 1e9)));
            h.append("<td class=\"stack\">");
            NativeSites.StackCount st = sites.stacks().get(s.name());
            if (st == null || st.frames().isEmpty()) {
                h.append("-");
            } else {
                h.append("<details><summary>").append(count(st.samples())).append(" of ").append(count(st.siteSamples()))
                        .append(' ').append(esc(st.source())).append(st.siteSamples() == 1 ? " sample" : " samples")
                        .append("</summary><pre>");
                for (String f : st.frames()) {
                    h.append(esc(f)).append('\n');
                }
                h.append("</pre></details>");
            }
            h.append("</td></tr>\n");
        }
        h.append("</table></div>\n<div class=\"charts\" id=\"chart-sites\"></div>\n");
    }

    private static void cell(StringBuilder h, String key, String field, String value, String cls, String shown) {
        h.append("<td class=\"").append(cls).append("\" data-event=\"").append(esc(NativeSite.TYPE))
                .append("\" data-field=\"").append(esc(field)).append("\" data-key=\"").append(esc(key))
                .append("\" data-value=\"").append(esc(value)).append("\">").append(shown).append("</td>");
    }

    /** A figure hz3 fills in: "-" when it is -1 (another malloc). */
    private static void hz3Only(StringBuilder h, String key, String field, long v, boolean isBytes) {
        cell(h, key, field, Long.toString(v), "num", v < 0 ? "-" : esc(isBytes ? bytes(v) : count(v)));
    }

    /** The chart's data: each shown site's live bytes at its samples. */
    static List<Object> data(ReportModel m) {
        List<Object> out = new ArrayList<>();
        for (SiteSeries s : top(m.sites())) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("name", s.name());
            d.put("t", s.samples().stream().mapToLong(x -> millis(x.timeNanos())).toArray());
            d.put("live", s.samples().stream().mapToLong(SiteSample::liveBytes).toArray());
            out.add(d);
        }
        return out;
    }
}
