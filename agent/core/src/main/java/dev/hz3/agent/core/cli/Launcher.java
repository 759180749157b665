package dev.hz3.agent.core.cli;

import dev.hz3.agent.core.AgentCore;
import dev.hz3.agent.core.Log;
import dev.hz3.agent.core.Options;
import dev.hz3.agent.core.RecordFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code java -jar hz3-agent.jar run [OPTIONS] -- JAVA-ARGS}: starts the java of this JVM's
 * java.home with libhz3.so preloaded and this agent on, every JAVA-ARG passed through as given.
 * bin/hz3-java does the same in shell, without the extra JVM; keep the two in step.
 */
public final class Launcher {

    /** Overrides where libhz3.so is taken from. */
    public static final String LIB_ENV = "HZ3_LIB";

    private Launcher() {
    }

    static final String USAGE = """
            usage: java -jar hz3-agent.jar run [OPTIONS] -- JAVA-ARGS
                   java -jar hz3-agent.jar run JAVA-ARGS
            Starts this JVM's java with libhz3.so preloaded and the hz3 agent on (-javaagent, with
            OPTIONS), every JAVA-ARG passed to it as given; exits with its status.
              OPTIONS    the agent's options, one word: key=value,key=value (see docs/agent.md)
              JAVA-ARGS  java's arguments, e.g. -XX:StartFlightRecording:filename=rec.jfr -jar app.jar
                         (after --, even --help goes to java)
            libhz3.so comes from $HZ3_LIB, else beside the agent jar, else native-hz3/target/lib/.
            Exit status: java's; 1 when java cannot be started; 2 for a usage error (nothing started).
            """;

    public static int run(Path agentJar, String[] args) throws IOException, InterruptedException {
        int dash = Arrays.asList(args).indexOf("--");
        // Help is asked for before "--", or as the first word without one; after it, it is java's.
        List<String> ours = Arrays.asList(args).subList(0, dash < 0 ? Math.min(1, args.length) : dash);
        if (ours.stream().anyMatch(AgentCore::isHelp)) {
            System.out.print(USAGE);
            return 0;
        }
        String agentOptions = null;
        String[] javaArgs;
        if (dash < 0) {
            javaArgs = args;
        } else {
            if (dash > 1) {
                return AgentCore.usageError("hz3-agent run: expected at most one OPTIONS word"
                        + " before --, got " + Log.quote(String.join(" ", Arrays.copyOf(args, dash))),
                        USAGE);
            }
            agentOptions = dash == 1 ? args[0] : null;
            javaArgs = Arrays.copyOfRange(args, dash + 1, args.length);
        }
        if (javaArgs.length == 0) {
            return AgentCore.usageError(
                    "hz3-agent run: nothing to run (JAVA-ARGS such as -jar app.jar)", USAGE);
        }
        if (agentOptions != null) {
            // The agent would name a bad option and go on without it; here nothing has started.
            List<String> errors = RecordFiles.check(Options.parse(agentOptions)).errors();
            if (!errors.isEmpty()) {
                return AgentCore.usageError("hz3-agent run: " + String.join("; ", errors), USAGE);
            }
        }
        String platform = Platform.problem();
        if (platform != null) {
            System.err.println("hz3-agent run: " + platform);
            return 1;
        }
        Path lib;
        try {
            lib = findLibrary(agentJar);
        } catch (IllegalStateException e) {
            System.err.println("hz3-agent run: " + Log.escape(e.getMessage()));   // names HZ3_LIB's value
            return 1;
        }
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = command(java.toString(), Runtime.version().feature(), agentJar,
                agentOptions, Arrays.asList(javaArgs));
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        String preload = System.getenv("LD_PRELOAD");
        pb.environment().put("LD_PRELOAD",
                preload == null || preload.isBlank() ? lib.toString() : lib + ":" + preload);
        Process p = pb.start();
        Thread forward = new Thread(p::destroy, "hz3-agent-run-stop");
        Runtime.getRuntime().addShutdownHook(forward);
        int code = p.waitFor();
        try {
            Runtime.getRuntime().removeShutdownHook(forward);
        } catch (IllegalStateException exiting) {
            // already shutting down
        }
        return code;
    }

    /**
     * The child's command line: the flags the JDK wants for the agent (unless given), the agent,
     * then the arguments as they came.
     */
    static List<String> command(String java, int feature, Path agentJar, String agentOptions,
            List<String> javaArgs) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        // JNA's System.load is a restricted method on JDK 22+ (a warning from 24); 17 accepts the flag.
        if (javaArgs.stream().noneMatch(a -> a.startsWith("--enable-native-access"))) {
            cmd.add("--enable-native-access=ALL-UNNAMED");
        }
        // JDK 24+ warns at sun.misc.Unsafe memory access; 17 to 23 refuse this flag.
        if (feature >= 24
                && javaArgs.stream().noneMatch(a -> a.startsWith("--sun-misc-unsafe-memory-access"))) {
            cmd.add("--sun-misc-unsafe-memory-access=allow");
        }
        boolean hasAgent = javaArgs.stream().anyMatch(a -> a.startsWith("-javaagent:")
                && a.contains("hz3-agent"));
        if (!hasAgent) {
            cmd.add("-javaagent:" + agentJar + (agentOptions == null ? "" : "=" + agentOptions));
        }
        cmd.addAll(javaArgs);
        return cmd;
    }

    /**
     * libhz3.so: $HZ3_LIB, else beside the agent jar (an install: lib/hz3-agent.jar and
     * lib/libhz3.so), else the build tree (agent/target/hz3-agent.jar and
     * native-hz3/target/lib/libhz3.so).
     */
    static Path findLibrary(Path agentJar) {
        String env = System.getenv(LIB_ENV);
        if (env != null && !env.isEmpty()) {
            Path p = Path.of(env).toAbsolutePath();
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException(LIB_ENV + "=" + env + ": no such file");
            }
            return p;
        }
        Path dir = agentJar.toAbsolutePath().getParent();
        List<Path> tried = new ArrayList<>();
        tried.add(dir.resolve("libhz3.so"));
        if (dir.getParent() != null && dir.getParent().getParent() != null) {
            tried.add(dir.getParent().getParent().resolve("native-hz3/target/lib/libhz3.so"));
        }
        for (Path p : tried) {
            if (Files.isRegularFile(p)) {
                return p.normalize();
            }
        }
        throw new IllegalStateException("libhz3.so not found (looked at "
                + String.join(", ", tried.stream().map(p -> p.normalize().toString()).toList())
                + "): build it with `make -C native-hz3`, or set " + LIB_ENV + "=/path/to/libhz3.so");
    }

    static String agentVersion() {
        return AgentCore.version();
    }
}
