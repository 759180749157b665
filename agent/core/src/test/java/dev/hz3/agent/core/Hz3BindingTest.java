package dev.hz3.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.CallbackThreadInitializer;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import dev.hz3.agent.core.jfr.SnapshotEvents;
import dev.hz3.agent.core.nat.Hz3Lib;
import dev.hz3.agent.core.nat.Hz3Structs;
import dev.hz3.agent.core.nat.Jna;
import dev.hz3.agent.core.nat.Malloc;
import dev.hz3.jfr.CHeader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The JNA binding against the real libhz3.so, which surefire preloads into this test JVM (see
 * agent/core/pom.xml). Keep in sync: the structures' fields against hz3.h, and their sizes
 * against what the library itself reports.
 */
class Hz3BindingTest {

    private static CHeader header;
    private static Malloc malloc;

    @BeforeAll
    static void bind() throws Exception {
        header = CHeader.parse(CHeader.hz3Header());
        Jna.init(null);
        malloc = Malloc.detect(Recorder.REQUIRED_HZ3);
        assertEquals(Malloc.Hz3Status.ACTIVE, malloc.hz3, () -> "this test JVM should run on"
                + " libhz3.so (surefire sets LD_PRELOAD; is native-hz3/target/lib/libhz3.so"
                + " built?): " + malloc.describe() + ", LD_PRELOAD=" + System.getenv("LD_PRELOAD"));
        Hz3Lib.bind();
    }

    @Test
    void structFieldsAreHz3hFieldsInOrder() {
        assertFields("hz3_stats", new Hz3Structs.Stats());
        assertFields("hz3_tier_census", new Hz3Structs.TierCensus());
        assertFields("hz3_class_census", new Hz3Structs.ClassCensus());
        assertFields("hz3_snapshot", new Hz3Structs.Snapshot());
        assertFields("hz3_epoch_info", new Hz3Structs.EpochInfo());
    }

    @Test
    void constantsMatchHz3h() {
        assertEquals(Hz3Structs.Snapshot.TIERS, header.defineNumber("HZ3_CENSUS_TIERS"));
        assertEquals(Hz3Structs.Snapshot.CLASSES, header.defineNumber("HZ3_CENSUS_CLASSES"));
        assertEquals(Hz3Structs.Snapshot.TOP_N, header.defineNumber("HZ3_TOP_N"));
        assertEquals(Hz3Structs.Snapshot.VERSION, header.defineNumber("HZ3_SNAPSHOT_VERSION"));
        assertEquals('"' + Recorder.REQUIRED_HZ3 + '"', header.define("HZ3_VERSION_STRING"));
        Map<String, Long> kinds = header.enumMembers("hz3_event_kind");
        assertEquals(Hz3Lib.EVENT_EPOCH, kinds.get("HZ3_EVENT_EPOCH").intValue());
        assertEquals(Hz3Lib.EVENT_SNAPSHOT, kinds.get("HZ3_EVENT_SNAPSHOT").intValue());
    }

    /** hz3 sets out->size = sizeof(struct): it must be the size JNA lays the structure out to. */
    @Test
    void sizesAreWhatLibhz3Reports() {
        Hz3Structs.Snapshot s = new Hz3Structs.Snapshot();
        int jnaSize = s.size();
        s.size = jnaSize;
        s.writeField("size");
        assertEquals(0, Hz3Lib.hz3_obs_snapshot(s));
        s.read();
        assertEquals(jnaSize, s.size, "sizeof(struct hz3_snapshot)");
        assertEquals(Hz3Structs.Snapshot.VERSION, s.version);

        Hz3Structs.Snapshot small = new Hz3Structs.Snapshot();
        small.size = jnaSize - 8;
        small.writeField("size");
        assertEquals(-1, Hz3Lib.hz3_obs_snapshot(small), "a too small size is refused");

        Hz3Structs.Stats st = Hz3Lib.stats();
        assertNotNull(st);
        assertEquals(new Hz3Structs.Stats().size(), st.size, "sizeof(struct hz3_stats)");
    }

    @Test
    void snapshotKeepsTheCensusInvariants() {
        Hz3Structs.Snapshot s = Hz3Lib.snapshot();
        assertNotNull(s);
        assertEquals(1, s.exact);
        assertEquals(s.seq_first, s.seq_last);
        for (int t = 0; t < Hz3Structs.Snapshot.TIERS; t++) {
            Hz3Structs.TierCensus c = s.tier[t];
            long states = 0;
            long buckets = 0;
            for (int k = 0; k < 5; k++) {
                states += c.pages[k];
                buckets += c.occ[k];
            }
            assertEquals(c.pages_total, states, "tier " + t + ": states add up to the total");
            assertEquals(c.pages[2] + c.pages[3] + c.pages[4], buckets,
                    "tier " + t + ": buckets add up to the resident pages");
        }
        // The agent ranks classes as hz3 does: its first five are hz3's top_partial_sc.
        List<Integer> top = SnapshotEvents.topByPartialPages(s, 64);
        for (int r = 0; r < Hz3Structs.Snapshot.TOP_N; r++) {
            int hz3 = s.top_partial_sc[r];
            assertEquals(hz3 == -1 ? null : hz3, r < top.size() ? top.get(r) : null, "rank " + r);
        }
    }

    @Test
    void configByName() {
        long before = Hz3Lib.hz3_config_get("snapshot_min_ms");
        assertEquals(0, Hz3Lib.hz3_config_set("snapshot_min_ms", 1234));
        assertEquals(1234, Hz3Lib.hz3_config_get("snapshot_min_ms"));
        assertEquals(-1, Hz3Lib.hz3_config_set("no_such_setting", 1));
        assertEquals(0, Hz3Lib.hz3_config_set("snapshot_min_ms", before));
    }

    /** The listener runs on hz3's thread, attached to the JVM once as one named daemon thread. */
    @Test
    void listenerRunsOnOneAttachedThread() throws Exception {
        CountDownLatch forced = new CountDownLatch(3);
        Set<Thread> threads = ConcurrentHashMap.newKeySet();
        List<Long> seqs = new ArrayList<>();
        Hz3Lib.Listener l = new Hz3Lib.Listener() {
            @Override
            public void invoke(Pointer ctx, int kind, Pointer data) {
                threads.add(Thread.currentThread());
                if (kind == Hz3Lib.EVENT_EPOCH) {
                    Hz3Structs.EpochInfo e = new Hz3Structs.EpochInfo(data);
                    synchronized (seqs) {
                        seqs.add(e.seq);
                    }
                    if (e.reason == 2) {   // HZ3_EPOCH_FORCED
                        forced.countDown();
                    }
                }
            }
        };
        Native.setCallbackThreadInitializer(l, new CallbackThreadInitializer(true, false, "hz3-epoch"));
        assertEquals(0, Hz3Lib.hz3_obs_set_listener(l, null));
        try {
            for (int i = 0; i < 3; i++) {
                Hz3Lib.hz3_epoch_force();
            }
            assertTrue(forced.await(20, TimeUnit.SECONDS), "three forced epochs reach the listener");
        } finally {
            Hz3Lib.hz3_obs_set_listener(null, null);
        }
        assertEquals(1, threads.size(), () -> "threads: " + threads);
        Thread t = threads.iterator().next();
        assertEquals("hz3-epoch", t.getName());
        assertTrue(t.isDaemon());
        synchronized (seqs) {
            for (int i = 1; i < seqs.size(); i++) {
                assertTrue(seqs.get(i) > seqs.get(i - 1), "epoch numbers increase: " + seqs);
            }
        }
    }

    private static void assertFields(String struct, Structure s) {
        List<String> c = header.struct(struct).stream().map(CHeader.Field::name)
                .collect(Collectors.toList());
        assertEquals(c, fieldOrder(s), "struct " + struct + " (keep in sync with hz3.h)");
    }

    private static List<String> fieldOrder(Structure s) {
        Structure.FieldOrder fo = s.getClass().getAnnotation(Structure.FieldOrder.class);
        return List.of(fo.value());
    }
}
