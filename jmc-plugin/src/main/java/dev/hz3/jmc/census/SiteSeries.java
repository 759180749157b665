package dev.hz3.jmc.census;

import java.util.List;

/**
 * One call site's hz3.NativeSite events over the recording, in time order (a period where the
 * site was not among the top sites has no sample).
 */
public record SiteSeries(String site, String kind, String entry, List<SiteSample> samples) {

    public SiteSample last() {
        return samples.get(samples.size() - 1);
    }

    public SiteSample first() {
        return samples.get(0);
    }

    public long maxLiveBytes() {
        return samples.stream().mapToLong(SiteSample::liveBytes).max().orElse(0);
    }

    /** "dev.x.Foo.bar:42 (deflater)". */
    public String name() {
        return site + " (" + kind + ")";
    }
}
