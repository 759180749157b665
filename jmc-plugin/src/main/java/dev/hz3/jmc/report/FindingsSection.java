package dev.hz3.jmc.report;

import static dev.hz3.jmc.report.Format.esc;

import java.util.Locale;

import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.Severity;

/** The report's "Findings": one row per rule result, its explanation behind "Details". */
final class FindingsSection {

    private FindingsSection() {
    }

    static void html(StringBuilder h, ReportModel m) {
        h.append("<h2>Findings</h2>\n<table id=\"rules\">\n<tr><th>Severity</th><th class=\"num\">Score</th>")
                .append("<th>Rule</th><th>Result</th></tr>\n");
        int notApplicable = 0;
        for (IResult r : m.results()) {
            Severity s = r.getSeverity();
            if (m.onGlibc() && s == Severity.NA) {
                // The rules that read the allocator's census say only that it is missing.
                notApplicable++;
                continue;
            }
            h.append("<tr data-rule=\"").append(esc(r.getRule().getId())).append("\"><td><span class=\"sev sev-")
                    .append(s.name().toLowerCase(Locale.ROOT)).append("\">").append(esc(Format.severityName(s)))
                    .append("</span></td><td class=\"num\">").append(esc(Format.score(r))).append("</td><td>")
                    .append(esc(r.getRule().getName())).append("</td><td>").append(esc(nz(r.getSummary())));
            String explanation = nz(r.getExplanation()) + solution(r);
            if (!explanation.isEmpty()) {
                // Rule texts are plain text (as JMC shows them): escaped, their line breaks kept.
                h.append("<details><summary>Details</summary><div class=\"explanation\" style=\"white-space: pre-line\">")
                        .append(esc(explanation)).append("</div></details>");
            }
            h.append("</td></tr>\n");
        }
        h.append("</table>\n");
        if (notApplicable > 0) {
            h.append("<p class=\"note\">").append(notApplicable)
                    .append(notApplicable == 1 ? " rule reads" : " rules read")
                    .append(" a page census that glibc's malloc does not keep: not shown.</p>\n");
        }
    }

    private static String solution(IResult r) {
        String s = r.getSolution();
        return s == null || s.isEmpty() ? "" : "\n\nWhat to do: " + s;
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
