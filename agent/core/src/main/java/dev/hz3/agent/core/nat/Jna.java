package dev.hz3.agent.core.nat;

import com.sun.jna.Native;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Starts the agent's own JNA beside any the application has. JNA reads its jna.* system
 * properties once, when its Native class initialises, and those properties are JVM-wide: an
 * application's jna.boot.library.path (pointing at its older libjnidispatch) would make the
 * agent's JNA load the wrong native library. So the loading properties are cleared around the
 * agent's first JNA use and then put back, and JNA extracts its native library into the agent's
 * private directory (0700, checked by the bootstrap) rather than a shared temporary directory.
 */
public final class Jna {

    /** The properties JNA reads to find and unpack libjnidispatch. */
    static final String[] LOADING_PROPERTIES = {"jna.boot.library.path", "jna.boot.library.name",
        "jna.nosys", "jna.nounpack", "jna.noclasspath", "jna.tmpdir", "jna.debug_load",
        "jna.debug_load.jna"};

    private static String version;

    private Jna() {
    }

    /** Initialises JNA once; returns "JNA VERSION (native NATIVE_VERSION)". */
    public static synchronized String init(Path privateDir) {
        if (version != null) {
            return version;
        }
        Map<String, String> saved = new LinkedHashMap<>();
        synchronized (System.getProperties()) {
            for (String k : LOADING_PROPERTIES) {
                saved.put(k, System.getProperty(k));
                System.clearProperty(k);
            }
            if (privateDir != null) {
                System.setProperty("jna.tmpdir", privateDir.toString());
            }
            System.setProperty("jna.nosys", "true");   // never a system-wide libjnidispatch
        }
        try {
            String nativeVersion = Native.VERSION_NATIVE;
            int pointerSize = Native.POINTER_SIZE;   // not a constant: runs Native's initialiser
            version = "JNA " + Native.VERSION + " (native " + nativeVersion + ", "
                    + pointerSize * 8 + "-bit)";
            return version;
        } finally {
            synchronized (System.getProperties()) {
                saved.forEach((k, v) -> {
                    if (v == null) {
                        System.clearProperty(k);
                    } else {
                        System.setProperty(k, v);
                    }
                });
            }
        }
    }

    /** Native.VERSION of the agent's JNA. */
    public static String jnaVersion() {
        return Native.VERSION;
    }
}
