package dev.tollgate.storage;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the times of {@code --since} and {@code --until}: an ISO date (its start, in the zone), an ISO
 * date-time (with an offset, or local to the zone), {@code today}, {@code yesterday} (their starts), or
 * a span back from now ({@code 7d}, {@code 24h}, {@code 30m}).
 */
public final class ReportTime {

    private static final Pattern SPAN = Pattern.compile("(\\d+)([dhm])");

    private ReportTime() {
    }

    public static Instant parse(String text, ZoneId zone, Instant now) {
        String t = text.trim();
        LocalDate today = now.atZone(zone).toLocalDate();
        switch (t.toLowerCase(java.util.Locale.ROOT)) {
            case "now":
                return now;
            case "today":
                return today.atStartOfDay(zone).toInstant();
            case "yesterday":
                return today.minusDays(1).atStartOfDay(zone).toInstant();
            default:
                break;
        }
        Matcher span = SPAN.matcher(t);
        if (span.matches()) {
            try {
                long n = Long.parseLong(span.group(1));
                return switch (span.group(2)) {
                    case "d" -> now.minusSeconds(Math.multiplyExact(n, 86_400L));
                    case "h" -> now.minusSeconds(Math.multiplyExact(n, 3_600L));
                    default -> now.minusSeconds(Math.multiplyExact(n, 60L));
                };
            } catch (ArithmeticException | java.time.DateTimeException | NumberFormatException e) {
                throw new IllegalArgumentException("'" + text + "' reaches too far back");
            }
        }
        try {
            if (t.length() == 10) {
                return LocalDate.parse(t).atStartOfDay(zone).toInstant();
            }
            if (t.endsWith("Z") || t.matches(".*[+-]\\d{2}:\\d{2}$")) {
                return OffsetDateTime.parse(t).toInstant();
            }
            return LocalDateTime.parse(t).atZone(zone).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'" + text + "' is not a time: use an ISO date (2026-11-22), a date-time"
                    + " (2026-11-22T14:00 or 2026-11-22T14:00Z), today, yesterday, or a span like 7d, 24h, 30m");
        }
    }
}
