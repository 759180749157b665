package dev.hz3.agent.core.jfr;

import com.sun.management.HotSpotDiagnosticMXBean;
import dev.hz3.agent.core.nat.Libc;
import dev.hz3.jfr.Hz3Events;
import dev.hz3.jfr.ProcessMemoryEvent;
import java.io.BufferedReader;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Fills hz3.ProcessMemory: one pass over /proc/self/smaps puts each mapping's Rss in one
 * bucket (Java heap, thread stacks, hz3, files, other), so the buckets add up to the total; the
 * JVM's own accounts (NMT, memory pools, buffer pools) and the cgroup come beside them. The
 * metrics endpoint, which asks every few seconds, gets the same parts a cheaper way
 * ({@link #sample()}, {@link ResidentByMaps}).
 */
public final class ProcessMemorySampler {

    /** One line of /proc/self/smaps with its Rss. */
    record Mapping(long start, long end, String path, long rss) {
        boolean contains(long a) {
            return Long.compareUnsigned(start, a) <= 0 && Long.compareUnsigned(a, end) < 0;
        }
    }

    private static final Pattern RANGE = Pattern.compile("\\[0x([0-9a-f]+),\\s*(?:0x[0-9a-f]+,\\s*)?0x([0-9a-f]+)\\)");
    private static final Pattern NMT_TOTAL = Pattern.compile("Total: reserved=(\\d+)KB, committed=(\\d+)KB");
    private static final Pattern NMT_HEAP = Pattern.compile("Java Heap \\(reserved=(\\d+)KB, committed=(\\d+)KB");

    private final boolean hz3;
    private long[] heapRange;          // [start, end) of the Java heap, when GC.heap_info tells
    private boolean heapRangeTried;
    private List<MemoryPoolMXBean> pools;
    private List<BufferPoolMXBean> bufferPools;
    private boolean nmtOn;
    private ResidentByMaps cheap;      // the metrics endpoint's reader, made at its first sample
    private final StackPointers stacks = new StackPointers();   // the metrics endpoint's

    /** hz3 says whether to count hz3's mappings (only when it is the malloc). */
    public ProcessMemorySampler(boolean hz3) {
        this.hz3 = hz3;
    }

    /** Synchronized: JFR's periodic thread and the agent (a recording starting, stop) both call it. */
    public synchronized void commit() {
        ProcessMemoryEvent e = new ProcessMemoryEvent();
        if (!e.isEnabled()) {
            return;
        }
        // The event spans the reading: it starts when the sample begins, and its duration is
        // what smaps, GC.heap_info and NMT took (the first reading in a JVM, hundreds of ms
        // when the machine is busy, would otherwise put the sample that late).
        e.begin();
        try {
            fill(e);
        } catch (IOException | RuntimeException ex) {
            // A field we cannot read stays 0; the event still says what we know.
        }
        e.commit();
    }

    /**
     * A sample that is not committed (the metrics endpoint's, every few seconds): the same
     * fields, but the Rss split comes from {@link ResidentByMaps} (no smaps reading, a fraction
     * of its cost); a field it cannot read stays 0.
     */
    public synchronized ProcessMemoryEvent sample() {
        ProcessMemoryEvent e = new ProcessMemoryEvent();
        try {
            if (cheap == null) {
                cheap = new ResidentByMaps();
            }
            long[] heap = heapRange();
            cheap.fill(e, heap, stacks.known(), hz3Ranges());
            accounts(e, heap != null, stacks.threads());
        } catch (IOException | RuntimeException ex) {
            // as in commit()
        }
        return e;
    }

    private long[] hz3Ranges() {
        return hz3 ? dev.hz3.agent.core.nat.Hz3Lib.mappings() : new long[0];
    }

    void fill(ProcessMemoryEvent e) throws IOException {
        List<Mapping> maps = readSmaps();
        long[] heap = heapRange();
        Set<Long> sps = StackPointers.all();
        long[] hz3Ranges = hz3Ranges();

        for (Mapping m : maps) {
            e.rss += m.rss;
            long rss = m.rss;
            if (hz3Ranges.length > 0 && rss > 0) {
                long inHz3 = residentOverlap(m, hz3Ranges);
                e.hz3 += inHz3;
                rss = Math.max(0, rss - inHz3);
            }
            if (rss == 0) {
                continue;
            }
            if (heap != null && Long.compareUnsigned(heap[0], m.start) <= 0
                    && Long.compareUnsigned(m.end, heap[1]) <= 0) {
                e.javaHeap += rss;
            } else if (m.path.equals("[stack]") || holdsAny(m, sps)) {
                e.threadStacks += rss;
            } else if (m.path.startsWith("/") && !m.path.startsWith("/memfd:")) {
                e.fileMappings += rss;
            } else {
                e.otherMappings += rss;
            }
        }
        accounts(e, heap != null, threadCount());
    }

    /**
     * The JVM's own accounts, the threads and the cgroup; heapKnown: GC.heap_info gave a range;
     * threads: the process's thread count.
     */
    private void accounts(ProcessMemoryEvent e, boolean heapKnown, int threads) {
        if (pools == null) {
            // The pools and the NMT mode are fixed for the JVM's life: looked up once.
            pools = ManagementFactory.getMemoryPoolMXBeans();
            bufferPools = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class);
            nmtOn = nmtOn();
        }
        long heapCommitted = 0;
        long nonHeapCommitted = 0;
        for (MemoryPoolMXBean p : pools) {
            long c = p.getUsage() == null ? 0 : p.getUsage().getCommitted();
            if (p.getType() == MemoryType.HEAP) {
                heapCommitted += c;
            } else {
                nonHeapCommitted += c;
            }
        }
        e.javaHeapCommitted = heapCommitted;
        if (!heapKnown) {
            // No address range from GC.heap_info (ZGC, Shenandoah): count the heap as committed.
            e.javaHeap = Math.min(heapCommitted, e.otherMappings);
            e.otherMappings -= e.javaHeap;
        }
        long[] nmt = nmtOn ? nmtCommitted() : null;
        if (nmt != null) {
            e.jvmOther = Math.max(0, nmt[0] - nmt[1]);
            e.jvmOtherSource = "nmt";
        } else {
            e.jvmOther = nonHeapCommitted;
            e.jvmOtherSource = "non-heap pools";
        }
        for (BufferPoolMXBean b : bufferPools) {
            if (b.getName().equals("direct")) {
                e.directBuffers = b.getMemoryUsed();
                e.directBufferCount = b.getCount();
            }
        }
        e.threads = threads;
        cgroup(e);
    }

    /** Resident bytes of m's overlap with hz3's ranges (mincore: exact per page). */
    private static long residentOverlap(Mapping m, long[] ranges) {
        long total = 0;
        for (int i = 0; i + 1 < ranges.length; i += 2) {
            long s = Math.max(m.start, ranges[i]);
            long t = Math.min(m.end, ranges[i + 1]);
            if (s < t) {
                long pages = Libc.residentPages(s, t, Hz3Events.PAGE_SIZE);
                if (pages > 0) {
                    total += pages * Hz3Events.PAGE_SIZE;
                }
            }
        }
        return Math.min(total, m.rss);
    }

    private static boolean holdsAny(Mapping m, Set<Long> sps) {
        for (long sp : sps) {
            if (m.contains(sp)) {
                return true;
            }
        }
        return false;
    }

    static List<Mapping> readSmaps() throws IOException {
        List<Mapping> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(Path.of("/proc/self/smaps"))) {
            long start = 0;
            long end = 0;
            String path = null;
            String line;
            while ((line = r.readLine()) != null) {
                int dash = line.indexOf('-');
                int space = line.indexOf(' ');
                if (dash > 0 && space > dash && isHex(line, 0, dash)) {
                    start = Long.parseUnsignedLong(line.substring(0, dash), 16);
                    end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                    path = pathOf(line);
                } else if (line.startsWith("Rss:") && path != null) {
                    out.add(new Mapping(start, end, path, kb(line) * 1024));
                    path = null;
                }
            }
        }
        return out;
    }

    private static boolean isHex(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            if (Character.digit(s.charAt(i), 16) < 0) {
                return false;
            }
        }
        return true;
    }

    /** The sixth column of a maps line (may hold spaces), or "". */
    private static String pathOf(String line) {
        int col = 0;
        int i = 0;
        while (i < line.length() && col < 5) {
            while (i < line.length() && line.charAt(i) != ' ') {
                i++;
            }
            while (i < line.length() && line.charAt(i) == ' ') {
                i++;
            }
            col++;
        }
        return i < line.length() ? line.substring(i) : "";
    }

    private static long kb(String line) {
        String digits = line.replaceAll("\\D", "");
        return digits.isEmpty() ? 0 : Long.parseLong(digits);
    }

    private static int threadCount() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("Threads:")) {
                    return Integer.parseInt(l.substring(8).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return Thread.activeCount();
    }

    /** [start, end) of the Java heap from jcmd GC.heap_info's ranges, or null. */
    private long[] heapRange() {
        if (heapRangeTried) {
            return heapRange;
        }
        heapRangeTried = true;
        String text = diagnosticCommand("gcHeapInfo");
        if (text == null) {
            return null;
        }
        long lo = -1;
        long hi = 0;
        for (String line : text.lines().toList()) {
            if (line.contains("Metaspace") || line.contains("class space")) {
                continue;
            }
            Matcher m = RANGE.matcher(line);
            while (m.find()) {
                long s = Long.parseUnsignedLong(m.group(1), 16);
                long t = Long.parseUnsignedLong(m.group(2), 16);
                lo = lo < 0 ? s : Math.min(lo, s);
                hi = Math.max(hi, t);
            }
        }
        heapRange = lo >= 0 && hi > lo ? new long[] {lo, hi} : null;
        return heapRange;
    }

    private static boolean nmtOn() {
        try {
            HotSpotDiagnosticMXBean hs =
                    ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            return hs != null && !hs.getVMOption("NativeMemoryTracking").getValue().equals("off");
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** NMT's [total committed, Java heap committed] in bytes (NMT on), or null. */
    private static long[] nmtCommitted() {
        String text = diagnosticCommand("vmNativeMemory", "summary");
        if (text == null) {
            return null;
        }
        Matcher t = NMT_TOTAL.matcher(text);
        Matcher h = NMT_HEAP.matcher(text);
        if (!t.find()) {
            return null;
        }
        long heap = h.find() ? Long.parseLong(h.group(2)) * 1024 : 0;
        return new long[] {Long.parseLong(t.group(2)) * 1024, heap};
    }

    /** Runs a jcmd diagnostic command in this JVM; null when it fails. */
    static String diagnosticCommand(String operation, String... args) {
        try {
            MBeanServer mbs = ManagementFactory.getPlatformMBeanServer();
            ObjectName on = new ObjectName("com.sun.management:type=DiagnosticCommand");
            return (String) mbs.invoke(on, operation, new Object[] {args},
                    new String[] {String[].class.getName()});
        } catch (Exception | LinkageError e) {
            return null;
        }
    }

    /** The memory cgroup's usage and limit (v2, else v1). */
    static void cgroup(ProcessMemoryEvent e) {
        e.cgroup = "";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
                String[] f = line.split(":", 3);
                if (f.length < 3) {
                    continue;
                }
                if (f[0].equals("0") && f[1].isEmpty()) {
                    Path dir = Path.of("/sys/fs/cgroup" + f[2]);
                    Long usage = readLong(dir.resolve("memory.current"));
                    if (usage != null) {
                        e.cgroup = f[2];
                        e.cgroupUsage = usage;
                        Long limit = readLong(dir.resolve("memory.max"));
                        e.cgroupLimit = limit == null ? 0 : limit;
                        return;
                    }
                } else if (("," + f[1] + ",").contains(",memory,")) {
                    Path dir = Path.of("/sys/fs/cgroup/memory" + f[2]);
                    Long usage = readLong(dir.resolve("memory.usage_in_bytes"));
                    if (usage != null) {
                        e.cgroup = f[2];
                        e.cgroupUsage = usage;
                        Long limit = readLong(dir.resolve("memory.limit_in_bytes"));
                        // v1 says "no limit" with a huge number near Long.MAX_VALUE
                        e.cgroupLimit = limit == null || limit > (1L << 60) ? 0 : limit;
                        return;
                    }
                }
            }
        } catch (IOException | RuntimeException ex) {
            // no cgroup to read
        }
    }

    /** A file holding one number ("max" is no limit: null). */
    private static Long readLong(Path p) {
        try {
            String s = Files.readString(p).trim();
            return !s.isEmpty() && s.chars().allMatch(c -> c >= '0' && c <= '9') ? Long.valueOf(s) : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
