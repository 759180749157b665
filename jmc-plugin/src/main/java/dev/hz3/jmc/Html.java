package dev.hz3.jmc;

/** HTML escaping for text that comes from a recording: one place for the rules and the report. */
public final class Html {

    private Html() {
    }

    /** {@code s} with the five characters that matter in HTML text and attributes escaped. */
    public static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (char c : s.toCharArray()) {
            switch (c) {
            case '<' -> b.append("&lt;");
            case '>' -> b.append("&gt;");
            case '&' -> b.append("&amp;");
            case '"' -> b.append("&quot;");
            case '\'' -> b.append("&#39;");
            default -> b.append(c);
            }
        }
        return b.toString();
    }
}
