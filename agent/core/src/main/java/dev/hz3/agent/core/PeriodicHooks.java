package dev.hz3.agent.core;

import dev.hz3.agent.core.jfr.GlibcHeapSampler;
import dev.hz3.agent.core.jfr.ProcessMemorySampler;
import dev.hz3.agent.core.jfr.SnapshotEvents;
import dev.hz3.agent.core.nat.Malloc;
import dev.hz3.jfr.AllocatorInfoEvent;
import dev.hz3.jfr.GlibcHeapEvent;
import dev.hz3.jfr.Hz3Events;
import dev.hz3.jfr.ProcessMemoryEvent;
import dev.hz3.jfr.RetentionEvent;
import dev.hz3.jfr.SnapshotEvent;
import java.util.LinkedHashMap;
import java.util.Map;
import jdk.jfr.Event;
import jdk.jfr.FlightRecorder;

/**
 * The agent's JFR periodic hooks, as the malloc allows: hz3.ProcessMemory and hz3.AllocatorInfo
 * always; under hz3, hz3.Snapshot's floor (a census when hz3's listener delivered no consistent
 * one since the hook's last run) and hz3.Retention; under glibc, hz3.GlibcHeap. A hook that
 * throws says so at debug level and JFR goes on. {@link Recorder} adds and removes them under
 * its lock.
 */
final class PeriodicHooks {

    private final Map<Class<? extends Event>, Runnable> hooks = new LinkedHashMap<>();
    private final AllocatorEvents events;
    private final MallocBinding binding;
    private volatile ProcessMemorySampler sampler;

    PeriodicHooks(AllocatorEvents events, MallocBinding binding) {
        this.events = events;
        this.binding = binding;
    }

    /** Adds the hooks for malloc m (the one bound). */
    void add(Malloc m) {
        sampler = new ProcessMemorySampler(m.hz3 == Malloc.Hz3Status.ACTIVE);
        add(ProcessMemoryEvent.class, sampler::commit);
        add(AllocatorInfoEvent.class, this::picture);
        if (m.hz3 == Malloc.Hz3Status.ACTIVE) {
            add(SnapshotEvent.class, events::floor);
            add(RetentionEvent.class, events::commitRetention);
        } else if (m.isGlibc()) {
            add(GlibcHeapEvent.class, GlibcHeapSampler::commit);
        }
    }

    private void add(Class<? extends Event> type, Runnable body) {
        Runnable hook = () -> {
            try {
                body.run();
            } catch (Throwable t) {
                Log.debug("periodic " + type.getSimpleName() + ": " + Log.describe(t));
            }
        };
        FlightRecorder.addPeriodicEvent(type, hook);
        hooks.put(type, hook);
    }

    void removeAll() {
        for (Runnable h : hooks.values()) {
            FlightRecorder.removePeriodicEvent(h);
        }
        hooks.clear();
    }

    /**
     * The whole picture: the allocator's identity (hz3.AllocatorInfo) and, whatever their
     * periods, an exact snapshot, hz3.Retention and hz3.ProcessMemory (or hz3.GlibcHeap).
     * hz3.AllocatorInfo's period is everyChunk, so JFR runs this at the start and end of every
     * chunk: when a recording starts (or rotates), stops, or is dumped (JFR.dump, and the dump
     * at exit, end a chunk). {@link Recorder} runs it itself where JFR does not: on activation,
     * for a recording already running, and on {@code stop} without a recording of its own.
     */
    void picture() {
        Malloc malloc = binding.ifBound();
        events.commitInfo(malloc, binding.jna());
        sampler.commit();   // first: the process as the picture starts, before the census runs
        if (malloc.hz3 == Malloc.Hz3Status.ACTIVE) {
            if (SnapshotEvents.enabled()) {
                events.takeSnapshot(Hz3Events.SOURCE_CHUNK);
            }
            events.commitRetention();
        } else if (malloc.isGlibc()) {
            GlibcHeapSampler.commit();
        }
        AgentCore.nativeSitesAtChunk();
    }
}
