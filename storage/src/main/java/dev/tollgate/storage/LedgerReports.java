package dev.tollgate.storage;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Cost reports over the ledger. Each report opens its own read connection, so it runs while the proxy
 * writes; WAL gives it a consistent snapshot and the busy timeout waits out a checkpoint instead of
 * failing with {@code SQLITE_BUSY}.
 *
 * <p>Days and hours are cut in the report's zone, DST included: rows are first summed per UTC quarter
 * hour in SQL (every zone offset in use is a whole number of quarter hours), then each quarter is added
 * to the local day or hour it falls in. Sums stay exact integers throughout.
 */
public final class LedgerReports {

    private static final long QUARTER_HOUR_MS = 15 * 60 * 1000;
    private static final String SUMS = "COUNT(*), SUM(input_tokens), SUM(cached_input_tokens), SUM(output_tokens),"
            + " SUM(reasoning_tokens), SUM(cost_nanos)";
    private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("yyyy-MM-dd");
    private static final DateTimeFormatter HOUR = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:00xxx");

    private final Path path;

    LedgerReports(Path path) {
        this.path = path;
    }

    /** A reader for a ledger file that some other process (a running proxy) writes. */
    public static LedgerReports of(Path path) {
        return new LedgerReports(path);
    }

    public Report report(ReportQuery query) throws SQLException {
        Map<String, Report.Line> groups = new LinkedHashMap<>();
        boolean timeBuckets = query.by().column() == null;
        String key = timeBuckets ? "ts_ms / " + QUARTER_HOUR_MS : "COALESCE(" + query.by().column() + ", '(none)')";
        String sql = "SELECT " + key + " AS k, " + SUMS + " FROM calls WHERE ts_ms >= ? AND ts_ms < ?"
                + (query.agent() != null ? " AND agent = ?" : "") + " GROUP BY k";
        try (Connection connection = Ledger.connect(path, true);
                PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setLong(1, query.sinceMs());
            statement.setLong(2, query.untilMs());
            if (query.agent() != null) {
                statement.setString(3, query.agent());
            }
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    String group = timeBuckets ? bucket(rs.getLong(1) * QUARTER_HOUR_MS, query) : rs.getString(1);
                    Report.Line line = new Report.Line(group, rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5),
                            rs.getLong(6), rs.getLong(7));
                    groups.merge(group, line, Report.Line::plus);
                }
            }
        }
        List<Report.Line> lines = new ArrayList<>(groups.values());
        lines.sort(Comparator.comparingLong(Report.Line::costNanos).reversed().thenComparing(Report.Line::key));
        Report.Line total = new Report.Line("total", 0, 0, 0, 0, 0, 0);
        for (Report.Line line : lines) {
            total = total.plus(line);
        }
        List<Report.Line> shown = lines.size() > query.limit() ? List.copyOf(lines.subList(0, query.limit())) : List.copyOf(lines);
        return new Report(query, shown, total, lines.size());
    }

    /** The local day ({@code 2026-11-22}) or hour ({@code 2026-11-22T14:00+01:00}) an instant falls in. */
    private static String bucket(long epochMs, ReportQuery query) {
        ZonedDateTime local = Instant.ofEpochMilli(epochMs).atZone(query.zone());
        return query.by() == ReportQuery.GroupBy.DAY
                ? DAY.format(local)
                : HOUR.format(local.truncatedTo(ChronoUnit.HOURS));
    }
}
