package dev.hz3.samples.agent;

import com.sun.jna.Memory;
import java.util.ArrayList;
import java.util.List;

/**
 * JNA Memory from known methods with fingerprint sizes, for JnaMemoryAttributionTest (run with
 * the application's own JNA on its class path): keepJ keeps KEEP_J_COUNT blocks of KEEP_J_BYTES,
 * churnJ closes each block it makes at once. Prints DONE and exits.
 */
public final class JnaMemorySitesApp {

    static final int KEEP_J_BYTES = 150_001;
    static final int KEEP_J_COUNT = 1000;
    static final int CHURN_J_BYTES = 90_001;
    static final int CHURN_J_COUNT = 2000;

    static final List<Memory> KEPT = new ArrayList<>();

    private JnaMemorySitesApp() {
    }

    public static void main(String[] args) {
        keepJ();
        churnJ();
        System.out.println("DONE jna " + KEPT.size());
    }

    static void keepJ() {
        for (int i = 0; i < KEEP_J_COUNT; i++) {
            KEPT.add(new Memory(KEEP_J_BYTES));
        }
    }

    static void churnJ() {
        for (int i = 0; i < CHURN_J_COUNT; i++) {
            new Memory(CHURN_J_BYTES).close();
        }
    }
}
