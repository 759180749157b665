package dev.hz3.samples.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import dev.hz3.samples.ChildProcess;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The pages a Java call site pins, as hz3.NativeSite reports them, against hz3's own census in
 * the same recording: the Fragment sample (one call site, 1 block in 16 kept, scattered) under
 * hz3 with attribution on. The sites' pinned pages are an estimate scaled from their samples; the
 * census counts every partial page exactly. The app's share of the census is its small tier's
 * partial pages during the hold minus those before the work began; the sites' pinned pages must
 * come within 25% of it, their pinned bytes within 25% of those pages' bytes less the
 * survivors', and the site that pins the most must be the one Fragment allocates at, with
 * Fragment.work on its stacks.
 */
class PinnedSitesTest {

    static final String FRAGMENT = "dev.hz3.samples.Fragment";
    /** Fragment's allocations go through this wrapper: the first frame outside the JDK. */
    static final String SITE = "dev.hz3.samples.UnsafeAccess.allocateMemory";
    static final int HOLD_SECONDS = 10;
    static final long PAGE = 4096;

    @ParameterizedTest(name = "{0}")
    @MethodSource(ChildProcess.JDKS)
    void sitesPinWhatTheCensusCountsAsPartial(Path javaHome) throws Exception {
        Path dir = ChildProcess.dir("agent-tests", "pinned-sites-" + javaHome.getFileName());
        Path jfr = dir.resolve("fragment.jfr");
        // 16k: Fragment keeps about 4 MiB, so about 256 live samples (an sd of about 6%).
        List<String> cmd = NativeAttributionTest.java(javaHome,
                "-javaagent:" + ChildProcess.AGENT_JAR + "=attribution=on,sampleBytes=16k",
                "-XX:StartFlightRecording:filename=" + jfr + ",settings="
                        + NativeAttributionTest.jfc(dir, "1 s"),
                "-cp", ChildProcess.sampleClasses().toString(), FRAGMENT, "--size", "64", "--threads", "2",
                "--seconds", Integer.toString(HOLD_SECONDS), "--idle-before", "2");
        ChildProcess c = ChildProcess.run("app", dir, cmd, ChildProcess.UNDER_HZ3);
        assertEquals(0, c.exit(), c::toString);
        long workStart = field(c.out(), "PHASE work-start t_ms");
        Instant holdStart = Instant.ofEpochMilli(field(c.out(), "PHASE hold-start t_ms"));
        long survivorBytes = field(c.out(), "survivor_bytes");
        Instant holdEnd = Instant.ofEpochMilli(workStart + HOLD_SECONDS * 1000L);

        List<RecordedEvent> all = Recordings.read(jfr);
        // The last round of sites during the hold (every worker done filling, the survivors not
        // yet freed, a second to spare) that has a census of its own behind it, taken during
        // the hold too.
        List<RecordedEvent> round = rounds(Recordings.of(all, "hz3.NativeSite")).stream()
                .filter(r -> r.get(0).getStartTime().isBefore(holdEnd.minusSeconds(1))
                        && lastSmallCensus(all, r.get(0).getStartTime())
                                .filter(e -> e.getStartTime().isAfter(holdStart)).isPresent())
                .reduce((a, b) -> b)
                .orElseThrow(() -> new AssertionError("no hz3.NativeSite with a census between Fragment's hold start "
                        + holdStart + " and its end " + holdEnd + " (a fill this slow leaves no hold to look at) in " + jfr));
        Instant at = round.get(0).getStartTime();
        long before = smallPartialPages(all, Instant.ofEpochMilli(workStart));
        long during = smallPartialPages(all, at);
        long appPages = during - before;
        assertTrue(appPages * PAGE > 16L << 20, () -> "Fragment's survivors should keep most of its 64 MiB on "
                + "partial pages; the census has " + appPages + " pages more than before the work at " + at);

        long pinnedPages = round.stream().mapToLong(e -> e.getLong("pinnedPages")).sum();
        long pinnedBytes = round.stream().mapToLong(e -> e.getLong("pinnedBytes")).sum();
        String shown = "sites at " + at + ": " + describe(round) + "; census: " + appPages
                + " partial pages of the app's (" + during + " - " + before + " before the work)";
        System.out.printf("PinnedSitesTest %s: sites pin %d pages, %d B; the census %d pages of the app's, %d B"
                + " unused on them%n", javaHome.getFileName(), pinnedPages, pinnedBytes, appPages,
                appPages * PAGE - survivorBytes);
        double pagesRatio = pinnedPages / (double) appPages;
        assertTrue(pagesRatio > 0.75 && pagesRatio < 1.25, () -> "pinned pages " + pinnedPages + ", " + shown);
        long unused = appPages * PAGE - survivorBytes;
        double bytesRatio = pinnedBytes / (double) unused;
        assertTrue(bytesRatio > 0.75 && bytesRatio < 1.25, () -> "pinned bytes " + pinnedBytes
                + ", the app's partial pages less its " + survivorBytes + " survivor bytes: " + unused + "; " + shown);

        RecordedEvent top = round.stream().max(Comparator.comparingLong(e -> e.getLong("pinnedBytes"))).orElseThrow();
        assertTrue(top.getString("site").startsWith(SITE + ":"), () -> "top pinning site " + top.getString("site")
                + ", " + shown);
        // Its samples' stacks lead to the fragmenting method.
        List<RecordedEvent> samples = Recordings.of(all, "hz3.NativeAllocationSample").stream()
                .filter(e -> top.getString("site").equals(e.getString("site"))).toList();
        long fromWork = samples.stream().filter(PinnedSitesTest::fromFragmentWork).count();
        assertTrue(!samples.isEmpty() && fromWork * 10 >= samples.size() * 9, () -> fromWork + " of "
                + samples.size() + " samples at " + top.getString("site") + " come from Fragment.work");
    }

    /** hz3.NativeSite events in their periodic rounds: a rank not above the last one starts the next. */
    static List<List<RecordedEvent>> rounds(List<RecordedEvent> sites) {
        List<List<RecordedEvent>> rounds = new ArrayList<>();
        List<RecordedEvent> round = null;
        for (RecordedEvent e : sites) {
            if (round == null || e.getInt("rank") <= round.get(round.size() - 1).getInt("rank")) {
                round = new ArrayList<>();
                rounds.add(round);
            }
            round.add(e);
        }
        return rounds;
    }

    /** The small tier's partial pages in the last consistent census before t. */
    static long smallPartialPages(List<RecordedEvent> all, Instant t) {
        return lastSmallCensus(all, t).map(e -> e.getLong("pagesPartial"))
                .orElseThrow(() -> new AssertionError("no consistent census of the small tier before " + t));
    }

    /** The small tier's hz3.TierOccupancy in the last consistent census before t. */
    static Optional<RecordedEvent> lastSmallCensus(List<RecordedEvent> all, Instant t) {
        return Recordings.of(all, "hz3.TierOccupancy").stream()
                .filter(e -> "small".equals(e.getString("tier")) && e.getBoolean("consistent")
                        && e.getStartTime().isBefore(t))
                .reduce((a, b) -> b);
    }

    static boolean fromFragmentWork(RecordedEvent e) {
        return e.getStackTrace() != null && e.getStackTrace().getFrames().stream().map(RecordedFrame::getMethod)
                .anyMatch(m -> m.getType().getName().equals(FRAGMENT) && m.getName().equals("work"));
    }

    static String describe(List<RecordedEvent> round) {
        StringBuilder b = new StringBuilder();
        for (RecordedEvent e : round) {
            b.append(String.format("%n  %s (%s): live %d, %d samples, pinned %d pages, %d B", e.getString("site"),
                    e.getString("kind"), e.getLong("liveBytes"), e.getLong("liveSamples"), e.getLong("pinnedPages"),
                    e.getLong("pinnedBytes")));
        }
        return b.toString();
    }

    static long field(String out, String key) {
        Matcher m = Pattern.compile(Pattern.quote(key) + "=(\\d+)").matcher(out);
        assertTrue(m.find(), () -> "no " + key + "= in Fragment's output: " + out);
        return Long.parseLong(m.group(1));
    }
}
