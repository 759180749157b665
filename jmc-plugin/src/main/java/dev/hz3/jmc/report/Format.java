package dev.hz3.jmc.report;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.Severity;
import org.openjdk.jmc.flightrecorder.rules.TypedResult;

import dev.hz3.jmc.Html;

/**
 * How the report writes numbers, times and text, in the page and on the terminal alike: counts
 * with thousands separators, bytes in binary units, times as seconds from the recording's start.
 */
final class Format {

    private Format() {
    }

    static String count(long v) {
        return String.format(Locale.ROOT, "%,d", v);
    }

    /** Binary units, one decimal: "48.9 MiB"; plain bytes below 1 KiB. */
    static String bytes(long v) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        double d = v;
        int i = 0;
        while (Math.abs(d) >= 1024 && i < units.length - 1) {
            d /= 1024;
            i++;
        }
        return i == 0 ? v + " B" : String.format(Locale.ROOT, "%.1f %s", d, units[i]);
    }

    static String percent(double fraction) {
        return String.format(Locale.ROOT, "%.1f %%", fraction * 100);
    }

    static String seconds(long millis) {
        return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }

    static long millis(long nanos) {
        return Math.floorDiv(nanos, 1_000_000L);
    }

    static String utc(long millis) {
        return DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT)
                .format(Instant.ofEpochMilli(millis).atOffset(ZoneOffset.UTC));
    }

    /** A time as seconds since the recording's start: "+12.3 s". */
    static String offset(ReportModel m, long nanos) {
        return "+" + seconds(millis(nanos) - m.startMillis());
    }

    static String severityName(Severity s) {
        return s == Severity.NA ? "N/A" : s.name();
    }

    static String score(IResult r) {
        Object q = r.getResult(TypedResult.SCORE);
        if (q instanceof org.openjdk.jmc.common.unit.IQuantity iq) {
            return String.format(Locale.ROOT, "%.0f", iq.doubleValue());
        }
        return "";
    }

    static String esc(String s) {
        return Html.escape(s);
    }
}
