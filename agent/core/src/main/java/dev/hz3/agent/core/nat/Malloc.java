package dev.hz3.agent.core.nat;

import com.sun.jna.Function;
import com.sun.jna.Pointer;
import java.nio.file.Path;

/**
 * Which malloc this process really uses: the file that the symbol {@code malloc} resolves to in
 * the process's global scope (dladdr), and whether hz3 is loaded and is that malloc.
 */
public final class Malloc {

    /** hz3's state in this process, as hz3.AllocatorInfo's hz3Status says it. */
    public enum Hz3Status {
        ACTIVE("active"),
        ABSENT("absent"),
        NOT_MALLOC("not the malloc"),
        REFUSED("refused");

        public final String text;

        Hz3Status(String text) {
            this.text = text;
        }
    }

    public final String name;          // hz3, glibc, jemalloc, tcmalloc, mimalloc or a file name
    public final String version;       // may be empty
    public final String library;       // the file defining malloc
    public final Hz3Status hz3;
    public final String hz3Version;    // empty when absent
    public final String hz3Library;    // the file defining hz3_version, empty when absent
    public final String refusal;       // why hz3 is refused, or null

    private Malloc(String name, String version, String library, Hz3Status hz3, String hz3Version,
            String hz3Library, String refusal) {
        this.name = name;
        this.version = version == null ? "" : version;
        this.library = library == null ? "" : library;
        this.hz3 = hz3;
        this.hz3Version = hz3Version == null ? "" : hz3Version;
        this.hz3Library = hz3Library == null ? "" : hz3Library;
        this.refusal = refusal;
    }

    public boolean isGlibc() {
        return name.equals("glibc");
    }

    /**
     * Looks; never loads a library. requiredHz3 is the oldest hz3 version the agent accepts
     * ("0.1.0"): an older one is REFUSED.
     */
    public static Malloc detect(String requiredHz3) {
        Function malloc = Libc.symbol("malloc");
        Libc.DlInfo m = malloc == null ? null : Libc.dladdr(malloc);
        String lib = m == null ? null : m.dli_fname;
        Pointer mallocBase = m == null ? null : m.dli_fbase;
        String name = nameOf(lib);
        String version = switch (name) {
            case "glibc" -> Libc.glibcVersion();
            case "mimalloc" -> Libc.mimallocVersion();
            default -> null;
        };

        Function hz3Version = Libc.symbol("hz3_version");
        if (hz3Version == null) {
            return new Malloc(name, version, lib, Hz3Status.ABSENT, null, null, null);
        }
        Libc.DlInfo h = Libc.dladdr(hz3Version);
        String hz3Lib = h == null ? null : h.dli_fname;
        String hv = hz3Version.invokeString(new Object[0], false);
        // An old libhz3 is refused whether or not it is the malloc: its API is not this one.
        if (compareVersions(hv, requiredHz3) < 0) {
            return new Malloc(name, version, lib, Hz3Status.REFUSED, hv, hz3Lib,
                    "libhz3 " + hv + " (" + hz3Lib + ") is older than this agent, which needs "
                            + requiredHz3 + " or newer");
        }
        boolean isMalloc = h != null && mallocBase != null && h.dli_fbase.equals(mallocBase);
        if (!isMalloc) {
            return new Malloc(name, version, lib, Hz3Status.NOT_MALLOC, hv, hz3Lib, null);
        }
        return new Malloc("hz3", hv, lib, Hz3Status.ACTIVE, hv, hz3Lib, null);
    }

    /** This malloc with hz3 refused for the reason given. */
    public Malloc refused(String why) {
        return new Malloc(name, version, library, Hz3Status.REFUSED, hz3Version, hz3Library, why);
    }

    /** A malloc's common name from the file that defines it. */
    static String nameOf(String library) {
        if (library == null || library.isEmpty()) {
            return "unknown";
        }
        String file = Path.of(library).getFileName().toString();
        if (file.startsWith("libhz3")) {
            return "hz3";
        }
        if (file.startsWith("libc.so") || file.startsWith("libc-")) {
            return "glibc";
        }
        for (String known : new String[] {"jemalloc", "tcmalloc", "mimalloc"}) {
            if (file.contains(known)) {
                return known;
            }
        }
        return file;
    }

    /** Compares "1.2.3" versions numerically; text after the numbers is ignored. */
    public static int compareVersions(String a, String b) {
        String[] x = a.split("[.\\-]");
        String[] y = b.split("[.\\-]");
        for (int i = 0; i < 3; i++) {
            int c = Integer.compare(num(x, i), num(y, i));
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    private static int num(String[] parts, int i) {
        if (i >= parts.length) {
            return 0;
        }
        try {
            return Integer.parseInt(parts[i].replaceAll("\\D.*", ""));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** One line for the log and the attach reply. */
    public String describe() {
        String m = name + (version.isEmpty() ? "" : " " + version)
                + (library.isEmpty() ? "" : " (" + library + ")");
        return switch (hz3) {
            case ACTIVE -> "hz3 " + hz3Version + " is this JVM's malloc (" + hz3Library + ")";
            case REFUSED -> refusal + "; hz3 events are off";
            case NOT_MALLOC -> "hz3 " + hz3Version + " is loaded (" + hz3Library
                    + ") but is not this JVM's malloc: malloc is " + m;
            case ABSENT -> "hz3 is not this JVM's malloc: malloc is " + m;
        };
    }
}
