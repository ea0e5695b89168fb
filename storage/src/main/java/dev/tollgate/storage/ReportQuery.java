package dev.tollgate.storage;

import java.time.ZoneId;

/**
 * What a report asks for (SPEC §2, {@code tollgate report}): a grouping, a half-open time range
 * {@code [sinceMs, untilMs)}, an optional agent, a row limit, and the zone days and hours are cut in.
 */
public record ReportQuery(GroupBy by, long sinceMs, long untilMs, String agent, int limit, ZoneId zone) {

    public ReportQuery {
        if (untilMs < sinceMs) {
            throw new IllegalArgumentException("the report range ends before it starts");
        }
        if (limit <= 0) {
            throw new IllegalArgumentException("--limit must be > 0");
        }
    }

    /** The columns a report can group by. */
    public enum GroupBy {
        AGENT("agent"), INTENT("intent"), TEAM("team"), MODEL("model"), DAY(null), HOUR(null);

        private final String column;

        GroupBy(String column) {
            this.column = column;
        }

        /** The {@code calls} column grouped on, or null for the time buckets. */
        String column() {
            return column;
        }

        public static GroupBy parse(String text) {
            for (GroupBy by : values()) {
                if (by.name().equalsIgnoreCase(text)) {
                    return by;
                }
            }
            throw new IllegalArgumentException("--by must be agent, intent, team, model, day or hour, got '" + text + "'");
        }
    }
}
