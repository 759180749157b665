package dev.hz3.agent.core;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.text.ParseException;
import java.util.Set;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import jdk.jfr.Configuration;
import org.w3c.dom.Element;
import org.xml.sax.ErrorHandler;
import org.xml.sax.InputSource;
import org.xml.sax.SAXParseException;

/**
 * The files behind {@code record=} and {@code jfc=}, checked before anything starts, so that a
 * bad one is said at once, on one line, instead of a recording that is never written.
 *
 * <p>JFR writes a recording to its destination only when it stops (or is dumped): the file is
 * created or replaced then, in place. So record= must name a regular file, or none, in an
 * existing directory where this process can create files, on a file system that holds files
 * (not /proc, /sys or a device). Writability is tried, not guessed from mode bits: a probe file
 * is created beside it and removed, and an existing file is opened for writing (not truncated).
 */
public final class RecordFiles {

    /** File systems that hold no ordinary files: a recording cannot be written there. */
    private static final Set<String> PSEUDO_FS = Set.of("proc", "sysfs", "devtmpfs", "devpts",
            "debugfs", "tracefs", "securityfs", "cgroup", "cgroup2", "configfs", "bpf",
            "pstore", "efivarfs", "fusectl", "hugetlbfs", "mqueue");

    /** A settings file larger than this is not a .jfc (the JDK's own are about 40 KiB). */
    private static final long JFC_MAX_BYTES = 4 << 20;

    private RecordFiles() {
    }

    /** Rejects (see {@link Options#reject}) a record=, dump= or jfc= whose file will not do. */
    public static Options check(Options o) {
        if (o.has(Options.Key.RECORD)) {
            String problem = recordProblem(o.get(Options.Key.RECORD));
            if (problem != null) {
                o.reject(Options.Key.RECORD, problem);
            }
        }
        if (o.has(Options.Key.DUMP)) {
            String problem = dumpProblem(o.get(Options.Key.DUMP));
            if (problem != null) {
                o.reject(Options.Key.DUMP, problem);
            }
        }
        if (o.has(Options.Key.JFC)) {
            String problem = jfcProblem(o.get(Options.Key.JFC));
            if (problem != null) {
                o.reject(Options.Key.JFC, problem);
            }
        }
        return o;
    }

    /** Null when a recording can be written to value (a path), else why not. */
    static String recordProblem(String value) {
        Named n = Named.of(value);
        if (n.problem != null) {
            return n.problem;
        }
        Path p = n.path;
        String shown = n.shown;
        Path dir = p.getParent();
        if (dir == null || Files.isDirectory(p)) {
            return shown + " is a directory; name a file in it, e.g. record="
                    + p.resolve("app.jfr");
        }
        if (Files.exists(p) && !Files.isRegularFile(p)) {
            return shown + " is " + kind(p) + ", not a regular file";
        }
        String problem = directoryProblem(dir, shown);
        if (problem != null) {
            return problem;
        }
        if (Files.exists(p)) {
            try (FileChannel c = FileChannel.open(p, StandardOpenOption.WRITE)) {
                // opened for writing, not truncated: JFR may replace it
            } catch (IOException e) {
                return "cannot write " + shown + " (" + reason(e) + ")";
            }
        }
        return null;
    }

    /**
     * Null when a dump can be written to value: a new file (nothing there, not even a link)
     * in a directory where files can be created; else why not.
     */
    static String dumpProblem(String value) {
        Named n = Named.of(value);
        if (n.problem != null) {
            return n.problem;
        }
        Path dir = n.path.getParent();
        if (dir == null || Files.isDirectory(n.path, LinkOption.NOFOLLOW_LINKS)) {
            return n.shown + " is a directory; name a new file in it";
        }
        if (Files.exists(n.path, LinkOption.NOFOLLOW_LINKS)) {
            return n.shown + " exists (" + (Files.isSymbolicLink(n.path) ? "a symbolic link"
                    : kind(n.path)) + "): a dump is written only to a new file";
        }
        return directoryProblem(dir, n.shown);
    }

    /** Null when files can be created in dir (shown names the file for a message). */
    private static String directoryProblem(Path dir, String shown) {
        if (!Files.exists(dir)) {
            return "the directory " + Log.quote(dir.toString()) + " does not exist";
        }
        if (!Files.isDirectory(dir)) {
            return Log.quote(dir.toString()) + " is " + kind(dir) + ", not a directory";
        }
        try {
            String fs = Files.getFileStore(dir).type();
            if (PSEUDO_FS.contains(fs)) {
                return shown + " is on a " + fs + " file system, where no recording can be written";
            }
        } catch (IOException e) {
            return "cannot use the directory " + Log.quote(dir.toString()) + " (" + reason(e) + ")";
        }
        try {
            Files.delete(Files.createTempFile(dir, ".hz3-agent-probe-", ".tmp"));
        } catch (IOException e) {
            return "cannot create files in " + Log.quote(dir.toString()) + " (" + reason(e) + ")";
        }
        return null;
    }

    /** Null when value names JDK settings or a readable JFR settings file, else why not. */
    static String jfcProblem(String value) {
        if (value.equals("none")) {
            return null;
        }
        if (!isFile(value)) {
            try {
                Configuration.getConfiguration(value);
                return null;
            } catch (NoSuchFileException e) {
                return "the JDK has no settings named " + Log.quote(value)
                        + "; expected default, profile, none or a .jfc file";
            } catch (IOException | ParseException e) {
                return "the JDK's settings " + Log.quote(value) + " cannot be read ("
                        + Log.describe(e) + ")";
            }
        }
        Named n = Named.of(value);
        if (n.problem != null) {
            return n.problem;
        }
        Path p = n.path;
        String shown = n.shown;
        if (!Files.exists(p)) {
            return shown + " does not exist";
        }
        if (!Files.isRegularFile(p)) {
            return shown + " is " + kind(p) + ", not a JFR settings file";
        }
        byte[] bytes;
        try {
            if (Files.size(p) > JFC_MAX_BYTES) {
                return shown + " is not a JFR settings file (larger than 4 MiB)";
            }
            bytes = Files.readAllBytes(p);
        } catch (IOException e) {
            return "cannot read " + shown + " (" + reason(e) + ")";
        }
        String root = rootElement(bytes);
        if (root != null) {
            return shown + " is not a JFR settings file (" + root + ")";
        }
        try {
            Configuration.create(new StringReader(new String(bytes, StandardCharsets.UTF_8)));
            return null;
        } catch (IOException | ParseException e) {
            return shown + " is not a JFR settings file (" + Log.describe(e) + ")";
        }
    }

    /** Whether jfc= names a file (rather than the JDK's settings by name). */
    static boolean isFile(String jfc) {
        return jfc.endsWith(".jfc") || jfc.contains("/");
    }

    /** The JDK settings jfc= names (not "none"). */
    static Configuration jfc(String jfc) throws IOException, ParseException {
        return isFile(jfc) ? Configuration.create(Path.of(jfc)) : Configuration.getConfiguration(jfc);
    }

    /**
     * Null when the XML's root element is {@code <configuration>}, else what is wrong: the
     * JDK's parser takes any well-formed XML and returns empty settings.
     */
    private static String rootElement(byte[] xml) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setExpandEntityReferences(false);
            var builder = f.newDocumentBuilder();
            builder.setErrorHandler(new ErrorHandler() {   // quiet: the default one prints
                @Override
                public void warning(SAXParseException e) {
                }

                @Override
                public void error(SAXParseException e) {
                }

                @Override
                public void fatalError(SAXParseException e) throws SAXParseException {
                    throw e;
                }
            });
            Element root = builder.parse(new InputSource(new ByteArrayInputStream(xml)))
                    .getDocumentElement();
            return root.getTagName().equals("configuration") ? null
                    : "its root element is <" + root.getTagName() + ">, not <configuration>";
        } catch (SAXParseException e) {
            return "not XML: line " + e.getLineNumber() + ": " + e.getMessage();
        } catch (Exception e) {
            return "not XML: " + Log.describe(e);
        }
    }

    /** Null when the recording is at dest with some bytes, else what is there instead. */
    static String writtenProblem(Path dest) {
        try {
            if (!Files.exists(dest, LinkOption.NOFOLLOW_LINKS)) {
                Path dir = dest.getParent();
                return dir != null && !Files.isDirectory(dir)
                        ? "its directory " + Log.quote(dir.toString()) + " is gone"
                        : "there is no such file";
            }
            if (!Files.isRegularFile(dest)) {
                return "it is " + kind(dest) + ", not a regular file";
            }
            if (Files.size(dest) == 0) {
                return "the file is empty (the JDK could not write it; see its jfr log)";
            }
            return null;
        } catch (IOException e) {
            return reason(e);
        }
    }

    /**
     * A file name as given in an option: its absolute path, and how a message names it ("it"
     * when the value was that absolute path already, else the path quoted); or, when the value
     * is no file name, the problem.
     */
    private record Named(Path path, String shown, String problem) {
        static Named of(String value) {
            try {
                Path p = absolute(value);
                return new Named(p, p.toString().equals(value) ? "it" : Log.quote(p.toString()), null);
            } catch (InvalidPathException e) {
                return new Named(null, null, "not a file name (" + e.getReason() + ")");
            }
        }
    }

    /**
     * The file an option's value names, absolute and normalized, as every check and write here
     * takes it; InvalidPathException when the value is no file name (a checked value is one).
     */
    static Path absolute(String value) {
        return Path.of(value).toAbsolutePath().normalize();
    }

    /** What kind of file p is, for a message: "a directory", "a character device", ... */
    static String kind(Path p) {
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode");
            return switch (mode & 0170000) {
                case 0040000 -> "a directory";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0010000 -> "a named pipe";
                case 0140000 -> "a socket";
                case 0100000 -> "a regular file";
                default -> "a special file";
            };
        } catch (IOException | RuntimeException e) {
            return "a special file";
        }
    }

    /** An I/O failure's reason in the OS's words ("Permission denied"), else its description. */
    static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "No such file or directory";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "Permission denied";
        }
        return Log.describe(e);
    }
}
