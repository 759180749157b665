package dev.hz3.jmc;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.unit.IQuantity;
import org.openjdk.jmc.common.util.IPreferenceValueProvider;
import org.openjdk.jmc.common.util.TypedPreference;
import org.openjdk.jmc.flightrecorder.JfrLoaderToolkit;

import dev.hz3.jfr.AllocatorInfoEvent;
import dev.hz3.jfr.EpochEvent;
import dev.hz3.jfr.GlibcHeapEvent;
import dev.hz3.jfr.Hz3Events;
import dev.hz3.jfr.PartialSizeClassEvent;
import dev.hz3.jfr.ProcessMemoryEvent;
import dev.hz3.jfr.SnapshotEvent;
import dev.hz3.jfr.TierOccupancyEvent;
import jdk.jfr.Event;
import jdk.jfr.Recording;

/**
 * Real recordings of synthetic hz3 events: the jfr-events classes themselves, committed in a
 * {@link Recording} of this JVM, dumped to a .jfr file and loaded back with JMC's parser. A
 * census is a set of hz3.TierOccupancy events (and hz3.PartialSizeClass, hz3.Snapshot) sharing a
 * seqLast, as the agent writes them.
 */
public final class SyntheticRecording implements AutoCloseable {

    public static final long PAGE = 4096;

    private final Recording recording = new Recording();
    private final Path dir;
    /** The directory was made by {@link #start()} for this recording alone: close deletes it. */
    private final boolean ownsDir;
    private long seq;
    private boolean consistent = true;

    private SyntheticRecording(Path dir, boolean ownsDir) {
        this.dir = dir;
        this.ownsDir = ownsDir;
        for (Class<? extends Event> c : Hz3Events.CLASSES) {
            recording.enable(c);
        }
        recording.start();
    }

    /** A recording dumped into a temporary directory of its own, deleted (dumps and all) by close. */
    public static SyntheticRecording start() throws IOException {
        return new SyntheticRecording(Files.createTempDirectory("hz3-synthetic"), true);
    }

    /** A recording dumped into dir, which the caller keeps (and cleans up). */
    public static SyntheticRecording start(Path dir) throws IOException {
        Files.createDirectories(dir);
        return new SyntheticRecording(dir, false);
    }

    /** One tier of a census. occ = {empty, (0,25], (25,50], (50,75], (75,100]} pages. */
    public record Tier(String name, long empty, long partial, long full, long[] occ, long candidates,
            long liveBytes, long tailWasteBytes) {

        /** partial pages of which low are at most 25% used (the rest (25, 50%]); full in (75, 100%]. */
        public static Tier of(String name, long empty, long partial, long full, long low) {
            return new Tier(name, empty, partial, full, new long[] {empty, low, partial - low, 0, full}, empty,
                    (partial / 4 + full) * PAGE, 16 * (partial + full));
        }

        long resident() {
            return empty + partial + full;
        }
    }

    /** One size class of a census. */
    public record SizeClass(int sizeClass, long objectSize, String tier, long partial, long low) {
    }

    /**
     * Whether the censuses committed from now on are consistent (as hz3 marks a sweep during
     * which pages changed hands: consistent=false on every event of the census, and a sweep, not
     * an exact census). Censuses are consistent until this is called.
     */
    public SyntheticRecording consistent(boolean c) {
        consistent = c;
        return this;
    }

    /** Commits a census (tiers, their snapshot, no classes); returns its seqLast. */
    public long census(Tier... tiers) {
        return census(List.of(tiers), List.of(), -1);
    }

    /**
     * Commits a census: one hz3.TierOccupancy per tier, one hz3.PartialSizeClass per class (ranked
     * in the given order) and an hz3.Snapshot whose census-resident bytes are residentBytes, or the
     * tiers' resident bytes when residentBytes is negative.
     */
    public long census(List<Tier> tiers, List<SizeClass> classes, long residentBytes) {
        long s = ++seq * 3;
        long sum = 0;
        for (Tier t : tiers) {
            TierOccupancyEvent e = new TierOccupancyEvent();
            e.tier = t.name();
            e.seqFirst = s - 1;
            e.seqLast = s;
            e.consistent = consistent;
            e.pagesUntouched = 7;
            e.pagesDecommitted = 11;
            e.pagesEmpty = (int) (t.empty());
            e.pagesPartial = (int) (t.partial());
            e.pagesFull = (int) (t.full());
            e.pagesTotal = (int) (t.resident() + e.pagesUntouched + e.pagesDecommitted);
            e.occ0 = (int) (t.occ()[0]);
            e.occ1to25 = (int) (t.occ()[1]);
            e.occ25to50 = (int) (t.occ()[2]);
            e.occ50to75 = (int) (t.occ()[3]);
            e.occ75to100 = (int) (t.occ()[4]);
            e.candDecommitPages = (int) (t.candidates());
            e.spans = (int) (t.resident() / 2);
            e.liveObjects = t.partial() * 3 + t.full() * 16;
            e.capacityObjects = t.resident() * 16;
            e.liveBytes = t.liveBytes();
            e.tailWasteBytes = t.tailWasteBytes();
            e.residentBytes = t.resident() * PAGE;
            e.occupancy = e.capacityObjects == 0 ? 0 : (double) e.liveObjects / e.capacityObjects;
            e.commit();
            sum += e.residentBytes;
        }
        int rank = 1;
        for (SizeClass c : classes) {
            PartialSizeClassEvent e = new PartialSizeClassEvent();
            e.seqLast = s;
            e.consistent = consistent;
            e.rank = rank++;
            e.sizeClass = c.sizeClass();
            e.objectSize = c.objectSize();
            e.spanPages = 2;
            e.tier = c.tier();
            e.spans = (int) (c.partial());
            e.pagesEmpty = 1;
            e.pagesFull = 2;
            e.pagesPartial = (int) (c.partial());
            e.occ0 = 1;
            e.occ1to25 = (int) (c.low());
            e.occ25to50 = (int) (c.partial() - c.low());
            e.occ50to75 = 0;
            e.occ75to100 = 2;
            e.liveObjects = c.partial() * 2;
            e.capacityObjects = c.partial() * 16;
            e.tailWasteBytes = c.partial() * 8;
            e.candDecommitPages = 1;
            e.partialBytes = c.partial() * PAGE;
            e.occupancy = 0.125;
            e.commit();
        }
        SnapshotEvent snap = new SnapshotEvent();
        snap.seqFirst = s - 1;
        snap.seqLast = s;
        snap.snapshotTime = System.currentTimeMillis();
        snap.exact = consistent;
        snap.consistent = consistent;
        snap.source = consistent ? "on demand" : "listener";
        snap.numClasses = 35;
        snap.segmentsScanned = 4;
        snap.segmentsTotal = 4;
        snap.censusResidentBytes = residentBytes >= 0 ? residentBytes : sum;
        snap.commit();
        return s;
    }

    public void processMemory(long rss, long javaHeap, long threadStacks, long hz3, long fileMappings) {
        ProcessMemoryEvent e = new ProcessMemoryEvent();
        e.rss = rss;
        e.javaHeap = javaHeap;
        e.threadStacks = threadStacks;
        e.hz3 = hz3;
        e.fileMappings = fileMappings;
        e.otherMappings = rss - javaHeap - threadStacks - hz3 - fileMappings;
        e.javaHeapCommitted = javaHeap * 2;
        e.jvmOther = 12 << 20;
        e.jvmOtherSource = "non-heap pools";
        e.directBuffers = 3 << 20;
        e.directBufferCount = 5;
        e.threads = 17;
        e.cgroup = "/test";
        e.cgroupUsage = rss + (1 << 20);
        e.cgroupLimit = 1L << 32;
        e.commit();
    }

    public void glibc(int arenas, long inUse, long free) {
        GlibcHeapEvent e = new GlibcHeapEvent();
        e.arenas = arenas;
        e.arenaBytes = inUse + free;
        e.inUseBytes = inUse;
        e.freeBytes = free;
        e.freeInBinsBytes = free * 3 / 4;
        e.topBytes = free / 4;
        e.fastbinFreeBytes = 1024;
        e.freeChunks = 100;
        e.mmappedBytes = 5 << 20;
        e.mmappedChunks = 3;
        e.systemBytes = inUse + free;
        e.commit();
    }

    public void allocator(String malloc, long purgeDelayMs, long epochIntervalMs) {
        AllocatorInfoEvent e = new AllocatorInfoEvent();
        e.malloc = malloc;
        e.mallocVersion = "0.1.0";
        e.mallocLibrary = "/x/libhz3.so";
        e.hz3Status = "active";
        e.hz3Version = "0.1.0";
        e.purgeDelay = purgeDelayMs;
        e.epochInterval = epochIntervalMs;
        e.snapshotMin = 1000;
        e.agentVersion = "test";
        e.commit();
    }

    /** An hz3.Epoch that started now, of the given reason ("timer", "slow_path", ...). */
    public void epoch(String reason, long pagesPurged) {
        EpochEvent e = new EpochEvent();
        e.seq = ++seq;
        e.reason = reason;
        e.osThreadId = 1;
        e.osThreadName = "hz3-epoch";
        e.epochStart = System.currentTimeMillis();
        e.epochDuration = 10_000;
        e.pagesPurged = pagesPurged;
        e.bytesPurged = pagesPurged * PAGE;
        e.commit();
    }

    public static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the recording and writes it to a new file. */
    public Path dump() throws IOException {
        recording.stop();
        Path p = Files.createTempFile(dir, "synthetic", ".jfr");
        recording.dump(p);
        return p;
    }

    /** Stops, dumps and loads the recording with JMC's parser. */
    public IItemCollection load() throws Exception {
        return load(dump());
    }

    public static IItemCollection load(Path p) throws Exception {
        File f = p.toFile();
        return JfrLoaderToolkit.loadEvents(f);
    }

    /** Closes the recording; with {@link #start()}, deletes its directory and what was dumped there. */
    @Override
    public void close() throws IOException {
        recording.close();
        if (ownsDir) {
            deleteTree(dir);
        }
    }

    /** Deletes a file or a directory with everything below it (symbolic links are not followed). */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (java.util.stream.Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Preferences with some values overridden. */
    public static IPreferenceValueProvider prefs(Map<TypedPreference<IQuantity>, IQuantity> values) {
        return new IPreferenceValueProvider() {
            @SuppressWarnings("unchecked")
            @Override
            public <T> T getPreferenceValue(TypedPreference<T> p) {
                Object v = values.get(p);
                return v != null ? (T) v : p.getDefaultValue();
            }
        };
    }
}
