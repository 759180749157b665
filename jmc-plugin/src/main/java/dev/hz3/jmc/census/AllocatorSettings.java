package dev.hz3.jmc.census;

/**
 * The last hz3.AllocatorInfo event: which malloc the process uses and hz3's maintenance
 * settings. {@code purgeDelayMillis} and {@code epochIntervalMillis} are -1 when unknown.
 */
public record AllocatorSettings(String malloc, String mallocVersion, String hz3Status, long purgeDelayMillis,
        long epochIntervalMillis) {

    static final AllocatorSettings UNKNOWN = new AllocatorSettings("", "", "", -1, -1);
}
