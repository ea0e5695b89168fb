package dev.tollgate.config;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.time.temporal.TemporalAdjusters;

/**
 * A calendar window in the config's {@code time_zone}: the current minute, hour, day, ISO week (from
 * Monday) or month. Boundaries are wall-clock boundaries, so a day across a DST change is 23 or 25
 * hours long and resets at local midnight.
 */
public enum Window {
    MINUTE, HOUR, DAY, WEEK, MONTH;

    /** The start of the window containing {@code now}. */
    public Instant start(Instant now, ZoneId zone) {
        ZonedDateTime local = now.atZone(zone);
        ZonedDateTime start = switch (this) {
            case MINUTE -> local.truncatedTo(ChronoUnit.MINUTES);
            case HOUR -> local.truncatedTo(ChronoUnit.HOURS);
            case DAY -> local.toLocalDate().atStartOfDay(zone);
            case WEEK -> local.toLocalDate().with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY)).atStartOfDay(zone);
            case MONTH -> local.toLocalDate().withDayOfMonth(1).atStartOfDay(zone);
        };
        return start.toInstant();
    }

    /** The start of the next window: when a limit of this window resets. */
    public Instant end(Instant now, ZoneId zone) {
        ZonedDateTime local = now.atZone(zone);
        ZonedDateTime end = switch (this) {
            case MINUTE -> local.truncatedTo(ChronoUnit.MINUTES).plusMinutes(1);
            case HOUR -> {
                // An hour after this hour's start; where a half-hour DST shift (Lord Howe) makes that not
                // later than now, the window runs to the next half hour instead, so it always ends after now.
                Instant next = start(now, zone).plus(1, ChronoUnit.HOURS);
                while (!next.isAfter(now)) {
                    next = next.plus(30, ChronoUnit.MINUTES);
                }
                yield ZonedDateTime.ofInstant(next, zone);
            }
            case DAY -> local.toLocalDate().plusDays(1).atStartOfDay(zone);
            case WEEK -> local.toLocalDate().with(TemporalAdjusters.next(DayOfWeek.MONDAY)).atStartOfDay(zone);
            case MONTH -> local.toLocalDate().withDayOfMonth(1).plusMonths(1).atStartOfDay(zone);
        };
        return end.toInstant();
    }

    /** The word used in limit keys ({@code day} in {@code max_cost_per_day_usd}). */
    public String word() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
