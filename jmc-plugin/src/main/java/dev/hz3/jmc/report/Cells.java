package dev.hz3.jmc.report;

import static dev.hz3.jmc.report.Format.esc;

/**
 * The cells of one table row, each with where its number came from: {@code data-event} (type
 * id), {@code data-field}, {@code data-key} (which event: seqLast and tier or rank, or "last") and
 * {@code data-value} (the exact value). The report's test checks each against a
 * {@code jdk.jfr.consumer.RecordingFile} parse of the same recording.
 */
final class Cells {

    private final StringBuilder h;
    private final String event;
    private final String key;

    Cells(StringBuilder h, String event, String key) {
        this.h = h;
        this.event = event;
        this.key = key;
    }

    private StringBuilder open(String field, String value, String cls) {
        return h.append("<td class=\"").append(cls).append("\" data-event=\"").append(esc(event))
                .append("\" data-field=\"").append(esc(field)).append("\" data-key=\"").append(esc(key))
                .append("\" data-value=\"").append(esc(value)).append('"');
    }

    /** A byte field whose value reads as words: the exact value stays in data-value and title. */
    void shown(String field, long v, String words) {
        open(field, Long.toString(v), "num").append(" title=\"").append(Format.count(v)).append(" bytes\">")
                .append(esc(words)).append("</td>");
    }

    void count(String field, long v) {
        open(field, Long.toString(v), "num").append('>').append(Format.count(v)).append("</td>");
    }

    void bytes(String field, long v) {
        open(field, Long.toString(v), "num").append(" title=\"").append(Format.count(v)).append(" bytes\">")
                .append(esc(Format.bytes(v))).append("</td>");
    }

    void percent(String field, double v) {
        open(field, Double.toString(v), "num").append('>').append(esc(Format.percent(v))).append("</td>");
    }

    void text(String field, String v) {
        open(field, v, "text").append('>').append(esc(v)).append("</td>");
    }
}
