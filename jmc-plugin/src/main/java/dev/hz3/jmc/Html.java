package dev.hz3.jmc;

/** HTML escaping for text that comes from a recording: one place for the rules and the report. */
public final class Html {

    private Html() {
    }

    /**
     * {@code s} with the five characters that matter in HTML text and attributes escaped, and every
     * control character but tab, line feed and carriage return (which HTML reads as white space)
     * replaced by U+FFFD: HTML forbids the others, and a character reference would not do, since
     * browsers read &amp;#128; to &amp;#159; as Windows-1252.
     */
    public static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (char c : s.toCharArray()) {
            switch (c) {
            case '<' -> b.append("&lt;");
            case '>' -> b.append("&gt;");
            case '&' -> b.append("&amp;");
            case '"' -> b.append("&quot;");
            case '\'' -> b.append("&#39;");
            default -> b.append((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || (c >= 0x7f && c <= 0x9f)
                    ? '\ufffd' : c);
            }
        }
        return b.toString();
    }
}
