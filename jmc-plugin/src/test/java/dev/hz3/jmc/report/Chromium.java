package dev.hz3.jmc.report;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.hz3.jmc.SyntheticRecording;

/**
 * Debian's headless Chromium, cut off from the network: a proxy that does not exist and a host
 * resolver that resolves nothing, so a page that tried to load anything from anywhere would fail
 * (and log it). Missing Chromium fails the test with the command that installs it.
 */
final class Chromium {

    static final Path BINARY = Path.of(System.getProperty("hz3.chromium", "/usr/bin/chromium"));

    record Run(int exit, String stdout, String stderr) {
    }

    private Chromium() {
    }

    /**
     * Runs Chromium on page with a fresh profile; the profile and the captured output live in a
     * temporary directory that is deleted, with all Chromium wrote there, once it has exited.
     */
    static Run run(List<String> args, Path page) throws IOException, InterruptedException {
        if (!Files.isExecutable(BINARY)) {
            fail("Chromium is needed for the report's browser test and is missing at " + BINARY
                    + ": install it with `apt-get install -y chromium` (.ci/run does)");
        }
        Path dir = Files.createTempDirectory("chromium-run");
        try {
            Path profile = Files.createDirectory(dir.resolve("profile"));
            Path out = dir.resolve("stdout");
            Path err = dir.resolve("stderr");
            List<String> cmd = new ArrayList<>(List.of(BINARY.toString(), "--headless", "--no-sandbox",
                    "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-extensions",
                    "--mute-audio", "--user-data-dir=" + profile, "--proxy-server=127.0.0.1:9",
                    "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0"));
            cmd.addAll(args);
            cmd.add(page.toUri().toString());
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(90, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                fail("chromium did not finish in 90 s: " + String.join(" ", cmd));
            }
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            SyntheticRecording.deleteTree(dir);
        }
    }

    /** Lines Chromium logged for the page's console (errors, warnings or logs). */
    static List<String> consoleLines(String stderr) {
        return stderr.lines().filter(l -> l.contains(":CONSOLE") || l.contains("Uncaught")).toList();
    }
}
