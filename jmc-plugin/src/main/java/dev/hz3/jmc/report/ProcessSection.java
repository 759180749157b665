package dev.hz3.jmc.report;

import static dev.hz3.jmc.report.Format.bytes;
import static dev.hz3.jmc.report.Format.esc;
import static dev.hz3.jmc.report.Format.offset;

import java.util.List;

import dev.hz3.jmc.Hz3Attributes.GlibcHeap;
import dev.hz3.jmc.Hz3Attributes.ProcessMemory;
import dev.hz3.jmc.census.GlibcSample;
import dev.hz3.jmc.census.ProcessMemorySample;

/**
 * The report's sections on the whole process: where its resident memory goes (hz3.ProcessMemory,
 * the JDK's RSS and container events), the JVM's own account (NMT) and glibc's heap when glibc is
 * the malloc.
 */
final class ProcessSection {

    private ProcessSection() {
    }

    static void html(StringBuilder h, ReportModel m) {
        process(h, m);
        nmt(h, m);
        glibc(h, m);
    }

    private static void process(StringBuilder h, ReportModel m) {
        h.append("<h2>Process memory</h2>\n");
        List<ProcessMemorySample> pm = m.recording().processMemory();
        JdkMemory jdk = m.jdk();
        if (!jdk.rss().isEmpty()) {
            h.append("<p class=\"note\">RSS over time: the JVM's ").append(JdkMemory.RESIDENT_SET_SIZE)
                    .append(" events (").append(jdk.rss().t().length).append(").</p>\n");
        }
        if (jdk.inContainer()) {
            h.append("<p class=\"note\" id=\"container\">Container memory limit (")
                    .append(JdkMemory.CONTAINER_CONFIGURATION).append("): ")
                    .append(jdk.containerLimit() > 0 ? esc(bytes(jdk.containerLimit())) : "no limit").append(".</p>\n");
        }
        if (pm.isEmpty()) {
            h.append("<p class=\"empty\">No hz3.ProcessMemory events in this recording: no breakdown of RSS.</p>\n");
        } else {
            ProcessMemorySample last = pm.get(pm.size() - 1);
            h.append("<p class=\"note\">Last sample of ").append(pm.size()).append(", at ")
                    .append(esc(offset(m, last.timeNanos()))).append(". Java heap, thread stacks, ")
                    .append(m.onGlibc() ? "" : "hz3, ").append("file mappings and other mappings add up to RSS; ")
                    .append("the JVM's own accounts (other JVM memory, direct buffers) overlap them.</p>\n")
                    .append("<table id=\"process\">\n<tr><th>Part</th><th class=\"num\">Bytes</th></tr>\n");
            Cells row = new Cells(h, ProcessMemory.TYPE, "last");
            String[][] parts = {{ProcessMemory.RSS, "RSS"}, {ProcessMemory.JAVA_HEAP, "Java heap"},
                    {ProcessMemory.THREAD_STACKS, "Thread stacks"}, {ProcessMemory.HZ3, "hz3"},
                    {ProcessMemory.FILE_MAPPINGS, "File mappings"}, {ProcessMemory.OTHER_MAPPINGS, "Other mappings"},
                    {ProcessMemory.JVM_OTHER, "Other JVM memory (JVM's account)"},
                    {ProcessMemory.DIRECT_BUFFERS, "Direct buffers (JVM's account)"},
                    {ProcessMemory.CGROUP_USAGE, "Cgroup usage"}, {ProcessMemory.CGROUP_LIMIT, "Cgroup limit"}};
            for (String[] p : parts) {
                if (m.onGlibc() && p[0].equals(ProcessMemory.HZ3)) {
                    continue;
                }
                h.append("<tr><td>").append(esc(p[1])).append("</td>");
                if (p[0].equals(ProcessMemory.CGROUP_LIMIT) && last.cgroupLimit() == 0) {
                    // The agent writes 0 when the cgroup sets no limit (memory.max "max").
                    row.shown(p[0], 0, "no limit");
                } else {
                    row.bytes(p[0], processValue(last, p[0]));
                }
                h.append("</tr>\n");
            }
            h.append("</table>\n");
        }
        h.append("<div class=\"charts\" id=\"chart-process\"></div>\n");
    }

    private static void nmt(StringBuilder h, ReportModel m) {
        if (m.jdk().nmtCommitted().isEmpty() && m.jdk().nmtByType().isEmpty()) {
            return;
        }
        h.append("<h2>JVM native memory (NMT)</h2>\n<p class=\"note\">Committed bytes by the JVM's Native Memory ")
                .append("Tracking (").append(JdkMemory.NATIVE_MEMORY_USAGE_TOTAL).append(", and ")
                .append(JdkMemory.NATIVE_MEMORY_USAGE).append(" for the ").append(JdkMemory.NMT_TYPES)
                .append(" largest categories): the JVM's own account, which overlaps the parts above.</p>\n")
                .append("<div class=\"charts\" id=\"chart-nmt\"></div>\n");
    }

    private static void glibc(StringBuilder h, ReportModel m) {
        List<GlibcSample> gl = m.recording().glibc();
        if (gl.isEmpty()) {
            return;
        }
        GlibcSample last = gl.get(gl.size() - 1);
        h.append("<h2>glibc heap</h2>\n<p class=\"note\">This JVM ran on glibc's malloc. Last sample, at ")
                .append(esc(offset(m, last.timeNanos()))).append(".</p>\n")
                .append("<table id=\"glibc\">\n<tr><th>Measure</th><th class=\"num\">Value</th></tr>\n");
        Cells row = new Cells(h, GlibcHeap.TYPE, "last");
        h.append("<tr><td>Arenas</td>");
        row.count(GlibcHeap.ARENAS, last.arenas());
        String[][] parts = {{GlibcHeap.ARENA_BYTES, "Arena bytes"}, {GlibcHeap.IN_USE_BYTES, "In use"},
                {GlibcHeap.FREE_BYTES, "Free (kept)"}, {GlibcHeap.FREE_IN_BINS_BYTES, "Free in bins"},
                {GlibcHeap.TOP_BYTES, "Top pad"}, {GlibcHeap.MMAPPED_BYTES, "Mmapped chunks"},
                {GlibcHeap.SYSTEM_BYTES, "System bytes"}};
        long[] values = {last.arenaBytes(), last.inUseBytes(), last.freeBytes(), last.freeInBinsBytes(),
                last.topBytes(), last.mmappedBytes(), last.systemBytes()};
        h.append("</tr>\n");
        for (int i = 0; i < parts.length; i++) {
            h.append("<tr><td>").append(esc(parts[i][1])).append("</td>");
            row.bytes(parts[i][0], values[i]);
            h.append("</tr>\n");
        }
        h.append("</table>\n<div class=\"charts\" id=\"chart-glibc\"></div>\n");
    }

    static long processValue(ProcessMemorySample p, String field) {
        return switch (field) {
        case ProcessMemory.RSS -> p.rss();
        case ProcessMemory.JAVA_HEAP -> p.javaHeap();
        case ProcessMemory.THREAD_STACKS -> p.threadStacks();
        case ProcessMemory.HZ3 -> p.hz3();
        case ProcessMemory.FILE_MAPPINGS -> p.fileMappings();
        case ProcessMemory.OTHER_MAPPINGS -> p.otherMappings();
        case ProcessMemory.JVM_OTHER -> p.jvmOther();
        case ProcessMemory.DIRECT_BUFFERS -> p.directBuffers();
        case ProcessMemory.CGROUP_USAGE -> p.cgroupUsage();
        case ProcessMemory.CGROUP_LIMIT -> p.cgroupLimit();
        default -> throw new IllegalArgumentException(field);
        };
    }
}
