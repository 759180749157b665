package dev.hz3.jmc.report;

import java.nio.file.Path;

import dev.hz3.jmc.SyntheticRecording;
import dev.hz3.jmc.SyntheticRecording.Tier;

/**
 * The JVM {@link CutOffRecordingTest} copies an in-progress recording from: started with
 * {@code -XX:StartFlightRecording:flush-interval=1h} and a disk repository of the test's, it
 * records one hz3 census in a recording of its own and stops it, which makes JFR finish the disk
 * chunk and begin a new one; prints {@link #READY}; then runs, its new chunk never flushed, until
 * its standard input is closed.
 */
public final class RunningJvm {

    static final String READY = "hz3 census recorded, chunk rotated";

    private RunningJvm() {
    }

    public static void main(String[] args) throws Exception {
        try (SyntheticRecording r = SyntheticRecording.start(Path.of(args[0]))) {
            r.census(Tier.of("small", 10, 3000, 500, 2900));
        }
        System.out.println(READY);
        System.out.flush();
        while (System.in.read() >= 0) {
            // until the test closes our standard input
        }
    }
}
