package dev.tollgate.storage;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Renders a report as a table for people, CSV for spreadsheets, or JSON for tools (the same JSON the
 * admin API returns). Dollar amounts are exact: nano-dollars shown with as many decimals as they need.
 */
public enum ReportFormat {
    TABLE, CSV, JSON;

    public static ReportFormat parse(String text) {
        for (ReportFormat format : values()) {
            if (format.name().equalsIgnoreCase(text)) {
                return format;
            }
        }
        throw new IllegalArgumentException("--format must be table, csv or json, got '" + text + "'");
    }

    public String render(Report report) {
        return switch (this) {
            case TABLE -> table(report);
            case CSV -> csv(report);
            case JSON -> json(report);
        };
    }

    /** Exact dollars with at least two decimals: {@code 12.50}, {@code 0.000012345}. */
    public static String dollars(long nanos) {
        BigDecimal value = BigDecimal.valueOf(nanos, 9).stripTrailingZeros();
        if (value.scale() < 2) {
            value = value.setScale(2);
        }
        return value.toPlainString();
    }

    private static String table(Report report) {
        String keyHeader = report.query().by().name().toLowerCase(Locale.ROOT).toUpperCase(Locale.ROOT);
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {keyHeader, "CALLS", "INPUT", "CACHED", "OUTPUT", "REASONING", "COST USD"});
        for (Report.Line line : report.lines()) {
            rows.add(cells(line, line.key()));
        }
        rows.add(cells(report.total(), "TOTAL"));
        int[] widths = new int[7];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "Cost by %s, %s to %s (%s)%n", report.query().by().name().toLowerCase(Locale.ROOT),
                Instant.ofEpochMilli(report.query().sinceMs()).atZone(report.query().zone()).toLocalDateTime(),
                Instant.ofEpochMilli(report.query().untilMs()).atZone(report.query().zone()).toLocalDateTime(),
                report.query().zone()));
        for (int r = 0; r < rows.size(); r++) {
            if (r == rows.size() - 1) {
                out.append("-".repeat(sum(widths) + 2 * (widths.length - 1))).append('\n');
            }
            String[] row = rows.get(r);
            for (int i = 0; i < row.length; i++) {
                String cell = row[i];
                boolean left = i == 0;
                out.append(left ? pad(cell, widths[i], true) : pad(cell, widths[i], false));
                out.append(i == row.length - 1 ? "\n" : "  ");
            }
        }
        if (report.groups() > report.lines().size()) {
            out.append(String.format(Locale.ROOT, "(%d more not shown; the total covers all %d)%n",
                    report.groups() - report.lines().size(), report.groups()));
        }
        return out.toString();
    }

    private static String[] cells(Report.Line line, String key) {
        return new String[] {key, Long.toString(line.calls()), Long.toString(line.inputTokens()),
                Long.toString(line.cachedInputTokens()), Long.toString(line.outputTokens()),
                Long.toString(line.reasoningTokens()), dollars(line.costNanos())};
    }

    private static int sum(int[] values) {
        int total = 0;
        for (int v : values) {
            total += v;
        }
        return total;
    }

    private static String pad(String text, int width, boolean left) {
        String spaces = " ".repeat(Math.max(0, width - text.length()));
        return left ? text + spaces : spaces + text;
    }

    private static String csv(Report report) {
        StringBuilder out = new StringBuilder();
        out.append(report.query().by().name().toLowerCase(Locale.ROOT))
                .append(",calls,input_tokens,cached_input_tokens,output_tokens,reasoning_tokens,cost_nanos,cost_usd\n");
        for (Report.Line line : report.lines()) {
            out.append(csvField(line.key())).append(',').append(line.calls()).append(',').append(line.inputTokens())
                    .append(',').append(line.cachedInputTokens()).append(',').append(line.outputTokens()).append(',')
                    .append(line.reasoningTokens()).append(',').append(line.costNanos()).append(',')
                    .append(dollars(line.costNanos())).append('\n');
        }
        return out.toString();
    }

    private static String csvField(String value) {
        return value.contains(",") || value.contains("\"") || value.contains("\n")
                ? "\"" + value.replace("\"", "\"\"") + "\"" : value;
    }

    private static String json(Report report) {
        StringBuilder out = new StringBuilder();
        ReportQuery q = report.query();
        out.append("{\"by\":").append(quote(q.by().name().toLowerCase(Locale.ROOT)))
                .append(",\"since\":").append(quote(Instant.ofEpochMilli(q.sinceMs()).toString()))
                .append(",\"until\":").append(quote(Instant.ofEpochMilli(q.untilMs()).toString()))
                .append(",\"time_zone\":").append(quote(q.zone().getId()))
                .append(",\"agent\":").append(q.agent() == null ? "null" : quote(q.agent()))
                .append(",\"groups\":").append(report.groups())
                .append(",\"rows\":[");
        for (int i = 0; i < report.lines().size(); i++) {
            out.append(i == 0 ? "" : ",");
            jsonLine(out, report.lines().get(i), true);
        }
        out.append("],\"total\":");
        jsonLine(out, report.total(), false);
        return out.append("}\n").toString();
    }

    private static void jsonLine(StringBuilder out, Report.Line line, boolean withKey) {
        out.append('{');
        if (withKey) {
            out.append("\"key\":").append(quote(line.key())).append(',');
        }
        out.append("\"calls\":").append(line.calls())
                .append(",\"input_tokens\":").append(line.inputTokens())
                .append(",\"cached_input_tokens\":").append(line.cachedInputTokens())
                .append(",\"output_tokens\":").append(line.outputTokens())
                .append(",\"reasoning_tokens\":").append(line.reasoningTokens())
                .append(",\"cost_nanos\":").append(line.costNanos())
                .append(",\"cost_usd\":").append(quote(dollars(line.costNanos())))
                .append('}');
    }

    /** A JSON string literal; keys come from agent and intent ids, so everything outside ASCII printables is escaped. */
    private static String quote(String value) {
        StringBuilder out = new StringBuilder(value.length() + 2).append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }
}
