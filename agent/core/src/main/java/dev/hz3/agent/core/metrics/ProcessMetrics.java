package dev.hz3.agent.core.metrics;

import dev.hz3.jfr.ProcessMemoryEvent;

/**
 * The process's memory, as hz3.ProcessMemory splits it: the Rss in parts that add up to it
 * (so {@code sum(hz3_process_rss_bytes)} is the Rss), the JVM's own accounts beside them, and
 * the memory cgroup. Read at each scrape: /proc/self/maps and statm, mincore over the anonymous
 * mappings, and a few MXBeans (ProcessMemorySampler.sample).
 */
final class ProcessMetrics {

    private ProcessMetrics() {
    }

    static void add(Families f, ProcessMemoryEvent e) {
        f.gauge("hz3_process_rss_bytes", "Resident memory of the process by part (java_heap,"
                + " thread_stacks, hz3: the Rss of hz3's mappings, file_mappings, other); the parts add up"
                + " to the Rss")
                .set(e.javaHeap, "part", "java_heap")
                .set(e.threadStacks, "part", "thread_stacks")
                .set(e.hz3, "part", "hz3")
                .set(e.fileMappings, "part", "file_mappings")
                .set(e.otherMappings, "part", "other");
        f.gauge("hz3_jvm_committed_bytes", "The JVM's own accounts: the Java heap committed, and"
                + " the rest (NMT's total less the heap with -XX:NativeMemoryTracking, else the"
                + " non-heap pools)")
                .set(e.javaHeapCommitted, "area", "java_heap")
                .set(e.jvmOther, "area", "jvm_other");
        f.gauge("hz3_direct_buffer_bytes", "Direct buffers (the JDK's direct buffer pool)").set(e.directBuffers);
        f.gauge("hz3_process_threads", "Threads of the process").set(e.threads);
        if (e.cgroup != null && !e.cgroup.isEmpty()) {
            f.gauge("hz3_cgroup_memory_usage_bytes", "Memory charged to the process's cgroup").set(e.cgroupUsage);
            if (e.cgroupLimit > 0) {
                f.gauge("hz3_cgroup_memory_limit_bytes", "The cgroup's memory limit (absent: no limit)")
                        .set(e.cgroupLimit);
            }
        }
    }
}
