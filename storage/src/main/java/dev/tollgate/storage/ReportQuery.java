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

    /** The default number of lines of a report. */
    public static final int DEFAULT_LIMIT = 50;

    /**
     * A query from the words of the CLI or the admin API ({@code --by agent --since today}); null
     * arguments take the defaults: by agent, since the start of today, until now, 50 lines.
     */
    public static ReportQuery of(String by, String since, String until, String agent, Integer limit, ZoneId zone,
            java.time.Instant now) {
        GroupBy groupBy = by == null ? GroupBy.AGENT : GroupBy.parse(by);
        long from = ReportTime.parse(since == null ? "today" : since, zone, now).toEpochMilli();
        long to = until == null ? now.toEpochMilli() + 1 : ReportTime.parse(until, zone, now).toEpochMilli();
        return new ReportQuery(groupBy, from, to, agent == null || agent.isEmpty() ? null : agent,
                limit == null ? DEFAULT_LIMIT : limit, zone);
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
