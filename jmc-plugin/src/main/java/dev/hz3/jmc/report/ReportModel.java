package dev.hz3.jmc.report;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.item.IItemIterable;
import org.openjdk.jmc.common.item.ItemFilters;
import org.openjdk.jmc.common.unit.IQuantity;
import org.openjdk.jmc.common.unit.UnitLookup;
import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.util.RulesToolkit;

import dev.hz3.jmc.census.Census;
import dev.hz3.jmc.census.Fields;
import dev.hz3.jmc.census.Hz3Recording;
import dev.hz3.jmc.census.NativeSites;
import dev.hz3.jmc.rules.Hz3Rules;

/**
 * Everything the report shows, read once from a recording: the hz3 events, the JDK's memory
 * events, the Java call sites of native memory, the rule results, the recording's time span and the JVM's version; and a note on what of
 * the file was left out ("" when all of it was read).
 */
public record ReportModel(String fileName, Hz3Recording recording, JdkMemory jdk, NativeSites sites,
        List<IResult> results, long startMillis, long endMillis, String jvmVersion, String note) {

    /** Reads items and runs the hz3 rules on them (default preferences). */
    public static ReportModel of(String fileName, IItemCollection items) {
        return of(fileName, items, "");
    }

    /** Reads items, the part of the file that was read, which note says. */
    public static ReportModel of(String fileName, IItemCollection items, String note) {
        Hz3Recording recording = Hz3Recording.of(items);
        List<IResult> results = Hz3Rules.evaluate(items, null);
        IQuantity start = items.hasItems() ? RulesToolkit.getEarliestStartTime(items) : null;
        IQuantity end = items.hasItems() ? RulesToolkit.getLatestEndTime(items) : null;
        return new ReportModel(fileName, recording, JdkMemory.of(items), NativeSites.of(items), results,
                start == null ? 0 : start.clampedLongValueIn(UnitLookup.EPOCH_MS),
                end == null ? 0 : end.clampedLongValueIn(UnitLookup.EPOCH_MS), jvmVersion(items), note);
    }

    /**
     * The census the tables show: the one with the most partial pages (the later on ties), among
     * the consistent ones when the recording has any.
     */
    public Optional<Census> tableCensus() {
        return recording.trustedCensuses().stream()
                .max(Comparator.comparingLong(Census::pagesPartial).thenComparingLong(Census::timeNanos));
    }

    /**
     * The JVM ran on glibc's malloc, not hz3: the agent said so, or it recorded glibc's heap and
     * no census. The page then speaks of native memory and malloc, never of hz3 or its tiers.
     */
    public boolean onGlibc() {
        String malloc = recording.allocator().malloc();
        return malloc.equals("glibc")
                || (malloc.isEmpty() && recording.censuses().isEmpty() && !recording.glibc().isEmpty());
    }

    private static String jvmVersion(IItemCollection items) {
        for (IItemIterable ii : items.apply(ItemFilters.type("jdk.JVMInformation"))) {
            Fields f = new Fields(ii.getType());
            for (var i : ii) {
                String v = f.text(i, "jvmVersion");
                // "OpenJDK 64-Bit Server VM (17.0.15+6-Debian-1deb12u1) for linux-amd64 JRE (...)"
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(([0-9][^)]*)\\)").matcher(v);
                if (m.find()) {
                    return "JDK " + m.group(1);
                } else if (!v.isEmpty()) {
                    return v;
                }
            }
        }
        return "";
    }
}
