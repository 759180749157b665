package dev.hz3.jmc.report;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

/**
 * uPlot, the report's charting library, read from its webjar (org.webjars.npm:uplot, a dependency
 * of this module and so in target/lib) and inlined into the page, which loads nothing. Its license
 * (MIT) asks that its notice go with every copy: {@link #NOTICE} opens the inlined style and
 * script. The library's own banner names its home page by URL; it is left out, so that the page
 * names no address at all (the report's test looks for any).
 */
final class UPlot {

    private static final String MAVEN = "/META-INF/maven/org.webjars.npm/uplot/pom.properties";

    static final String VERSION = version();
    private static final String DIR = "/META-INF/resources/webjars/uplot/" + VERSION + "/";

    /** A comment with uPlot's name, version, source and license, for the style and the script. */
    static final String NOTICE = "/* uPlot " + VERSION + " (github.com/leeoniya/uPlot), inlined from its webjar.\n"
            + read("LICENSE").strip().replace("*/", "* /") + "\n*/\n";

    private UPlot() {
    }

    static String js() {
        String js = read("dist/uPlot.iife.min.js");
        if (js.startsWith("/*!")) {
            js = js.substring(js.indexOf("*/") + 2).strip();
        }
        return safe(js, "</script");
    }

    static String css() {
        return safe(read("dist/uPlot.min.css"), "</style");
    }

    private static String safe(String text, String closer) {
        if (text.toLowerCase(java.util.Locale.ROOT).contains(closer)) {
            throw new IllegalStateException("uPlot " + VERSION + " contains " + closer + ": cannot be inlined");
        }
        return text;
    }

    private static String version() {
        try (InputStream in = UPlot.class.getResourceAsStream(MAVEN)) {
            if (in == null) {
                throw new IllegalStateException("uPlot's webjar (org.webjars.npm:uplot) is not on the class path");
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(String name) {
        try (InputStream in = UPlot.class.getResourceAsStream(DIR + name)) {
            if (in == null) {
                throw new IllegalStateException("missing " + DIR + name + " in uPlot's webjar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
