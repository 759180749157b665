package dev.hz3.samples.agent;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.util.ArrayList;
import java.util.List;

/**
 * A native library's own mallocs behind a Java call, for Hz3AttributionTest (run under hz3 with
 * the application's JNA): keepS calls libc's strdup through JNA DUP_COUNT times on a string of
 * DUP_CHARS characters and keeps the copies, which libc mallocs where Java never sees them.
 * Prints DONE and exits.
 */
public final class JnaNativeCallApp {

    static final int DUP_CHARS = 50_000;
    static final int DUP_COUNT = 2000;

    /** strdup(3) through the application's JNA. */
    public interface CLib extends Library {
        Pointer strdup(Pointer s);
    }

    static final List<Pointer> KEPT = new ArrayList<>();

    private JnaNativeCallApp() {
    }

    public static void main(String[] args) {
        CLib c = Native.load("c", CLib.class);
        Memory source = new Memory(DUP_CHARS + 1);
        source.setString(0, "x".repeat(DUP_CHARS));
        keepS(c, source);
        System.out.println("DONE strdup " + KEPT.size());
    }

    static void keepS(CLib c, Pointer source) {
        for (int i = 0; i < DUP_COUNT; i++) {
            KEPT.add(c.strdup(source));
        }
    }
}
