package dev.hz3.agent.core.jfr;

import dev.hz3.agent.core.nat.Libc;
import dev.hz3.jfr.GlibcHeapEvent;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Fills hz3.GlibcHeap from mallinfo2 and malloc_info, when glibc is the malloc. */
public final class GlibcHeapSampler {

    private static final Pattern HEAP = Pattern.compile("<heap nr=\"\\d+\">");

    private GlibcHeapSampler() {
    }

    /** Reads glibc's state into a new event (committed or not by the caller). */
    public static GlibcHeapEvent sample() {
        GlibcHeapEvent e = new GlibcHeapEvent();
        long[] m = Libc.mallinfo();
        if (m != null) {
            e.arenaBytes = m[0];
            e.freeChunks = m[1];
            e.mmappedChunks = m[3];
            e.mmappedBytes = m[4];
            e.fastbinFreeBytes = m[6];
            e.inUseBytes = m[7];
            e.freeBytes = m[8];
            e.topBytes = m[9];
            e.freeInBinsBytes = Math.max(0, m[8] - m[9]);
        }
        String xml = Libc.mallocInfoXml();
        if (xml != null) {
            Matcher h = HEAP.matcher(xml);
            while (h.find()) {
                e.arenas++;
            }
            // The totals after the last </heap>: <system type="current" size=".."/>
            int last = xml.lastIndexOf("</heap>");
            if (last >= 0) {
                Matcher s = Pattern.compile("<system type=\"current\" size=\"(\\d+)\"/>")
                        .matcher(xml.substring(last));
                if (s.find()) {
                    e.systemBytes = Long.parseLong(s.group(1));
                }
            }
        }
        return e;
    }

    public static void commit() {
        if (new GlibcHeapEvent().isEnabled()) {
            sample().commit();
        }
    }

    /** One line for the attach reply. */
    public static String summary(GlibcHeapEvent e) {
        return "glibc heap: " + e.arenas + " arenas, in use " + SnapshotEvents.mib(e.inUseBytes)
                + ", free " + SnapshotEvents.mib(e.freeBytes) + " (in bins "
                + SnapshotEvents.mib(e.freeInBinsBytes) + ", top " + SnapshotEvents.mib(e.topBytes)
                + "), mmapped " + SnapshotEvents.mib(e.mmappedBytes);
    }
}
