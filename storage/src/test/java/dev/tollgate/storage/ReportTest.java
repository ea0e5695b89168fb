package dev.tollgate.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reports against sums computed by hand, across zone day edges and both DST changes. */
class ReportTest {

    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

    @TempDir
    Path dir;

    private static long ms(String instant) {
        return Instant.parse(instant).toEpochMilli();
    }

    private Ledger ledgerWith(CallRow... rows) throws Exception {
        Ledger ledger = Ledger.open(dir.resolve("r.db"));
        for (CallRow row : rows) {
            ledger.append(row);
        }
        ledger.flush(5, TimeUnit.SECONDS);
        return ledger;
    }

    private static String keys(Report report) {
        return report.lines().stream().map(l -> l.key() + "=" + l.costNanos()).collect(Collectors.joining(" "));
    }

    @Test
    void daysAndHoursFollowTheZoneAcrossTheAutumnDstChange() throws Exception {
        // 2026-10-25 in Berlin: 03:00 CEST becomes 02:00 CET at 01:00 UTC, so the day has 25 hours.
        try (Ledger ledger = ledgerWith(
                LedgerTest.call(ms("2026-10-24T21:59:59.999Z"), "a", null, null, 1),        // Oct 24 23:59:59.999 CEST
                LedgerTest.call(ms("2026-10-24T22:00:00Z"), "a", null, null, 10),           // Oct 25 00:00 CEST
                LedgerTest.call(ms("2026-10-25T00:30:00Z"), "a", null, null, 100),          // 02:30 CEST, first time
                LedgerTest.call(ms("2026-10-25T01:30:00Z"), "a", null, null, 1_000),        // 02:30 CET, second time
                LedgerTest.call(ms("2026-10-25T22:59:59Z"), "a", null, null, 10_000),       // Oct 25 23:59:59 CET
                LedgerTest.call(ms("2026-10-25T23:00:00Z"), "a", null, null, 100_000))) {   // Oct 26 00:00 CET
            long since = ms("2026-10-24T00:00:00Z");
            long until = ms("2026-10-27T00:00:00Z");

            Report days = ledger.reports().report(new ReportQuery(ReportQuery.GroupBy.DAY, since, until, null, 100, BERLIN));
            Report hours = ledger.reports().report(new ReportQuery(ReportQuery.GroupBy.HOUR, since, until, null, 100, BERLIN));

            assertThat(keys(days)).isEqualTo("2026-10-26=100000 2026-10-25=11110 2026-10-24=1");
            assertThat(days.total().costNanos()).isEqualTo(111_111);
            assertThat(hours.lines()).extracting(Report.Line::key)
                    .contains("2026-10-25T02:00+02:00", "2026-10-25T02:00+01:00");
            assertThat(hours.lines().stream().filter(l -> l.key().startsWith("2026-10-25T02:00")).mapToLong(Report.Line::costNanos))
                    .containsExactlyInAnyOrder(100L, 1_000L);
        }
    }

    @Test
    void springForwardAndQuarterHourZones() throws Exception {
        try (Ledger ledger = ledgerWith(
                LedgerTest.call(ms("2026-03-29T00:59:00Z"), "a", null, null, 3),   // 01:59 CET
                LedgerTest.call(ms("2026-03-29T01:00:00Z"), "a", null, null, 5),   // 03:00 CEST
                LedgerTest.call(ms("2026-11-21T18:14:59Z"), "b", null, null, 7),   // Kathmandu Nov 21 23:59:59 (+05:45)
                LedgerTest.call(ms("2026-11-21T18:15:00Z"), "b", null, null, 11))) { // Kathmandu Nov 22 00:00
            Report berlinHours = ledger.reports().report(new ReportQuery(ReportQuery.GroupBy.HOUR,
                    ms("2026-03-28T00:00:00Z"), ms("2026-03-30T00:00:00Z"), null, 100, BERLIN));
            Report kathmanduDays = ledger.reports().report(new ReportQuery(ReportQuery.GroupBy.DAY,
                    ms("2026-11-20T00:00:00Z"), ms("2026-11-23T00:00:00Z"), "b", 100, ZoneId.of("Asia/Kathmandu")));

            assertThat(keys(berlinHours)).isEqualTo("2026-03-29T03:00+02:00=5 2026-03-29T01:00+01:00=3");
            assertThat(keys(kathmanduDays)).isEqualTo("2026-11-22=11 2026-11-21=7");
        }
    }

    @Test
    void groupsAreSortedByCostLimitedAndTotalledOverEverything() throws Exception {
        try (Ledger ledger = ledgerWith(
                LedgerTest.call(1_000, "research", "t-1", "support", 5_000_000_000L),
                LedgerTest.call(1_001, "research", "t-2", "support", 1),
                LedgerTest.call(1_002, "billing", "t-3", null, 2_000_000_000L),
                LedgerTest.call(1_003, "triage", null, "support", 3),
                LedgerTest.call(5_000, "research", "t-1", "support", 99))) {   // outside the range
            Report agents = ledger.reports().report(new ReportQuery(ReportQuery.GroupBy.AGENT, 1_000, 5_000, null, 2, BERLIN));
            Report teams = ledger.reports().report(new ReportQuery(ReportQuery.GroupBy.TEAM, 1_000, 5_000, null, 10, BERLIN));
            Report intents = ledger.reports().report(new ReportQuery(ReportQuery.GroupBy.INTENT, 0, 10_000, "research", 10, BERLIN));

            assertThat(keys(agents)).isEqualTo("research=5000000001 billing=2000000000");
            assertThat(agents.groups()).isEqualTo(3);
            assertThat(agents.total().costNanos()).isEqualTo(7_000_000_004L);
            assertThat(agents.total().calls()).isEqualTo(4);
            assertThat(keys(teams)).isEqualTo("support=5000000004 (none)=2000000000");
            assertThat(keys(intents)).isEqualTo("t-1=5000000099 t-2=1");
        }
    }

    @Test
    void formatsShowExactDollars() throws Exception {
        try (Ledger ledger = ledgerWith(
                LedgerTest.call(1_000, "research", "t-1", null, 50_021_300_000L),
                LedgerTest.call(1_001, "odd,name", "t-2", null, 12))) {
            Report report = ledger.reports().report(new ReportQuery(ReportQuery.GroupBy.AGENT, 0, 2_000, null, 10, BERLIN));

            String table = ReportFormat.TABLE.render(report);
            String csv = ReportFormat.CSV.render(report);
            JsonNode json = new ObjectMapper().readTree(ReportFormat.JSON.render(report));

            assertThat(table).contains("research").contains("50.0213").contains("0.000000012").contains("TOTAL")
                    .contains("50.021300012");
            assertThat(csv.lines()).containsExactly(
                    "agent,calls,input_tokens,cached_input_tokens,output_tokens,reasoning_tokens,cost_nanos,cost_usd",
                    "research,1,100,20,50,0,50021300000,50.0213",
                    "\"odd,name\",1,100,20,50,0,12,0.000000012");
            assertThat(json.path("rows").get(0).path("cost_usd").asText()).isEqualTo("50.0213");
            assertThat(json.path("total").path("cost_nanos").asLong()).isEqualTo(50_021_300_012L);
            assertThat(json.path("time_zone").asText()).isEqualTo("Europe/Berlin");
        }
    }

    @Test
    void timesParseLikeTheSpecSays() {
        Instant now = Instant.parse("2026-11-22T10:15:00Z");
        ZoneId zone = ZoneId.of("America/New_York");

        assertThat(ReportTime.parse("today", zone, now)).isEqualTo(Instant.parse("2026-11-22T05:00:00Z"));
        assertThat(ReportTime.parse("yesterday", zone, now)).isEqualTo(Instant.parse("2026-11-21T05:00:00Z"));
        assertThat(ReportTime.parse("7d", zone, now)).isEqualTo(Instant.parse("2026-11-15T10:15:00Z"));
        assertThat(ReportTime.parse("24h", zone, now)).isEqualTo(Instant.parse("2026-11-21T10:15:00Z"));
        assertThat(ReportTime.parse("2026-07-04", zone, now)).isEqualTo(Instant.parse("2026-07-04T04:00:00Z"));
        assertThat(ReportTime.parse("2026-07-04T12:00", zone, now)).isEqualTo(Instant.parse("2026-07-04T16:00:00Z"));
        assertThat(ReportTime.parse("2026-07-04T12:00Z", zone, now)).isEqualTo(Instant.parse("2026-07-04T12:00:00Z"));
        assertThatThrownBy(() -> ReportTime.parse("last tuesday", zone, now)).hasMessageContaining("not a time");
    }
}
