package dev.hz3.agent.core;

import dev.hz3.agent.core.nat.Malloc;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The lines the agent says about itself: which malloc this is and which events it records, and
 * how to get a recording when none runs.
 */
final class StatusLines {

    private StatusLines() {
    }

    /** Which malloc this is and what the agent records: info under hz3, else a warning. */
    static void announce(Malloc m, String jna) {
        switch (m.hz3) {
            case ACTIVE -> Log.info(m.describe() + "; hz3 events on (" + jna + ")");
            case ABSENT, NOT_MALLOC, REFUSED -> Log.warn(m.describe() + "; only "
                    + onWithoutHz3(m) + " are on (" + jna + ")");
        }
    }

    /**
     * At start-up with no recording to come: one line saying which malloc this is, what the
     * agent would record, and how to get a recording (as an attach says). log=warn hides it.
     */
    static void howToRecord(MallocBinding binding, Path agentJar) {
        if (Log.level().compareTo(Log.Level.INFO) < 0) {
            return;   // quiet: no JNA for a line no one reads
        }
        Malloc m = binding.get();
        Path jfc = agentJar.resolveSibling("hz3.jfc");
        String settings = Files.isRegularFile(jfc) ? jfc.toString()
                : "hz3.jfc (java -jar " + agentJar + " jfc > hz3.jfc)";
        Log.info(m.describe() + "; " + (m.hz3 == Malloc.Hz3Status.ACTIVE ? "hz3 events are"
                : "only " + onWithoutHz3(m) + " are") + " on, but no recording runs: add"
                + " record=FILE.jfr to the agent's options, or -XX:StartFlightRecording:filename=FILE.jfr,settings=default,settings=" + settings
                + " (log=warn: no such line)");
    }

    /** The events the agent records when hz3 is not the malloc. */
    private static String onWithoutHz3(Malloc m) {
        return (m.isGlibc() ? "hz3.GlibcHeap, " : "") + "hz3.ProcessMemory and hz3.AllocatorInfo";
    }

    /**
     * One line about recordings, for the attach reply: where the hz3 events go.
     * ownDestination is the agent's own recording's file, null when it runs none.
     */
    static String recordings(Path ownDestination, int running) {
        if (ownDestination != null) {
            return "the agent's recording is running, written to " + ownDestination
                    + " when it stops or the JVM exits";
        }
        if (running > 0) {
            return running + " recording(s) running: the hz3 events go to them";
        }
        return "no recording is running: start one (jcmd PID JFR.start settings=default"
                + " settings=/path/to/hz3.jfc) or attach again with record=FILE.jfr";
    }
}
