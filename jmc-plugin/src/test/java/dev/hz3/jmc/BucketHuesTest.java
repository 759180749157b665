package dev.hz3.jmc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.openjdk.jmc.common.util.ColorToolkit;

/**
 * The five occupancy buckets are drawn by JMC's line chart in colours it derives from the fields'
 * ids alone, and pages.xml cannot set colours or a legend (issue 11: three of five lines were
 * near-identical greens). JMC 9.1.2 (DataPageToolkit.getFieldColor, for fields it has no fixed
 * colour for, calls ColorToolkit.getDistinguishableColor(id)) takes the id's String hash h and
 * uses the hue ((h + 19) % 30) / 29 (Java's remainder, so negative for a negative sum; the hue
 * wraps round at 1): one of 29 hues, 12.4 degrees apart. Saturation and brightness come from
 * |h| too, within [0.4, 0.95] and [0.7, 0.95].
 */
class BucketHuesTest {

    /** Five of 29 hues can be at most 5 steps (62 degrees) apart; ask that, not the 37 degrees that 3 steps give. */
    static final double MIN_DEGREES = 60;

    /** JMC's hue of a field id, in degrees in [0, 360), as the class comment describes it. */
    static double hueDegrees(String fieldId) {
        float hue = (fieldId.hashCode() + 19) % 30 / 29.0f;
        return (hue - Math.floor(hue)) * 360;
    }

    /** The smallest difference of hue, round the circle, between any two of the ids. */
    static double minSeparation(List<String> ids) {
        double min = 360;
        for (int i = 0; i < ids.size(); i++) {
            for (int j = i + 1; j < ids.size(); j++) {
                double d = Math.abs(hueDegrees(ids.get(i)) - hueDegrees(ids.get(j)));
                min = Math.min(min, Math.min(d, 360 - d));
            }
        }
        return min;
    }

    @Test
    void theBucketsHuesAreWellApart() {
        double sep = minSeparation(Hz3Attributes.OCC_BUCKETS);
        assertTrue(sep >= MIN_DEGREES, () -> "bucket hues only " + sep + " degrees apart: " + hues());
    }

    @Test
    void theOldIdsWereNot() {
        // occ1to25, occ25to50 and occ50to75 at 62, 87 and 149 degrees; occ75to100 at 25: the greens.
        assertEquals(360.0 * 2 / 29, minSeparation(Hz3Attributes.OCC_BUCKETS_BEFORE), 1e-3);
    }

    /**
     * The description above is JMC's own function: ColorToolkit is in the org.openjdk.jmc:common
     * bundle this plug-in builds against (the same one JMC's UI calls).
     */
    @Test
    void theHueIsJmcsOwn() {
        for (String id : List.of(Hz3Attributes.OCC_BUCKETS, Hz3Attributes.OCC_BUCKETS_BEFORE).stream()
                .flatMap(List::stream).toList()) {
            Color c = ColorToolkit.getDistinguishableColor(id);
            float[] hsb = Color.RGBtoHSB(c.getRed(), c.getGreen(), c.getBlue(), null);
            double d = Math.abs(hsb[0] * 360 - hueDegrees(id));
            // The colour is rounded to 8-bit channels: the hue read back is within a degree or so.
            assertTrue(Math.min(d, 360 - d) < 1.5, () -> id + ": JMC's hue " + hsb[0] * 360 + ", ours "
                    + hueDegrees(id));
        }
    }

    private static String hues() {
        StringBuilder b = new StringBuilder();
        for (String id : Hz3Attributes.OCC_BUCKETS) {
            b.append(id).append('=').append(Math.round(hueDegrees(id))).append(' ');
        }
        return b.toString();
    }
}
