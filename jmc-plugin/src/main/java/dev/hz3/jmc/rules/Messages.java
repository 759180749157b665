package dev.hz3.jmc.rules;

import java.text.MessageFormat;
import java.util.Locale;
import java.util.MissingResourceException;
import java.util.ResourceBundle;

/**
 * The rules' texts, from messages.properties beside this class (MessageFormat patterns: a
 * literal apostrophe is written twice). Arguments are passed already formatted and, where they
 * come from a recording, stripped of control characters: JMC shows every result text as plain
 * text (markup would appear literally), so the texts are sentences and line breaks only.
 */
final class Messages {

    private static final String BUNDLE = "dev.hz3.jmc.rules.messages";

    private Messages() {
    }

    /** The text of key, with MessageFormat quoting resolved. */
    static String get(String key) {
        return format(key);
    }

    /** The text of key with its {n} filled in; numbers are written plainly (no grouping). */
    static String format(String key, Object... args) {
        String pattern;
        try {
            pattern = ResourceBundle.getBundle(BUNDLE, Locale.getDefault(), Messages.class.getClassLoader())
                    .getString(key);
        } catch (MissingResourceException e) {
            return '!' + key + '!';
        }
        Object[] plain = new Object[args.length];
        for (int i = 0; i < args.length; i++) {
            plain[i] = args[i] instanceof Number ? args[i].toString() : args[i];
        }
        return new MessageFormat(pattern, Locale.ROOT).format(plain);
    }
}
