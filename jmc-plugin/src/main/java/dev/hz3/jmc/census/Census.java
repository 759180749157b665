package dev.hz3.jmc.census;

import java.util.List;
import java.util.Optional;

/**
 * One snapshot of hz3's heap: the hz3.TierOccupancy and hz3.PartialSizeClass events that carry the
 * same seqLast, and the hz3.Snapshot event of that sequence when the recording has it. Classes are
 * ordered by rank.
 */
public record Census(long seqLast, long timeNanos, List<TierCensus> tiers, List<ClassCensus> classes,
        Optional<SnapshotInfo> snapshot) {

    /**
     * At most 1% of the pages changed hands while the census ran (hz3.Snapshot's consistent,
     * else its tiers'). An inconsistent sweep may count spans before and after they moved: rules
     * and the report use it only when a recording has no consistent census.
     */
    public boolean consistent() {
        return snapshot.map(SnapshotInfo::consistent)
                .orElseGet(() -> tiers.stream().allMatch(TierCensus::consistent));
    }

    public Optional<TierCensus> tier(String name) {
        return tiers.stream().filter(t -> t.tier().equals(name)).findFirst();
    }

    public long pagesPartial() {
        return tiers.stream().mapToLong(TierCensus::pagesPartial).sum();
    }

    /** Resident empty pages of every tier, in bytes: what could be decommitted now. */
    public long candidateBytes() {
        return tiers.stream().mapToLong(TierCensus::candidateBytes).sum();
    }

    /**
     * What hz3 holds in RAM: the snapshot's census-resident bytes (segment pages, headers,
     * metadata, large objects), else the tiers' resident bytes.
     */
    public long residentBytes() {
        return snapshot.map(SnapshotInfo::censusResidentBytes).filter(b -> b > 0)
                .orElseGet(() -> tiers.stream().mapToLong(TierCensus::residentBytes).sum());
    }

    public List<ClassCensus> classesOf(String tier) {
        return classes.stream().filter(c -> c.tier().equals(tier)).toList();
    }
}
