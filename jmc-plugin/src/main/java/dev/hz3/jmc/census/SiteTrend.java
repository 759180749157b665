package dev.hz3.jmc.census;

import java.util.List;

/**
 * How a site's estimated live bytes moved over the recording: the change from its first to its
 * last sample, the least-squares fit of live bytes against time, and the rate over the later half
 * alone. A leak grows all along (a good straight-line fit, the later half as fast as the whole);
 * a cache or a pool grows and then holds (the later half flat), whatever it reached.
 *
 * <p>Invariant: {@code spanNanos > 0} whenever {@code points >= 2}; with fewer points every rate
 * is 0 and {@code fit} is 0.
 */
public record SiteTrend(SiteSeries series, int points, long spanNanos, long growthBytes, double bytesPerSecond,
        double fit, double laterHalfBytesPerSecond) {

    private static final double NANOS_PER_SECOND = 1e9;

    public static SiteTrend of(SiteSeries s) {
        List<SiteSample> p = s.samples();
        int n = p.size();
        long span = n < 2 ? 0 : p.get(n - 1).timeNanos() - p.get(0).timeNanos();
        if (n < 2 || span <= 0) {
            return new SiteTrend(s, n, 0, 0, 0, 0, 0);
        }
        long growth = p.get(n - 1).liveBytes() - p.get(0).liveBytes();
        double rate = growth / (span / NANOS_PER_SECOND);

        // Least squares of live bytes on seconds since the first sample; fit = R squared.
        double mx = 0;
        double my = 0;
        for (SiteSample x : p) {
            mx += seconds(x, p.get(0));
            my += x.liveBytes();
        }
        mx /= n;
        my /= n;
        double sxy = 0;
        double sxx = 0;
        double syy = 0;
        for (SiteSample x : p) {
            double dx = seconds(x, p.get(0)) - mx;
            double dy = x.liveBytes() - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        double fit = sxx == 0 || syy == 0 ? 0 : (sxy * sxy) / (sxx * syy);
        if (sxy < 0) {
            fit = 0;   // a good fit of a shrinking site is not growth
        }

        // The later half: from the first sample at or after the middle of the span to the last.
        long middle = p.get(0).timeNanos() + span / 2;
        SiteSample from = p.stream().filter(x -> x.timeNanos() >= middle).findFirst().orElse(p.get(n - 1));
        long laterSpan = p.get(n - 1).timeNanos() - from.timeNanos();
        double later = laterSpan <= 0 ? 0 : (p.get(n - 1).liveBytes() - from.liveBytes()) / (laterSpan / NANOS_PER_SECOND);
        return new SiteTrend(s, n, span, growth, rate, fit, later);
    }

    private static double seconds(SiteSample x, SiteSample first) {
        return (x.timeNanos() - first.timeNanos()) / NANOS_PER_SECOND;
    }

    /**
     * Steady growth: at least minPoints samples, at least minGrowth bytes more at the end than at
     * the start, a straight line fitting at least minFit of the variation, and the later half
     * growing at least laterShare as fast as the whole.
     */
    public boolean growsSteadily(int minPoints, long minGrowth, double minFit, double laterShare) {
        return points >= minPoints && growthBytes >= minGrowth && fit >= minFit
                && laterHalfBytesPerSecond >= laterShare * bytesPerSecond;
    }
}
