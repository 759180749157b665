package dev.hz3.agent.core.jfr;

import com.sun.management.HotSpotDiagnosticMXBean;
import dev.hz3.jfr.ProcessMemoryEvent;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Fills hz3.ProcessMemory: the Rss split into buckets (Java heap, thread stacks, hz3, files,
 * other) that add up to the total, read by {@link ResidentByMaps} (/proc/self/maps, statm and
 * mincore: no /proc/self/smaps, whose reading makes the kernel account every resident page of
 * every mapping, about 10 ms a reading in a small JVM, which every idle JVM of a fleet would pay
 * every 10 s); the JVM's own accounts (NMT, memory pools, buffer pools) and the cgroup come
 * beside them. The JFR event and the metrics endpoint read the same way.
 */
public final class ProcessMemorySampler {

    private static final Pattern RANGE = Pattern.compile("\\[0x([0-9a-f]+),\\s*(?:0x[0-9a-f]+,\\s*)?0x([0-9a-f]+)\\)");
    private static final Pattern NMT_TOTAL = Pattern.compile("Total: reserved=(\\d+)KB, committed=(\\d+)KB");
    private static final Pattern NMT_HEAP = Pattern.compile("Java Heap \\(reserved=(\\d+)KB, committed=(\\d+)KB");

    private final boolean hz3;
    private long[] heapRange;          // [start, end) of the Java heap, when GC.heap_info tells
    private boolean heapRangeTried;
    private List<MemoryPoolMXBean> pools;
    private List<BufferPoolMXBean> bufferPools;
    private boolean nmtOn;
    private ResidentByMaps reader;     // made at the first reading
    private final StackPointers stacks = new StackPointers();

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
        // what the reading, GC.heap_info and NMT took (the first reading in a JVM, hundreds of
        // ms when the machine is busy, would otherwise put the sample that late).
        e.begin();
        fill(e);
        e.commit();
    }

    /** A sample that is not committed (the metrics endpoint's, every few seconds). */
    public synchronized ProcessMemoryEvent sample() {
        ProcessMemoryEvent e = new ProcessMemoryEvent();
        fill(e);
        return e;
    }

    /** Fills every field of e; a field that cannot be read stays 0, and the rest is still told. */
    private void fill(ProcessMemoryEvent e) {
        try {
            if (reader == null) {
                reader = new ResidentByMaps();
            }
            long[] heap = heapRange();
            reader.fill(e, heap, stacks.known(), hz3Ranges());
            accounts(e, heap != null, stacks.threads());
        } catch (IOException | RuntimeException ex) {
            // A field we cannot read stays 0; the event still says what we know.
        }
    }

    private long[] hz3Ranges() {
        return hz3 ? dev.hz3.agent.core.nat.Hz3Lib.mappings() : new long[0];
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

    /** [start, end) of the Java heap from jcmd GC.heap_info's ranges, or null. */
    long[] heapRange() {
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
