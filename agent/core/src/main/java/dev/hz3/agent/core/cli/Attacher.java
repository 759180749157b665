package dev.hz3.agent.core.cli;

import dev.hz3.agent.core.Options;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import net.bytebuddy.agent.ByteBuddyAgent;

/**
 * {@code java -jar hz3-agent.jar attach PID [OPTIONS]}: loads this agent into a running JVM with
 * Byte Buddy's attach. The agent's answer comes back through a reply file in this user's
 * private directory: its lines are printed here, and its last line is the exit code.
 */
public final class Attacher {

    private Attacher() {
    }

    public static int attach(Path agentJar, Path privateDir, String[] args) throws Exception {
        if (args.length < 1 || !args[0].matches("\\d+")) {
            System.err.println("hz3-agent attach: expected a process id: java -jar hz3-agent.jar"
                    + " attach PID [OPTIONS | snapshot | purge | stop]");
            return 2;
        }
        String pid = args[0];
        if (!Files.isDirectory(Path.of("/proc", pid))) {
            System.err.println("hz3-agent attach: no process " + pid);
            return 1;
        }
        String options = String.join(",", List.of(args).subList(1, args.length));
        // Say here what is wrong with the options too: the target only continues with defaults.
        Options parsed = Options.parse(options);
        if (parsed.has(Options.Key.REPLY)) {
            System.err.println("hz3-agent attach: reply= is set by attach itself");
            return 2;
        }
        Path reply = Files.createTempFile(privateDir, "attach-" + pid + "-", ".reply");
        try {
            String agentArgs = (options.isEmpty() ? "" : options + ",") + "reply=" + reply;
            try {
                ByteBuddyAgent.attach(new File(agentJar.toString()), pid, agentArgs);
            } catch (RuntimeException | LinkageError e) {
                Throwable c = e.getCause() != null ? e.getCause() : e;
                System.err.println("hz3-agent attach: cannot attach to " + pid + ": "
                        + (c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage())
                        + " (is it a JVM of this user, started without -XX:+DisableAttachMechanism?)");
                return 1;
            }
            List<String> lines = Files.readAllLines(reply, StandardCharsets.UTF_8);
            if (lines.isEmpty()) {
                System.err.println("hz3-agent attach: the agent in " + pid + " gave no answer;"
                        + " see that JVM's stderr");
                return 1;
            }
            int exit = 0;
            for (String l : lines) {
                if (l.startsWith("exit=")) {
                    exit = Integer.parseInt(l.substring(5).trim());
                } else {
                    System.out.println(l);
                }
            }
            return exit;
        } finally {
            Files.deleteIfExists(reply);
        }
    }
}
