package dev.hz3.jmc.report;

import static dev.hz3.jmc.report.Format.count;
import static dev.hz3.jmc.report.Format.esc;
import static dev.hz3.jmc.report.Format.offset;

import java.util.List;
import java.util.Optional;

import dev.hz3.jmc.Hz3Attributes;
import dev.hz3.jmc.Hz3Attributes.PartialSizeClass;
import dev.hz3.jmc.Hz3Attributes.TierOccupancy;
import dev.hz3.jmc.census.Census;
import dev.hz3.jmc.census.ClassCensus;
import dev.hz3.jmc.census.TierCensus;

/**
 * The report's sections on hz3's heap (left out on glibc): the tiers of the census with the most
 * partial pages, its top partial size classes, and the places of the charts of both and of the
 * reclaim candidates against RSS, which report.js draws.
 */
final class HeapSection {

    private HeapSection() {
    }

    static void html(StringBuilder h, ReportModel m) {
        tiers(h, m);
        classes(h, m);
        reclaim(h, m);
    }

    private static void tiers(StringBuilder h, ReportModel m) {
        h.append("<h2>Where native memory is stuck: hz3 tiers</h2>\n");
        Optional<Census> c = m.tableCensus();
        if (c.isEmpty()) {
            h.append("<p class=\"empty\">This recording has no hz3 census (hz3.TierOccupancy).</p>\n")
                    .append("<div class=\"charts\" id=\"chart-tiers\"></div>\n");
            return;
        }
        Census census = c.get();
        h.append("<p class=\"note\">Snapshot ").append(census.seqLast()).append(" at ")
                .append(esc(offset(m, census.timeNanos()))).append(", the one with the most partial pages. ")
                .append("Pages are 4 KiB; the occupancy buckets count resident pages by how full their span is.</p>\n");
        tierGlossary(h);
        // Bytes first, then pages: at 1000 px the byte columns must show without scrolling.
        h.append("<div class=\"scroll\"><table id=\"tiers\" class=\"wrap\">\n<tr><th>Tier</th><th class=\"num\">Resident</th>")
                .append("<th class=\"num\">Live</th><th class=\"num\">Tail waste</th><th class=\"num\">Occupancy</th>")
                .append("<th class=\"num\">Resident pages</th>")
                .append("<th class=\"num\">Empty</th><th class=\"num\">Partial</th><th class=\"num\">Full</th>");
        for (String label : Hz3Attributes.OCC_BUCKET_LABELS) {
            h.append("<th class=\"num\">").append(esc(label)).append("</th>");
        }
        h.append("<th class=\"num\">Decommit candidates</th></tr>\n");
        for (TierCensus t : census.tiers()) {
            String key = "seqLast=" + t.seqLast() + ";tier=" + t.tier();
            Cells row = new Cells(h, TierOccupancy.TYPE, key);
            h.append("<tr><td>").append(esc(t.tier())).append("</td>");
            row.bytes(TierOccupancy.RESIDENT_BYTES, t.residentBytes());
            row.bytes(TierOccupancy.LIVE_BYTES, t.liveBytes());
            row.bytes(TierOccupancy.TAIL_WASTE_BYTES, t.tailWasteBytes());
            row.percent(TierOccupancy.OCCUPANCY, t.occupancy());
            h.append("<td class=\"num\" title=\"empty + partial + full\">").append(count(t.residentPages()))
                    .append("</td>");
            row.count(TierOccupancy.PAGES_EMPTY, t.pagesEmpty());
            row.count(TierOccupancy.PAGES_PARTIAL, t.pagesPartial());
            row.count(TierOccupancy.PAGES_FULL, t.pagesFull());
            for (int b = 0; b < t.occ().length; b++) {
                row.count(Hz3Attributes.OCC_BUCKETS.get(b), t.occ()[b]);
            }
            row.count(TierOccupancy.CAND_DECOMMIT_PAGES, t.candDecommitPages());
            h.append("</tr>\n");
        }
        h.append("</table></div>\n<div class=\"charts\" id=\"chart-tiers\"></div>\n");
    }

    /** One plain sentence per tier (native-hz3/include/hz3.h says the same at enum hz3_tier). */
    static final String[][] TIERS = {
            {"small", "objects up to 1 KiB, many to a span of 1 to 4 pages."},
            {"sub4k", "objects of 1 to 3.5 KiB, several to a span of up to 8 pages."},
            {"medium", "objects of 3.5 to 32 KiB: up to 16 KiB 8 to 16 to a span of 16 to 32 pages, above one to a span."},
            {"large", "bigger objects: up to 1004 KiB each in a run of pages inside a segment, beyond that "
                    + "in a mapping of their own (counted in bytes, not pages)."},
            {"free", "pages of hz3's segments that belong to no span: nothing lives there, and the empty ones "
                    + "are returned to the system after the purge delay."}};

    private static void tierGlossary(StringBuilder h) {
        h.append("<ul class=\"tiers-glossary\">\n");
        for (String[] t : TIERS) {
            h.append("<li><b>").append(t[0]).append("</b>: ").append(esc(t[1])).append("</li>\n");
        }
        h.append("</ul>\n");
    }

    private static void classes(StringBuilder h, ReportModel m) {
        h.append("<h2>Top partial size classes</h2>\n");
        List<ClassCensus> classes = m.tableCensus().map(Census::classes).orElse(List.of());
        if (classes.isEmpty()) {
            h.append("<p class=\"empty\">No hz3.PartialSizeClass events for this snapshot.</p>\n");
        } else {
            h.append("<div class=\"scroll\"><table id=\"classes\">\n<tr><th class=\"num\">Rank</th><th class=\"num\">Class</th>")
                    .append("<th class=\"num\">Object size</th><th>Tier</th><th class=\"num\">Span pages</th>")
                    .append("<th class=\"num\">Partial pages</th><th class=\"num\">Partial bytes</th>");
            for (String label : Hz3Attributes.OCC_BUCKET_LABELS) {
                h.append("<th class=\"num\">").append(esc(label)).append("</th>");
            }
            h.append("<th class=\"num\">Tail waste</th><th class=\"num\">Live objects</th>")
                    .append("<th class=\"num\">Capacity</th><th class=\"num\">Occupancy</th></tr>\n");
            for (ClassCensus c : classes) {
                Cells row = new Cells(h, PartialSizeClass.TYPE, "seqLast=" + c.seqLast() + ";rank=" + c.rank());
                h.append("<tr>");
                row.count(PartialSizeClass.RANK, c.rank());
                row.count(PartialSizeClass.SIZE_CLASS, c.sizeClass());
                row.bytes(PartialSizeClass.OBJECT_SIZE, c.objectSize());
                row.text(PartialSizeClass.TIER, c.tier());
                row.count(PartialSizeClass.SPAN_PAGES, c.spanPages());
                row.count(PartialSizeClass.PAGES_PARTIAL, c.pagesPartial());
                row.bytes(PartialSizeClass.PARTIAL_BYTES, c.partialBytes());
                for (int b = 0; b < c.occ().length; b++) {
                    row.count(Hz3Attributes.OCC_BUCKETS.get(b), c.occ()[b]);
                }
                row.bytes(PartialSizeClass.TAIL_WASTE_BYTES, c.tailWasteBytes());
                row.count(PartialSizeClass.LIVE_OBJECTS, c.liveObjects());
                row.count(PartialSizeClass.CAPACITY_OBJECTS, c.capacityObjects());
                row.percent(PartialSizeClass.OCCUPANCY, c.occupancy());
                h.append("</tr>\n");
            }
            h.append("</table></div>\n");
        }
        h.append("<div class=\"charts\" id=\"chart-classes\"></div>\n");
    }

    private static void reclaim(StringBuilder h, ReportModel m) {
        h.append("<h2>Reclaim candidates against RSS</h2>\n<p class=\"note\">Decommit candidates are resident ")
                .append("empty pages of every tier (hz3 returns them after HZ3_PURGE_DELAY_MS; ")
                .append("<code>jcmd PID System.trim_native_heap</code> returns them at once); hz3 resident is what ")
                .append("hz3 holds in RAM (census); RSS is the whole process.</p>\n")
                .append("<div class=\"charts\" id=\"chart-reclaim\"></div>\n");
    }
}
