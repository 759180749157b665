package dev.hz3.jmc.report;

import java.util.Locale;

/**
 * Text for a terminal from a recording (thread and class names, settings, event strings, file
 * names): a recording can hold any characters, and ESC, CSI, BEL, CR or backspace printed as they
 * are would move the cursor, clear the screen, rewrite a line or set the window's title.
 */
final class Terminal {

    private Terminal() {
    }

    /**
     * {@code s} with every control character (C0, DEL, C1, so ESC, CSI, BEL, CR, LF, tab and
     * backspace among them) and every bidirectional-format character shown as a visible escape:
     * a backslash and x1b for ESC, a backslash and u202e for RIGHT-TO-LEFT OVERRIDE; nothing else
     * changes.
     */
    static String printable(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean control = c < 0x20 || (c >= 0x7f && c <= 0x9f);
            boolean bidi = (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069')
                    || c == '\u200e' || c == '\u200f' || c == '\u061c';
            if (!control && !bidi) {
                if (b != null) {
                    b.append(c);
                }
                continue;
            }
            if (b == null) {
                b = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            b.append(String.format(Locale.ROOT, control ? "\\x%02x" : "\\u%04x", (int) c));
        }
        return b == null ? s : b.toString();
    }
}
