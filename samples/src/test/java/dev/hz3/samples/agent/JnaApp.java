package dev.hz3.samples.agent;

import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * An application with its own JNA (the test runs it with JNA 5.13.0 on its class path): prints
 * the JNA version its classes say (read reflectively: Native.VERSION is a compile-time constant
 * and would print the version this was compiled against) and its native library's, and makes a
 * native call through it.
 */
public final class JnaApp {

    /** getpid(2) through the application's JNA. */
    public interface CLib extends Library {
        int getpid();
    }

    /** hz3's API through the application's JNA, bound to the preloaded library. */
    public interface Hz3 extends Library {
        long hz3_epoch_force();
    }

    private JnaApp() {
    }

    public static void main(String[] args) throws Exception {
        String version = constant("VERSION");
        String nativeVersion = constant("VERSION_NATIVE");
        CLib c = Native.load("c", CLib.class);
        int pid = c.getpid();
        // An epoch now: hz3's thread hands it to the agent's listener, through the agent's JNA.
        Hz3 hz3 = Native.load((String) null, Hz3.class);
        long seq = hz3.hz3_epoch_force();
        System.out.println("APP forced epoch " + seq + "; agent listener thread seen="
                + awaitThread("hz3-epoch", 30_000));
        System.out.println("APP JNA " + version + " native " + nativeVersion + " getpid_ok="
                + (pid == ProcessHandle.current().pid()) + " jna.boot.library.path="
                + System.getProperty("jna.boot.library.path"));
    }

    /** A String constant of Native, read at run time (it comes from a package-private interface). */
    private static String constant(String name) throws ReflectiveOperationException {
        java.lang.reflect.Field f = Native.class.getField(name);
        f.setAccessible(true);
        return (String) f.get(null);
    }

    /** Waits (bounded) until a thread of that name exists: the agent's attached callback thread. */
    private static boolean awaitThread(String name, long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < deadline) {
            if (Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals(name))) {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }
}
