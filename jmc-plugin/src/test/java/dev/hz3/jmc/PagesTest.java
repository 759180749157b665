package dev.hz3.jmc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openjdk.jmc.common.IState;
import org.openjdk.jmc.common.item.Aggregators;
import org.openjdk.jmc.common.item.IAttribute;
import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.item.IItemFilter;
import org.openjdk.jmc.common.item.IItemIterable;
import org.openjdk.jmc.common.item.ItemFilters;
import org.openjdk.jmc.common.item.PersistableItemFilter;
import org.openjdk.jmc.common.unit.KindOfQuantity;
import org.openjdk.jmc.common.unit.LinearKindOfQuantity;
import org.openjdk.jmc.common.util.StateToolkit;

import dev.hz3.jmc.SyntheticRecording.SizeClass;
import dev.hz3.jmc.SyntheticRecording.Tier;
import dev.hz3.jfr.NativeAllocationSampleEvent;
import dev.hz3.jfr.NativeSiteEvent;
import jdk.jfr.Recording;

/**
 * pages.xml read as JMC reads it (StateToolkit, PersistableItemFilter) and checked against a
 * recording that the jfr-events classes made, spanning two chunks: each page's filter keeps exactly
 * its events, in one event array (JMC line-charts only then), and every column, chart series,
 * histogram column and group names an attribute that the recording's type has, with the content
 * type the id says, of a kind JMC can chart or aggregate.
 */
class PagesTest {

    static IState pages;
    static IItemCollection items;
    static final Set<String> AGGREGATES = Set.of("SUM", "AVG", "MIN", "MAX", "STDDEVP");
    static final Map<String, Long> TIER_EVENTS = new HashMap<>();
    static final String SITES_PAGE = "dev.hz3.jmc.nativesites";

    @BeforeAll
    static void load() throws Exception {
        pages = StateToolkit.fromXMLFile(new File("src/main/resources/pages.xml"));
        try (SyntheticRecording r = SyntheticRecording.start()) {
            List<Tier> tiers = List.of(Tier.of("small", 5, 3000, 400, 2900), Tier.of("sub4k", 1, 20, 3, 10),
                    Tier.of("medium", 2, 0, 300, 0), Tier.of("large", 0, 0, 40, 0), Tier.of("free", 90, 0, 0, 0));
            List<SizeClass> classes = List.of(new SizeClass(19, 1024, "small", 900, 890),
                    new SizeClass(18, 896, "small", 800, 700));
            r.census(tiers, classes, -1);
            r.processMemory(300 << 20, 60 << 20, 1 << 20, 100 << 20, 40 << 20);
            try (Recording other = new Recording()) { // starting a recording begins a new chunk
                other.start();
                r.census(tiers, classes, -1);
                other.stop();
            }
            r.census(tiers, classes, -1);
            for (int round = 0; round < 2; round++) {
                site(1, "com.example.Cache.fill:30", "direct buffer", 64L << 20);
                site(2, "com.example.Codec.open:12", "deflater", 8L << 20);
                sample("com.example.Cache.fill:30", "direct buffer", 77_777, "agent");
                // hz3's samples of zlib's mallocs inside Codec.open's Deflaters, and of the same
                // direct buffer's malloc as the agent's sample above (both sample it)
                sample("com.example.Codec.open:12", "deflater", 65_536, "hz3");
                sample("com.example.Cache.fill:30", "direct buffer", 77_777, "hz3");
            }
            items = r.load();
            tiers.forEach(t -> TIER_EVENTS.put(t.name(), 3L));
        }
    }

    /** The site events of the Native Call Sites page: 4 hz3.NativeSite, 2 hz3.NativeAllocationSample of the agent's. */
    static final long SITE_EVENTS = 6;
    /** hz3's own samples: the page below Native Call Sites. */
    static final String HZ3_SAMPLES_PAGE = SITES_PAGE + ".hz3";
    static final long HZ3_SAMPLES = 4;

    static void site(int rank, String site, String kind, long live) {
        NativeSiteEvent e = new NativeSiteEvent();
        e.rank = rank;
        e.site = site;
        e.kind = kind;
        e.entry = "java.nio.ByteBuffer.allocateDirect";
        e.liveBytes = live;
        e.liveSamples = 10;
        e.oldestAge = 5_000_000_000L;
        e.growthBytes = live / 4;
        e.sampleBytes = 512 << 10;
        e.pinnedPages = 100;
        e.pinnedBytes = 100 * 4096;
        e.commit();
    }

    static void sample(String site, String kind, long size, String source) {
        NativeAllocationSampleEvent e = new NativeAllocationSampleEvent();
        e.address = 0x7f0000000000L;
        e.size = size;
        e.weight = 2 * size;
        e.kind = kind;
        e.site = site;
        e.source = source;
        if (source.equals("hz3")) {
            e.tier = "medium";
            e.sizeClass = 30;
        } else {
            e.sizeClass = -1;
        }
        e.commit();
    }

    /** Every page element, depth first. */
    static List<IState> allPages() {
        List<IState> out = new ArrayList<>();
        collect(pages, out);
        return out;
    }

    private static void collect(IState s, List<IState> out) {
        for (IState p : s.getChildren("page")) {
            out.add(p);
            collect(p, out);
        }
    }

    static IItemCollection filtered(IState page) {
        IState state = page.getChild("state");
        IItemFilter filter = PersistableItemFilter.readFrom(state.getChild("pageFilter"));
        assertNotNull(filter, page.getAttribute("id"));
        return items.apply(filter);
    }

    /** JMC's column ids (ItemList.getColumnId: attribute id ':' content type id) of the page's events. */
    static Map<String, IAttribute<?>> columns(IItemCollection filtered) {
        Map<String, IAttribute<?>> m = new HashMap<>();
        for (IItemIterable ii : filtered) {
            if (!ii.hasItems()) {
                continue;
            }
            for (IAttribute<?> a : ii.getType().getAttributes()) {
                m.put(a.getIdentifier() + ':' + a.getContentType().getIdentifier(), a);
            }
        }
        return m;
    }

    @Test
    void filtersKeepExactlyTheirEventsInOneArray() {
        for (IState page : allPages()) {
            String id = page.getAttribute("id");
            IItemCollection f = filtered(page);
            List<IItemIterable> arrays = new ArrayList<>();
            f.forEach(ii -> {
                if (ii.hasItems()) {
                    arrays.add(ii);
                }
            });
            long n = f.getAggregate(Aggregators.count()).longValue();
            if (id.equals(SITES_PAGE)) {
                // Both types, so that a selected site brings its samples' stack traces along.
                assertEquals(SITE_EVENTS, n);
                assertEquals(Set.of(Hz3Attributes.NativeSite.TYPE, Hz3Attributes.NativeAllocationSample.TYPE),
                        Set.copyOf(arrays.stream().map(a -> a.getType().getIdentifier()).toList()));
                assertEquals(null, page.getChild("state").getChild("listAndChart").getChild("chartSettings"),
                        "two event arrays: JMC would draw no line chart");
                continue;
            }
            assertEquals(1, arrays.size(), id + ": JMC draws line charts only for one event array");
            if (id.equals(HZ3_SAMPLES_PAGE)) {
                assertEquals(HZ3_SAMPLES, n);
                assertEquals(Hz3Attributes.NativeAllocationSample.TYPE, arrays.get(0).getType().getIdentifier());
            } else if (id.startsWith("dev.hz3.jmc.nativeheap.")) {
                String tier = id.substring("dev.hz3.jmc.nativeheap.".length());
                assertEquals(TIER_EVENTS.get(tier), n, id);
                assertEquals(n, items.apply(ItemFilters.and(ItemFilters.type(Hz3Attributes.TierOccupancy.TYPE),
                        ItemFilters.equals(
                                org.openjdk.jmc.common.item.Attribute.attr(Hz3Attributes.TierOccupancy.TIER, "tier",
                                        org.openjdk.jmc.common.unit.UnitLookup.PLAIN_TEXT),
                                tier)))
                        .getAggregate(Aggregators.count()).longValue());
            } else if (id.equals("dev.hz3.jmc.nativeheap")) {
                assertEquals(15, n);
                assertEquals(Hz3Attributes.TierOccupancy.TYPE, arrays.get(0).getType().getIdentifier());
            } else {
                assertEquals(6, n);
                assertEquals(Hz3Attributes.PartialSizeClass.TYPE, arrays.get(0).getType().getIdentifier());
            }
        }
    }

    @Test
    void everyColumnSeriesAndGroupExists() {
        List<String> problems = new ArrayList<>();
        for (IState page : allPages()) {
            String id = page.getAttribute("id");
            IState state = page.getChild("state");
            IItemCollection f = filtered(page);
            List<String> known = new ArrayList<>();
            f.forEach(ii -> known.addAll(Hz3Attributes.FIELDS.get(ii.getType().getIdentifier())));
            Map<String, IAttribute<?>> cols = columns(f);
            List<String> fieldsNamed = new ArrayList<>();

            IState lac = state.getChild("listAndChart");
            assertNotNull(lac, id + " has no listAndChart preset");
            IState list = lac.getChild("listSettings");
            assertNotNull(list, id);
            List<String> listIds = new ArrayList<>();
            for (IState c : list.getChildren("column")) {
                String cid = c.getAttribute("id");
                listIds.add(cid);
                if (isOldBucketId(cid)) {
                    continue;   // for recordings made before the rename: OldBucketIdsTest
                }
                if (!cols.containsKey(cid)) {
                    problems.add(id + ": list column " + cid + " (type has " + cols.keySet() + ")");
                }
                fieldsNamed.add(cid.substring(0, cid.indexOf(':')));
            }
            assertTrue(listIds.contains(list.getAttribute("sortColumn")), id + " sorts on a listed column");
            IState chart = lac.getChild("chartSettings");
            if (chart != null && chart.getAttribute("lineChartAttributes") != null) {
                for (String cid : chart.getAttribute("lineChartAttributes").split(",")) {
                    if (isOldBucketId(cid)) {
                        continue;
                    }
                    IAttribute<?> a = cols.get(cid);
                    if (a == null) {
                        problems.add(id + ": chart series " + cid);
                    } else if (!(a.getContentType() instanceof LinearKindOfQuantity)) {
                        problems.add(id + ": chart series " + cid + " is not a quantity JMC can chart");
                    } else {
                        fieldsNamed.add(a.getIdentifier());
                    }
                }
            }
            IState histogram = state.getChild("histogram");
            IState sash = state.getChild("histogramSash");
            if (sash != null) {
                // JMC applies the weights only when there is one per part: the grouped table and the list.
                assertNotNull(histogram, id + ": histogramSash without a histogram");
                assertEquals(2, sash.getAttribute("weights").split(",").length, id);
            }
            if (histogram != null) {
                String group = histogram.getAttribute("groupBy");
                if (cols.values().stream().noneMatch(a -> a.getIdentifier().equals(group))) {
                    problems.add(id + ": groupBy " + group);
                }
                fieldsNamed.add(group);
                IState table = histogram.getChild("table");
                List<String> tableIds = new ArrayList<>();
                for (IState c : table.getChildren("column")) {
                    String cid = c.getAttribute("id");
                    tableIds.add(cid);
                    if (cid.equals("itemhistogram.key") || cid.equals("itemhistogram.count")) {
                        continue;
                    }
                    String prefix = AGGREGATES.stream().filter(cid::startsWith).findFirst().orElse(null);
                    IAttribute<?> a = prefix == null ? null : cols.get(cid.substring(prefix.length()));
                    if (a == null) {
                        problems.add(id + ": histogram column " + cid);
                    } else if (!(a.getContentType() instanceof KindOfQuantity)
                            || ((prefix.equals("SUM") || prefix.equals("STDDEVP"))
                                    && !(a.getContentType() instanceof LinearKindOfQuantity))) {
                        problems.add(id + ": histogram column " + cid + " cannot be aggregated by JMC");
                    } else {
                        fieldsNamed.add(a.getIdentifier());
                    }
                }
                assertTrue(tableIds.contains(table.getAttribute("sortColumn")), id);
            }
            // Every event field a page names is one of Hz3Attributes (and so checked against jfr-events).
            for (String field : fieldsNamed) {
                if (!field.equals("startTime") && !known.contains(field)) {
                    problems.add(id + ": field " + field + " is not in Hz3Attributes.FIELDS");
                }
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    /** A column id of a bucket under the id it had before (occ0:number ...), which new recordings lack. */
    static boolean isOldBucketId(String columnId) {
        return Hz3Attributes.OCC_BUCKETS_BEFORE.contains(columnId.substring(0, columnId.indexOf(':')));
    }

    /**
     * JMC heads a list column with its field's label, cut to the column's width: the buckets were
     * "Occupancy 0%" ... "Occupancy (75, 100%]" and all read "Occupancy", like the percentage.
     * Every page's columns must have distinct labels, the buckets short ones.
     */
    @Test
    void columnLabelsAreDistinctAndTheBucketsShort() {
        for (IState page : allPages()) {
            String id = page.getAttribute("id");
            Map<String, IAttribute<?>> cols = columns(filtered(page));
            List<String> labels = new ArrayList<>();
            for (IState c : page.getChild("state").getChild("listAndChart").getChild("listSettings")
                    .getChildren("column")) {
                if (isOldBucketId(c.getAttribute("id"))) {
                    continue;
                }
                IAttribute<?> a = cols.get(c.getAttribute("id"));
                labels.add(a.getName());
                if (Hz3Attributes.OCC_BUCKETS.contains(a.getIdentifier())) {
                    assertTrue(a.getName().length() <= 6, id + ": bucket label " + a.getName());
                }
            }
            assertEquals(labels.size(), Set.copyOf(labels).size(), id + ": labels " + labels);
        }
        assertEquals(List.of("0%", "\u226425%", "25-50%", "50-75%", ">75%"), Hz3Attributes.OCC_BUCKETS.stream()
                .map(f -> columns(filtered(allPages().get(0))).get(f + ":number").getName()).toList());
    }

    /**
     * JMC lists a result on every page naming its rule's topic and marks the page with the worst
     * severity there, N/A above WARNING: each hz3 rule's result belongs on one page (the one it is
     * about), no tier page repeats it, and the glibc rule (N/A on hz3 recordings) is on none.
     */
    @Test
    void eachRuleResultIsOnOnePageAndGlibcOnNone() {
        Map<String, List<String>> pagesOfTopic = new HashMap<>();
        for (IState page : allPages()) {
            for (IState t : page.getChild("state").getChildren("topic")) {
                pagesOfTopic.computeIfAbsent(t.getAttribute("value"), k -> new ArrayList<>())
                        .add(page.getAttribute("id"));
            }
        }
        Map<String, String> expected = Map.of(
                "Hz3NativeHeapFragmentation", "dev.hz3.jmc.nativeheap",
                "Hz3ReturnableNativeMemory", "dev.hz3.jmc.nativeheap",
                "Hz3SizeClassHotSpots", "dev.hz3.jmc.partialsizeclasses",
                "Hz3NativeMemoryGrowth", SITES_PAGE,
                "Hz3PinnedNativePages", SITES_PAGE);
        for (org.openjdk.jmc.flightrecorder.rules.IRule r : dev.hz3.jmc.rules.Hz3Rules.all()) {
            List<String> on = pagesOfTopic.getOrDefault(r.getTopic(), List.of());
            if (r.getId().equals("Hz3GlibcHeap")) {
                assertTrue(on.isEmpty(), "glibc's N/A would hide warnings on " + on);
            } else {
                assertEquals(List.of(expected.get(r.getId())), on, r.getId());
            }
        }
        assertEquals(Set.of(Hz3Attributes.TOPIC_NATIVE_HEAP, Hz3Attributes.TOPIC_SIZE_CLASSES,
                Hz3Attributes.TOPIC_NATIVE_SITES), pagesOfTopic.keySet());
    }

    /**
     * What JMC's Stack Trace view and flame graph are given when a site's row of the Native Call
     * Sites table is selected: that site's events of both types, the samples with their stacks.
     */
    @Test
    void aSelectedSiteBringsItsSamplesStackTraces() {
        IState page = allPages().stream().filter(p -> p.getAttribute("id").equals(SITES_PAGE)).findFirst()
                .orElseThrow();
        String group = page.getChild("state").getChild("histogram").getAttribute("groupBy");
        IItemCollection row = filtered(page).apply(ItemFilters.equals(
                org.openjdk.jmc.common.item.Attribute.attr(group, group,
                        org.openjdk.jmc.common.unit.UnitLookup.PLAIN_TEXT), "com.example.Cache.fill:30"));
        long stacks = 0;
        long sites = 0;
        for (IItemIterable ii : row) {
            var trace = org.openjdk.jmc.flightrecorder.JfrAttributes.EVENT_STACKTRACE.getAccessor(ii.getType());
            for (var item : ii) {
                if (ii.getType().getIdentifier().equals(Hz3Attributes.NativeAllocationSample.TYPE)) {
                    assertNotNull(trace.getMember(item), "a sample without its stack trace");
                    assertTrue(trace.getMember(item).getFrames().stream()
                            .anyMatch(f -> f.getMethod().getMethodName().equals("sample")), "the committing frame");
                    stacks++;
                } else {
                    sites++;
                }
            }
        }
        assertEquals(2, stacks);
        assertEquals(2, sites);
    }

    /**
     * The two sources of samples sample the same bytes where Java sees the malloc: a site's row
     * sums the agent's alone (its weights estimate the site's live bytes), and hz3's own samples
     * are grouped by site on the page below, never in the same sum.
     */
    @Test
    void eachPageSumsTheSamplesOfOneSource() {
        IAttribute<String> source = org.openjdk.jmc.common.item.Attribute.attr(
                Hz3Attributes.NativeAllocationSample.SOURCE, "source", org.openjdk.jmc.common.unit.UnitLookup.PLAIN_TEXT);
        Map<String, Set<String>> sourcesByPage = new HashMap<>();
        for (String id : List.of(SITES_PAGE, HZ3_SAMPLES_PAGE)) {
            IState page = allPages().stream().filter(p -> p.getAttribute("id").equals(id)).findFirst().orElseThrow();
            Set<String> seen = new java.util.TreeSet<>();
            for (IItemIterable ii : filtered(page).apply(ItemFilters.type(Hz3Attributes.NativeAllocationSample.TYPE))) {
                var acc = source.getAccessor(ii.getType());
                ii.forEach(i -> seen.add(acc.getMember(i)));
            }
            sourcesByPage.put(id, seen);
        }
        assertEquals(Map.of(SITES_PAGE, Set.of("agent"), HZ3_SAMPLES_PAGE, Set.of("hz3")), sourcesByPage);
        IState hz3 = allPages().stream().filter(p -> p.getAttribute("id").equals(HZ3_SAMPLES_PAGE)).findFirst()
                .orElseThrow();
        assertEquals("site", hz3.getChild("state").getChild("histogram").getAttribute("groupBy"));
    }

    @Test
    void pageTitlesAreTheIssuesNames() {
        List<String> titles = List.of(pages.getChildren("page")).stream()
                .map(p -> p.getChild("state").getAttribute("defaultName")).toList();
        assertEquals(List.of("Native Heap (hz3)", "Partial Size Classes (hz3)", "Native Call Sites (hz3)"), titles);
        assertFalse(allPages().isEmpty());
    }
}
