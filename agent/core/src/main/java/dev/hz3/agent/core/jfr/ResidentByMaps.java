package dev.hz3.agent.core.jfr;

import dev.hz3.jfr.Hz3Events;
import dev.hz3.jfr.ProcessMemoryEvent;
import java.io.FileInputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Set;

/**
 * hz3.ProcessMemory's split of the Rss read without /proc/self/smaps, for the JFR event (every
 * 10 s) and the metrics endpoint (every few seconds). smaps makes the kernel account every
 * resident page of every mapping (about 10 ms of system time a reading in a JVM with a few
 * hundred MiB resident); here
 * the kernel only lists the mappings (/proc/self/maps), counts the process's resident pages
 * (/proc/self/statm) and tells which pages of the anonymous mappings are present (mincore,
 * one byte a page, no per-page accounting).
 *
 * <p>The parts mean what smaps' Rss split into them meant, and still add up to the Rss. Anonymous
 * mappings (the Java heap, thread stacks, hz3's, the rest) are counted page by page; file
 * mappings are the Rss less those, because mincore on a file tells the page cache, not this
 * process. The exception is a file mapped inside the Java heap's range (the CDS archive's heap
 * objects, about 1 MiB, which smaps counts as heap): mincore counts it, whole if the file is
 * cached, which it is once the JVM has read it. Mappings with no access (---p: the JVM's and
 * hz3's reserved address space, 1.4 GiB in a small JVM) are not walked: their pages were never
 * touched, or were given back when the range went back to no access; hz3 never mprotects. The
 * few pages of the kernel's own mappings ([vdso], [vvar]: a few KiB, "other" in
 * smaps) land in file_mappings, and a page of an anonymous mapping that is the shared zero page
 * counts as resident (smaps leaves it out; hz3's part already counted it so).
 */
final class ResidentByMaps {

    private static final int FILE = 0;
    private static final int ANON = 1;
    private static final int STACK = 2;   // [stack]: the main thread's
    private static final int KERNEL = 3;  // [vdso], [vvar], [vsyscall]...: not for mincore

    private final Mincore mincore = new Mincore();
    private byte[] text = new byte[1 << 16];
    private long[] starts = new long[512];
    private long[] ends = new long[512];
    private int[] kinds = new int[512];
    private boolean[] noAccess = new boolean[512];
    private int count;

    /**
     * Fills e's Rss and its parts: heap is the Java heap's range or null, sps the stack pointers
     * of the threads (a mapping that holds one is a stack), hz3Ranges hz3's mappings as pairs.
     */
    void fill(ProcessMemoryEvent e, long[] heap, Set<Long> sps, long[] hz3Ranges) throws IOException {
        readMaps();
        long rssBefore = statmResidentPages();
        long counted = 0;
        for (int i = 0; i < count; i++) {
            long start = starts[i];
            long end = ends[i];
            boolean inHeap = heap != null && Long.compareUnsigned(heap[0], start) <= 0
                    && Long.compareUnsigned(end, heap[1]) <= 0;
            if (kinds[i] == KERNEL || kinds[i] == FILE && !inHeap || noAccess[i]) {
                continue;
            }
            long inHz3 = 0;
            long covered = 0;
            for (int r = 0; r + 1 < hz3Ranges.length; r += 2) {
                long s = Math.max(start, hz3Ranges[r]);
                long t = Math.min(end, hz3Ranges[r + 1]);
                if (s < t) {
                    inHz3 += resident(s, t);
                    covered += t - s;
                }
            }
            // hz3's mappings are whole mappings as a rule: no second walk over the same pages.
            long all = covered == end - start ? inHz3 : Math.max(resident(start, end), inHz3);
            e.hz3 += inHz3;
            long rest = all - inHz3;
            counted += all;
            if (rest == 0) {
                continue;
            }
            if (inHeap) {
                e.javaHeap += rest;
            } else if (kinds[i] == STACK || holdsAny(start, end, sps)) {
                e.threadStacks += rest;
            } else {
                e.otherMappings += rest;
            }
        }
        // The walk takes a few ms while the program maps and frees: the Rss read on both sides
        // halves the skew that file mappings (the remainder) would take, and no part goes negative.
        long rss = (rssBefore + statmResidentPages()) / 2 * Hz3Events.PAGE_SIZE;
        e.rss = Math.max(rss, counted);
        e.fileMappings = e.rss - counted;
    }

    private static boolean holdsAny(long start, long end, Set<Long> sps) {
        for (long sp : sps) {
            if (Long.compareUnsigned(start, sp) <= 0 && Long.compareUnsigned(sp, end) < 0) {
                return true;
            }
        }
        return false;
    }

    private long resident(long start, long end) {
        return mincore.resident(start, end);
    }

    /** The second field of /proc/self/statm: resident pages (the kernel's counters, no walk). */
    private long statmResidentPages() throws IOException {
        int n = readAll("/proc/self/statm");
        int i = 0;
        while (i < n && text[i] != ' ') {
            i++;
        }
        i++;
        long v = 0;
        while (i < n && text[i] >= '0' && text[i] <= '9') {
            v = v * 10 + (text[i++] - '0');
        }
        return v;
    }

    /** Reads /proc/self/maps into starts, ends and kinds. */
    private void readMaps() throws IOException {
        int n = readAll("/proc/self/maps");
        count = 0;
        int i = 0;
        while (i < n) {
            int eol = i;
            while (eol < n && text[eol] != '\n') {
                eol++;
            }
            parseLine(i, eol);
            i = eol + 1;
        }
    }

    private void parseLine(int from, int to) {
        int i = from;
        long start = 0;
        int d;
        while (i < to && (d = Character.digit(text[i], 16)) >= 0) {
            start = start << 4 | d;
            i++;
        }
        if (i >= to || text[i] != '-') {
            return;
        }
        i++;
        long end = 0;
        while (i < to && (d = Character.digit(text[i], 16)) >= 0) {
            end = end << 4 | d;
            i++;
        }
        boolean none = to - i >= 4 && text[i + 1] == '-' && text[i + 2] == '-' && text[i + 3] == '-';
        // The path is the sixth column (after perms, offset, dev, inode), and may be absent.
        for (int col = 1; col < 6 && i < to; col++) {
            while (i < to && text[i] == ' ') {
                i++;
            }
            if (col == 5) {
                break;
            }
            while (i < to && text[i] != ' ') {
                i++;
            }
        }
        int kind;
        if (i >= to || text[i] != '/' && text[i] != '[') {
            kind = ANON;
        } else if (text[i] == '/') {
            kind = startsWith(i, to, "/memfd:") ? ANON : FILE;
        } else if (startsWith(i, to, "[stack]")) {
            kind = STACK;
        } else if (startsWith(i, to, "[v") || startsWith(i, to, "[uprobes]")) {
            kind = KERNEL;
        } else {
            kind = ANON;   // [heap] (brk), [anon:name]
        }
        if (count == starts.length) {
            starts = Arrays.copyOf(starts, 2 * count);
            ends = Arrays.copyOf(ends, 2 * count);
            kinds = Arrays.copyOf(kinds, 2 * count);
            noAccess = Arrays.copyOf(noAccess, 2 * count);
        }
        noAccess[count] = none;
        starts[count] = start;
        ends[count] = end;
        kinds[count] = kind;
        count++;
    }

    private boolean startsWith(int i, int to, String prefix) {
        if (to - i < prefix.length()) {
            return false;
        }
        for (int k = 0; k < prefix.length(); k++) {
            if (text[i + k] != prefix.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** Reads a /proc file whole into text (grown as needed); returns its length. */
    private int readAll(String path) throws IOException {
        try (FileInputStream in = new FileInputStream(path)) {
            int n = 0;
            while (true) {
                if (n == text.length) {
                    text = Arrays.copyOf(text, 2 * n);
                }
                int r = in.read(text, n, text.length - n);
                if (r < 0) {
                    return n;
                }
                n += r;
            }
        }
    }
}
