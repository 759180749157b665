package dev.hz3.jmc.census;

/**
 * An hz3.ProcessMemory event: javaHeap + threadStacks + hz3 + fileMappings + otherMappings = rss;
 * jvmOther and directBuffers are the JVM's own accounts, which overlap those parts.
 */
public record ProcessMemorySample(long timeNanos, long rss, long javaHeap, long threadStacks, long hz3,
        long fileMappings, long otherMappings, long jvmOther, long directBuffers, long cgroupUsage,
        long cgroupLimit) {
}
