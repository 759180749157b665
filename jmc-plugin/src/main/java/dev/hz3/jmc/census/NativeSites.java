package dev.hz3.jmc.census;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.openjdk.jmc.common.IMCFrame;
import org.openjdk.jmc.common.IMCMethod;
import org.openjdk.jmc.common.IMCStackTrace;
import org.openjdk.jmc.common.item.IItem;
import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.item.IItemIterable;
import org.openjdk.jmc.common.item.IMemberAccessor;
import org.openjdk.jmc.common.item.ItemFilters;
import org.openjdk.jmc.flightrecorder.JfrAttributes;

import dev.hz3.jmc.Hz3Attributes.NativeAllocationSample;
import dev.hz3.jmc.Hz3Attributes.NativeSite;

/**
 * The Java call sites of a recording (agent option attribution=on): each site's hz3.NativeSite
 * events as a series, the periodic rounds those events came in, and each site's most common stack
 * among its hz3.NativeAllocationSample events. Empty when attribution was off.
 */
public record NativeSites(List<SiteSeries> series, List<List<SiteSample>> rounds, Map<String, StackCount> stacks,
        long allocationSamples) {

    /** hz3.NativeAllocationSample's source: what Java saw at the entry point, sampled by the agent. */
    public static final String SOURCE_AGENT = "agent";

    /** Frames of a stack kept for display, from the allocating call outwards. */
    public static final int STACK_FRAMES = 12;

    /** Packages of the frames that commit a sample, left off the top of a stack shown. */
    static final List<String> RECORDING_FRAMES = List.of("jdk.jfr.", "dev.hz3.agent.", "dev.hz3.jfr.");

    /**
     * A site's most common stack (frames innermost first) and how many of its samples had it,
     * among the samples of one source (hz3.NativeAllocationSample's {@code source}).
     */
    public record StackCount(List<String> frames, long samples, long siteSamples, String source) {
    }

    public boolean isEmpty() {
        return rounds.isEmpty();
    }

    /** True when hz3 filled in pinned pages in some event (it is the malloc). */
    public boolean hasPinning() {
        return rounds.stream().flatMap(List::stream).anyMatch(SiteSample::hasPinning);
    }

    /** Pinned bytes of a round, all its sites (those hz3 filled in). */
    public static long pinnedBytes(List<SiteSample> round) {
        return round.stream().filter(SiteSample::hasPinning).mapToLong(SiteSample::pinnedBytes).sum();
    }

    public static NativeSites of(IItemCollection items) {
        List<SiteSample> all = new ArrayList<>();
        for (IItemIterable ii : items.apply(ItemFilters.type(NativeSite.TYPE))) {
            Fields f = new Fields(ii.getType());
            for (IItem i : ii) {
                all.add(new SiteSample(f.timeNanos(i), (int) f.count(i, NativeSite.RANK), f.text(i, NativeSite.SITE),
                        f.text(i, NativeSite.KIND), f.text(i, NativeSite.ENTRY), f.bytes(i, NativeSite.LIVE_BYTES),
                        f.count(i, NativeSite.LIVE_SAMPLES), f.count(i, NativeSite.OLDEST_AGE),
                        f.bytes(i, NativeSite.GROWTH_BYTES), f.bytes(i, NativeSite.SAMPLE_BYTES),
                        f.has(NativeSite.NATIVE_LIVE_BYTES) ? f.bytes(i, NativeSite.NATIVE_LIVE_BYTES) : -1,
                        f.has(NativeSite.PINNED_PAGES) ? f.count(i, NativeSite.PINNED_PAGES) : -1,
                        f.has(NativeSite.PINNED_BYTES) ? f.bytes(i, NativeSite.PINNED_BYTES) : -1));
            }
        }
        all.sort(Comparator.comparingLong(SiteSample::timeNanos).thenComparingInt(SiteSample::rank));
        // One periodic round is committed rank 1, 2, ... in one go: a rank not above the last one
        // starts the next round.
        List<List<SiteSample>> rounds = new ArrayList<>();
        List<SiteSample> round = null;
        for (SiteSample s : all) {
            if (round == null || s.rank() <= round.get(round.size() - 1).rank()) {
                round = new ArrayList<>();
                rounds.add(round);
            }
            round.add(s);
        }
        Map<String, List<SiteSample>> bySite = new LinkedHashMap<>();
        for (SiteSample s : all) {
            bySite.computeIfAbsent(s.key(), k -> new ArrayList<>()).add(s);
        }
        List<SiteSeries> series = new ArrayList<>();
        for (List<SiteSample> l : bySite.values()) {
            SiteSample s = l.get(0);
            series.add(new SiteSeries(s.site(), s.kind(), s.entry(), List.copyOf(l)));
        }
        // Stacks are counted per source: the agent's samples and hz3's sample the same bytes where
        // Java sees the malloc (Unsafe), so a count over both would count those calls twice. A
        // site's stack is from the agent's samples (one per sampled Java call, under any malloc),
        // or from hz3's when the agent sampled none of its calls (a JNI library's mallocs).
        Map<String, StackCount> stacks = new HashMap<>();
        long count = 0;
        Map<String, Map<String, Map<List<String>, Long>>> perSite = new HashMap<>();
        for (IItemIterable ii : items.apply(ItemFilters.type(NativeAllocationSample.TYPE))) {
            Fields f = new Fields(ii.getType());
            IMemberAccessor<IMCStackTrace, IItem> trace = JfrAttributes.EVENT_STACKTRACE.getAccessor(ii.getType());
            boolean hasSource = f.has(NativeAllocationSample.SOURCE);
            for (IItem i : ii) {
                count++;
                String key = f.text(i, NativeAllocationSample.SITE) + " (" + f.text(i, NativeAllocationSample.KIND) + ")";
                String source = hasSource ? f.text(i, NativeAllocationSample.SOURCE) : null;
                if (source == null || source.isBlank()) {
                    source = SOURCE_AGENT;   // recorded before hz3 sampled on its own
                }
                List<String> frames = trace == null ? List.of() : frames(trace.getMember(i));
                perSite.computeIfAbsent(key, k -> new HashMap<>()).computeIfAbsent(source, k -> new HashMap<>())
                        .merge(frames, 1L, Long::sum);
            }
        }
        for (var e : perSite.entrySet()) {
            Map<String, Map<List<String>, Long>> bySource = e.getValue();
            String source = bySource.containsKey(SOURCE_AGENT) ? SOURCE_AGENT
                    : bySource.keySet().stream().sorted().findFirst().orElseThrow();
            Map<List<String>, Long> counts = bySource.get(source);
            long total = counts.values().stream().mapToLong(Long::longValue).sum();
            var top = counts.entrySet().stream().max(Map.Entry.<List<String>, Long>comparingByValue()
                    .thenComparing(x -> String.join("\n", x.getKey()))).orElseThrow();
            stacks.put(e.getKey(), new StackCount(top.getKey(), top.getValue(), total, source));
        }
        return new NativeSites(List.copyOf(series), List.copyOf(rounds), Map.copyOf(stacks), count);
    }

    /** "java.util.zip.Deflater.<init>:89", innermost first, at most STACK_FRAMES. */
    private static List<String> frames(IMCStackTrace trace) {
        if (trace == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (IMCFrame fr : trace.getFrames()) {
            if (out.size() == STACK_FRAMES) {
                break;
            }
            IMCMethod m = fr.getMethod();
            String type = m == null || m.getType() == null ? "?" : m.getType().getFullName();
            if (out.isEmpty() && RECORDING_FRAMES.stream().anyMatch(type::startsWith)) {
                continue;   // the agent's and JFR's own frames above the allocating call
            }
            String name = m == null ? "?" : m.getMethodName();
            Integer line = fr.getFrameLineNumber();
            out.add(type + "." + name + (line != null && line >= 0 ? ":" + line : ""));
        }
        return List.copyOf(out);
    }
}
