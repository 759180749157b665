package dev.hz3.jmc.census;

/**
 * An hz3.Epoch event: one run of hz3's maintenance, why it ran (timer, slow_path, purge, ...) and
 * the 4 KiB pages it gave back to the system.
 */
public record EpochSample(long timeNanos, String reason, long pagesPurged) {
}
