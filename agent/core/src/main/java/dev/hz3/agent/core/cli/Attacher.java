package dev.hz3.agent.core.cli;

import com.sun.tools.attach.VirtualMachine;
import dev.hz3.agent.core.AgentCore;
import dev.hz3.agent.core.Control;
import dev.hz3.agent.core.Log;
import dev.hz3.agent.core.Options;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import net.bytebuddy.agent.ByteBuddyAgent;

/**
 * {@code java -jar hz3-agent.jar attach PID [OPTIONS]}: loads this agent into a running JVM with
 * Byte Buddy's attach (the JDK's attach API). The agent's answer comes back through a reply
 * file: its lines are printed here, and its last line is the exit code.
 *
 * <p>What can be known before attaching is checked first, so that a failure is one line naming
 * its cause, not the attach API's wrapped exceptions: no such process, another user's process
 * (only root may attach to it), a process that is no JVM (the JDK would wait 10 s for it),
 * a JVM started with -XX:+DisableAttachMechanism, options longer than the protocol takes.
 *
 * <p>The reply file is where the target's user can write it and only this user and that one
 * can read it: in this user's private directory when both are the same user; else (root
 * attaching to another user's JVM) in a fresh directory handed to the target's user, inside
 * one of root's that user cannot change, read back without following links.
 */
public final class Attacher {

    /** The longest argument the attach protocol carries (HotSpot's arg_length_max, in bytes). */
    static final int PROTOCOL_MAX_BYTES = 1024;

    /** The most of a reply this command reads: a reply is a few short lines. */
    private static final long REPLY_MAX_BYTES = 1 << 20;

    private static final String ME = "hz3-agent attach: ";

    private Attacher() {
    }

    static final String USAGE = """
            usage: java -jar hz3-agent.jar attach PID [OPTIONS]
                   java -jar hz3-agent.jar attach PID snapshot|purge|stop|dump=FILE
            Loads the hz3 agent into the running JVM PID (same user, or root) and starts its events
            there; attached again, changes its options. OPTIONS: key=value words, e.g.
            record=/tmp/app.jfr,maxage=6h,maxsize=500m top=10 (see docs/agent.md).
              snapshot   a census now (a hz3.GlibcHeap sample when hz3 is not that JVM's malloc)
              purge      give free memory back now (malloc_trim under glibc)
              stop       stop the agent's events in that JVM
              dump=FILE  copy the agent's recording (record=) into FILE, a new file, now
            The agent's answer is printed here. Exit status: 0 done, 1 failed (no such process, not a
            JVM, attach refused), 2 a bad option (named; that JVM goes on with the others) or a usage
            error (nothing attached).
            """;

    public static int attach(Path agentJar, Path privateDir, String[] args) throws Exception {
        if (List.of(args).stream().anyMatch(AgentCore::isHelp)) {
            System.out.print(USAGE);
            return 0;
        }
        if (args.length < 1 || !args[0].matches("\\d{1,10}")) {
            return AgentCore.usageError(ME + (args.length < 1 ? "no process id"
                    : "expected a process id, got " + Log.quote(args[0])), USAGE);
        }
        String pid = args[0];
        Path proc = Path.of("/proc", pid);
        if (!Files.isDirectory(proc)) {
            System.err.println(ME + "no process " + pid);
            return 1;
        }
        String options = String.join(",", List.of(args).subList(1, args.length));
        // Say here what is wrong with the options too: the target only continues with defaults.
        Options parsed = Options.parse(options);
        if (parsed.has(Options.Key.REPLY)) {
            System.err.println(ME + "reply= is set by attach itself");
            return 2;
        }
        Target t;
        try {
            t = Target.of(proc);
        } catch (IOException e) {   // it ended meanwhile, or /proc hides it
            System.err.println(ME + "no process " + pid + " (" + Log.describe(e) + ")");
            return 1;
        }
        long me = ids(Path.of("/proc/self"))[0];
        if (t.uid != me && me != 0) {
            System.err.println(ME + "process " + pid + " belongs to uid " + t.uid
                    + ", and this is uid " + me + ": attach as that user (or as root)");
            return 1;
        }
        String refusal = t.refusal(pid);
        if (refusal != null) {
            System.err.println(ME + refusal);
            return 1;
        }

        Path replyDir = null;
        Path reply;
        if (t.uid == me) {
            reply = Files.createTempFile(privateDir, "attach-" + pid + "-", ".reply");
        } else {
            // Root attaching to another user's JVM: the agent there runs as that user, who
            // cannot write into root's private directory. A fresh directory of root's (mode
            // 0711: that user can pass, not rename or add) holds one handed to that user (0700);
            // the agent creates the reply in it.
            replyDir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")),
                    "hz3-attach-" + pid + "-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
            Path theirs = Files.createDirectory(replyDir.resolve("reply"),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.setAttribute(theirs, "unix:gid", (int) t.gid, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(theirs, "unix:uid", (int) t.uid, LinkOption.NOFOLLOW_LINKS);
            reply = theirs.resolve("reply");
        }
        try {
            String agentArgs = (options.isEmpty() ? "" : options + ",") + "reply=" + reply;
            String jar = new File(agentJar.toString()).getAbsolutePath();
            int bytes = (jar + "=" + agentArgs).getBytes(StandardCharsets.UTF_8).length;
            if (bytes > PROTOCOL_MAX_BYTES) {
                int ours = bytes - options.getBytes(StandardCharsets.UTF_8).length;
                System.err.println(ME + "options are " + options.getBytes(StandardCharsets.UTF_8).length
                        + " bytes; the attach protocol takes at most " + PROTOCOL_MAX_BYTES
                        + " bytes for the agent jar's path, the options and the reply file's name"
                        + " together, which leaves " + Math.max(0, PROTOCOL_MAX_BYTES - ours)
                        + " for options here");
                return 2;
            }
            Path control = loadedAgent(pid);
            if (control == null || !Control.send(control, agentArgs)) {
                try {
                    ByteBuddyAgent.attach(new File(jar), pid, agentArgs);
                } catch (RuntimeException | LinkageError e) {
                    System.err.println(ME + explain(pid, e));
                    return 1;
                }
            }
            List<String> lines = readReply(reply, t.uid);
            if (lines == null || lines.isEmpty()) {
                System.err.println(ME + "the agent in " + pid + " gave no answer in " + reply
                        + "; see that JVM's stderr");
                return 1;
            }
            int exit = 0;
            for (String l : lines) {
                if (l.matches("exit=\\d{1,3}")) {
                    exit = Integer.parseInt(l.substring(5));
                } else {
                    // The target's lines are one line each already; a forged reply is not.
                    System.out.println(Log.escape(l.length() > 4096 ? l.substring(0, 4096) + "..." : l));
                }
            }
            return exit;
        } finally {
            Files.deleteIfExists(reply);
            if (replyDir != null) {
                Files.deleteIfExists(reply.getParent());
                Files.deleteIfExists(replyDir);
            }
        }
    }

    /**
     * The control socket of the agent loaded in pid already, from that JVM's system properties
     * (read through the attach API, which loads no agent); null when none, or unknown. Loading
     * the agent again would work too, but JDK 21 and later then print their four-line warning
     * into the application's stderr every time.
     */
    private static Path loadedAgent(String pid) {
        try {
            VirtualMachine vm = VirtualMachine.attach(pid);
            try {
                String p = vm.getSystemProperties().getProperty(Control.PROPERTY);
                return p == null || p.isEmpty() ? null : Path.of(p);
            } finally {
                vm.detach();
            }
        } catch (Exception | LinkageError e) {
            return null;   // the load below says what is wrong, if anything is
        }
    }

    /**
     * The reply's lines; null when there is none, or it is not a regular file of owner (opened
     * without following a link: the directory it is in may be another user's).
     */
    private static List<String> readReply(Path reply, long owner) throws IOException {
        try (SeekableByteChannel c = Files.newByteChannel(reply,
                Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
            BasicFileAttributes a =
                    Files.readAttributes(reply, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            long uid = ((Number) Files.getAttribute(reply, "unix:uid", LinkOption.NOFOLLOW_LINKS))
                    .longValue();
            if (!a.isRegularFile() || a.size() > REPLY_MAX_BYTES || uid != owner) {
                return null;
            }
            ByteBuffer b = ByteBuffer.allocate((int) a.size());
            while (b.hasRemaining() && c.read(b) > 0) {
                // the reply is written before the attach returns: read to its end
            }
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).lines().toList();
        } catch (IOException e) {
            return null;   // none, or a link
        }
    }

    /**
     * The real cause of a failed attach, as one line. Byte Buddy calls the attach API
     * reflectively and wraps what it throws (InvocationTargetException in IllegalStateException);
     * the cause is the first com.sun.tools.attach exception or I/O error in the chain.
     */
    static String explain(String pid, Throwable e) {
        Throwable cause = null;
        for (Throwable c = e; c != null && cause == null; c = c.getCause()) {
            if (c.getClass().getName().startsWith("com.sun.tools.attach.")
                    || c instanceof IOException) {
                cause = c;
            }
        }
        if (cause == null) {
            if (String.valueOf(e.getMessage()).contains("No compatible attachment provider")) {
                return "this java (" + System.getProperty("java.home") + ") has no attach API"
                        + " (module jdk.attach): run the attach command with a JDK's java";
            }
            return "cannot attach to " + pid + ": " + Log.describe(e);
        }
        String type = cause.getClass().getSimpleName();
        String msg = String.valueOf(cause.getMessage());
        return switch (type) {
            case "AttachNotSupportedException" -> {
                if (msg.contains("does not support the attach mechanism")) {
                    yield "the JVM " + pid + " does not accept attach"
                            + " (it was started with -XX:+DisableAttachMechanism)";
                }
                if (msg.contains("doesn't respond within")) {
                    yield "process " + pid + " did not answer the attach request (" + msg
                            + "): a JVM started with -XX:+DisableAttachMechanism, or one too busy"
                            + " to answer";
                }
                yield "cannot attach to " + pid + ": " + msg;
            }
            case "AgentLoadException" -> "the JVM " + pid + " could not load the agent jar: " + msg;
            case "AgentInitializationException" -> "the agent failed to start in " + pid + " ("
                    + msg + "); see that JVM's stderr";
            default -> "the attach connection to " + pid + " failed: " + type
                    + (cause.getMessage() == null ? "" : ": " + msg);
        };
    }

    /** What /proc tells of a process before attaching. */
    private static final class Target {
        final long uid;
        final long gid;
        final String name;
        /** Null when /proc/PID/maps could not be read. */
        final Boolean jvm;
        final boolean attachDisabled;

        private Target(long uid, long gid, String name, Boolean jvm, boolean attachDisabled) {
            this.uid = uid;
            this.gid = gid;
            this.name = name;
            this.jvm = jvm;
            this.attachDisabled = attachDisabled;
        }

        static Target of(Path proc) throws IOException {
            long[] ids = ids(proc);
            String name = Files.readString(proc.resolve("comm"), StandardCharsets.UTF_8).strip();
            Boolean jvm;
            try (var lines = Files.lines(proc.resolve("maps"), StandardCharsets.ISO_8859_1)) {
                jvm = lines.anyMatch(l -> l.contains("/libjvm.so"));
            } catch (IOException | java.io.UncheckedIOException e) {
                jvm = null;
            }
            return new Target(ids[0], ids[1], name, jvm, attachDisabled(proc));
        }

        /** Why attaching is pointless, or null to try. */
        String refusal(String pid) {
            if (Boolean.FALSE.equals(jvm)) {
                return "process " + pid + " (" + Log.quote(name) + ") is not a Java process: it has"
                        + " no libjvm.so, so no attach listener";
            }
            if (attachDisabled) {
                return "the JVM " + pid + " does not accept attach (it was started with"
                        + " -XX:+DisableAttachMechanism)";
            }
            return null;
        }

        /**
         * Whether the JVM's command line, or the options the JVM reads from its environment,
         * turn attach off (the last of -XX:+/-DisableAttachMechanism wins). Best effort: a
         * flags file escapes it, and the attach API then says so itself.
         */
        private static boolean attachDisabled(Path proc) {
            // The order the JVM reads them in: JAVA_TOOL_OPTIONS (and the java launcher's
            // JDK_JAVA_OPTIONS), the command line, then _JAVA_OPTIONS.
            List<String> env = List.of();
            try {
                env = List.of(new String(Files.readAllBytes(proc.resolve("environ")),
                        StandardCharsets.UTF_8).split("\0"));
            } catch (IOException e) {
                // not ours to read: the command line alone
            }
            List<String> words = new ArrayList<>(words(env, "JAVA_TOOL_OPTIONS="));
            words.addAll(words(env, "JDK_JAVA_OPTIONS="));
            try {
                words.addAll(List.of(new String(Files.readAllBytes(proc.resolve("cmdline")),
                        StandardCharsets.UTF_8).split("\0")));
            } catch (IOException e) {
                // as far as known
            }
            words.addAll(words(env, "_JAVA_OPTIONS="));
            boolean disabled = false;
            for (String w : words) {
                if (w.equals("-XX:+DisableAttachMechanism")) {
                    disabled = true;
                } else if (w.equals("-XX:-DisableAttachMechanism")) {
                    disabled = false;
                }
            }
            return disabled;
        }

        /** The words of the environment variable that starts "NAME=". */
        private static List<String> words(List<String> env, String nameEq) {
            List<String> words = new ArrayList<>();
            for (String e : env) {
                if (e.startsWith(nameEq)) {
                    words.addAll(List.of(e.substring(nameEq.length()).trim().split("\\s+")));
                }
            }
            return words;
        }
    }

    /** A process's effective uid and gid, from /proc/PID/status ("Uid: real effective ..."). */
    private static long[] ids(Path proc) throws IOException {
        long[] ids = {-1, -1};
        for (String l : Files.readAllLines(proc.resolve("status"), StandardCharsets.UTF_8)) {
            if (l.startsWith("Uid:") || l.startsWith("Gid:")) {
                ids[l.startsWith("Uid:") ? 0 : 1] = Long.parseLong(l.substring(4).trim().split("\\s+")[1]);
            }
        }
        if (ids[0] < 0 || ids[1] < 0) {
            throw new IOException("no Uid or Gid in " + proc.resolve("status"));
        }
        return ids;
    }
}
