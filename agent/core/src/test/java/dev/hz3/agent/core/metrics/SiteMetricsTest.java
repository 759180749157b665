package dev.hz3.agent.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Site series stay at most 2 x top names and 4 x top series, whether the program has 10 sites or 5000. */
class SiteMetricsTest {

    static final int TOP = 4;

    /** n sites: site i holds i KiB and, every third one, grew by i bytes. */
    static List<SiteFeed.Site> sites(int n) {
        List<SiteFeed.Site> out = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            out.add(new SiteFeed.Site("App.m" + i + ":" + i, "unsafe", i * 1024.0, i % 3 == 0 ? i : -i));
        }
        return out;
    }

    static String text(List<SiteFeed.Site> sites) throws Exception {
        Families f = new Families();
        SiteMetrics.add(f, sites, TOP);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, f.build());
        return out.toString(StandardCharsets.UTF_8);
    }

    static List<String> series(String text) {
        return text.lines().filter(l -> !l.startsWith("#") && !l.isBlank()).toList();
    }

    @Test
    void seriesAndSiteNamesAreBoundedByTop() throws Exception {
        for (int n : new int[] {10, 5000}) {
            String text = text(sites(n));
            int growing = Math.min(TOP, n / 3);   // every third site grows
            assertEquals(2 * TOP + 2 * growing, series(text).size(), text);
            Set<String> names = new TreeSet<>();
            Matcher m = Pattern.compile("site=\"([^\"]+)\"").matcher(text);
            while (m.find()) {
                names.add(m.group(1));
            }
            assertTrue(names.size() <= 2 * TOP, names::toString);
            // The largest site first: n KiB; the fastest growing: the largest multiple of 3.
            assertTrue(text.contains("hz3_site_live_bytes{rank=\"1\"} " + (n * 1024.0)), text);
            assertTrue(text.contains("hz3_site_info{kind=\"unsafe\",rank=\"1\",site=\"App.m" + n + ":" + n + "\"} 1"), text);
            int grower = n / 3 * 3;
            assertTrue(text.contains("hz3_growing_site_info{kind=\"unsafe\",rank=\"1\",site=\"App.m" + grower
                    + ":" + grower + "\"} 1"), text);
        }
    }

    @Test
    void noSitesNoSeries() throws Exception {
        assertEquals(List.of(), series(text(List.of())));
    }
}
