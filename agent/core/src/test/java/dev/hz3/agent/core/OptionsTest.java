package dev.hz3.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class OptionsTest {

    @Test
    void defaultsWhenEmpty() {
        Options o = Options.parse(null);
        assertTrue(o.errors().isEmpty());
        assertEquals(Options.Action.START, o.action());
        assertEquals(5, o.integer(Options.Key.TOP));
        assertEquals(1000, o.ms(Options.Key.PERIOD));
        assertEquals(Log.Level.INFO, o.logLevel());
        assertFalse(o.has(Options.Key.TOP));
    }

    @Test
    void valuesAndDurations() {
        Options o = Options.parse("period=250ms, top=64,scanBudget=0,purgeDelay=2s,epochInterval=1m,"
                + "record=/tmp/x.jfr,log=debug,jfc=profile");
        assertEquals(List.of(), o.errors());
        assertEquals(250, o.ms(Options.Key.PERIOD));
        assertEquals(64, o.integer(Options.Key.TOP));
        assertEquals(0, o.integer(Options.Key.SCAN_BUDGET));
        assertEquals(2000, o.ms(Options.Key.PURGE_DELAY));
        assertEquals(60000, o.ms(Options.Key.EPOCH_INTERVAL));
        assertEquals("/tmp/x.jfr", o.get(Options.Key.RECORD));
        assertEquals(Log.Level.DEBUG, o.logLevel());
        assertEquals(3_600_000, Options.durationMs("1h"));
        assertEquals(15, Options.durationMs("15"));
    }

    @Test
    void badValuesAreNamedOnOneLineAndKeepTheDefault() {
        Options o = Options.parse("top=x,top=65,period=2 weeks,log=loud,scanBudget=-1,frob=1,jump");
        assertEquals(List.of(
                "bad option 'top=x': expected a whole number 1..64",
                "bad option 'top=65': expected a whole number 1..64",
                "bad option 'period=2 weeks': expected a duration 0ms..1h, e.g. 500ms, 2s or 1m",
                "bad option 'log=loud': expected off, error, warn, info or debug",
                "bad option 'scanBudget=-1': expected a whole number 0..1048576 (segments the census"
                        + " reads per epoch; 0: no sweeps)",
                "unknown option 'frob=1': known options are period, top, scanBudget, purgeDelay,"
                        + " epochInterval, record, jfc, log, attribution, sampleBytes, sites,"
                        + " nativeMethods, maxage, maxsize, dump, metrics",
                "bad option 'jump': expected key=value or one of start, snapshot, purge, stop"),
                o.errors());
        assertEquals(5, o.integer(Options.Key.TOP));
        assertEquals(1000, o.ms(Options.Key.PERIOD));
        o.errors().forEach(e -> assertFalse(e.contains("\n")));
    }

    @Test
    void attributionOptions() {
        Options o = Options.parse("attribution=on,sampleBytes=1m,sites=3");
        assertTrue(o.errors().isEmpty(), o.errors()::toString);
        assertEquals(1 << 20, o.bytes(Options.Key.SAMPLE_BYTES));
        assertEquals(512 * 1024, Options.parse("").bytes(Options.Key.SAMPLE_BYTES));
        assertEquals("off", Options.parse("").get(Options.Key.ATTRIBUTION));
        assertEquals(List.of("bad option 'attribution=yes': expected on or off (native attribution:"
                + " sampled stacks of Unsafe, direct buffer and zlib allocations)",
                "bad option 'sampleBytes=10': expected a byte count 1k..1g, e.g. 512k or 1m (mean"
                + " bytes between two samples)",
                "bad option 'sites=0': expected a whole number 1..100 (sites per hz3.NativeSite period)"),
                Options.parse("attribution=yes,sampleBytes=10,sites=0").errors());
        assertTrue(Options.parse("nativeMethods=org.rocksdb.*:com.example.Lib$Inner").errors().isEmpty());
        assertEquals(1, Options.parse("nativeMethods=org.rocksdb;rm -rf").errors().size());
    }

    @Test
    void recordingBounds() {
        Options o = Options.parse("maxage=90s,maxsize=2g");
        assertTrue(o.errors().isEmpty(), o.errors()::toString);
        assertEquals(90, Options.ageSeconds(o.get(Options.Key.MAXAGE)));
        assertEquals(2L << 30, o.bytes(Options.Key.MAXSIZE));
        assertEquals(2 * 86_400, Options.ageSeconds("2d"));
        assertEquals(List.of("bad option 'maxage=30': expected a duration 1m..365d, e.g. 30m, 6h or"
                + " 2d (the age of the oldest data record= keeps)",
                "bad option 'maxage=10s': expected a duration 1m..365d, e.g. 30m, 6h or 2d (the age"
                + " of the oldest data record= keeps)",
                "bad option 'maxsize=512k': expected a byte count 1m..1024g, e.g. 100m or 2g (the"
                + " most data record= keeps on disk)"),
                Options.parse("maxage=30,maxage=10s,maxsize=512k").errors());
        assertEquals(Options.Action.DUMP, Options.parse("dump=now.jfr").action());
        assertFalse(Options.parse("top=3").effectiveText().contains("maxsize"));
    }

    @Test
    void actionsAndLayering() {
        Options first = Options.parse("top=3,period=2s");
        Options second = Options.parse("top=7,snapshot,reply=/tmp/r");
        assertEquals(Options.Action.SNAPSHOT, second.action());
        Options merged = first.with(second);
        assertEquals(7, merged.integer(Options.Key.TOP));
        assertEquals(2000, merged.ms(Options.Key.PERIOD));
        assertEquals("top=7", second.givenText());
        assertTrue(merged.effectiveText().startsWith("period=2s,top=7,"));
        assertFalse(first.with(Options.parse("")).has(Options.Key.REPLY));
    }
}
