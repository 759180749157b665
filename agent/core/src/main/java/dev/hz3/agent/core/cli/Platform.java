package dev.hz3.agent.core.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** hz3 runs on Linux x86_64 with glibc and 4 KiB pages only; the launchers say so in one line. */
final class Platform {

    private Platform() {
    }

    /** Null on a platform hz3 runs on, else one line saying what this one is. */
    static String problem() {
        String os = System.getProperty("os.name");
        String arch = System.getProperty("os.arch");
        String page = "unknown";
        boolean glibc = false;
        try {
            List<String> smaps = Files.readAllLines(Path.of("/proc/self/smaps"));
            for (String l : smaps) {
                if (page.equals("unknown") && l.startsWith("KernelPageSize:")) {
                    page = l.substring(15).trim();
                }
                if (l.endsWith("/libc.so.6") || l.contains("/ld-linux-x86-64.so.2")) {
                    glibc = true;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no /proc
        }
        boolean ok = "Linux".equals(os) && ("amd64".equals(arch) || "x86_64".equals(arch))
                && page.equals("4 kB") && glibc;
        return ok ? null : "hz3 needs Linux x86_64 with glibc and 4 KiB pages; this is " + os + " "
                + arch + ", " + (glibc ? "glibc" : "no glibc") + ", page size " + page;
    }
}
