package dev.hz3.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LogTest {

    @Test
    void quoteEscapesControlCharactersAndCutsLongValues() {
        assertEquals("'top=x'", Log.quote("top=x"));
        assertEquals("'top=1\\nhz3-agent: forged\\r\\t\\u001b[31m\\u2028'",
                Log.quote("top=1\nhz3-agent: forged\r\t\u001b[31m\u2028"));
        String q = Log.quote("top=" + "x".repeat(100_000));
        assertTrue(q.startsWith("'top=xxx"), q);
        assertTrue(q.endsWith("...' (cut: 100004 characters)"), q);
        assertTrue(q.length() < Log.QUOTE_MAX + 50, q);
    }

    @Test
    void everyMessageIsOneLine() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Log.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            Log.error("two\nlines");
        } finally {
            Log.setOut(System.err);
        }
        assertEquals("hz3-agent: two\\nlines\n", bytes.toString(StandardCharsets.UTF_8));
    }
}
