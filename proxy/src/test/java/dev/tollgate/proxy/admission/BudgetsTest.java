package dev.tollgate.proxy.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.pricing.ModelPrice;
import dev.tollgate.pricing.PriceTable;
import dev.tollgate.proxy.alerts.AlertEvent;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Calendar windows and caps with an injected clock: resets happen exactly at the zone's boundaries. */
class BudgetsTest {

    private static final ModelPrice GPT_4O = PriceTable.bundled().resolve("gpt-4o").orElseThrow().price();

    /** A clock the test moves by hand. */
    static final class TestClock extends Clock {
        Instant now;

        TestClock(String instant) {
            now = Instant.parse(instant);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private final List<AlertEvent> events = new ArrayList<>();

    private Budgets budgets(String yaml, TestClock clock) throws Exception {
        TollgateConfig config = new ConfigLoader(name -> null).parse(yaml);
        return new Budgets(config, clock, events::add);
    }

    private List<AlertEvent> events(String kind) {
        return events.stream().filter(e -> e.kind().equals(kind)).toList();
    }

    private List<AlertEvent> alerts(String reason) {
        return events.stream().filter(e -> reason.equals(e.fields().get("reason"))).toList();
    }

    /** Admits one unpriced call and settles it at {@code costNanos}; returns the admission. */
    private static Admission spend(Budgets budgets, String agent, long costNanos) {
        Admission admission = budgets.admit(agent, null, 0, -1, null, false);
        if (admission instanceof Admission.Admitted admitted) {
            budgets.settle(admitted.reservation(), costNanos, 0);
        }
        return admission;
    }

    @Test
    void requestWindowsResetExactlyAtLocalBoundariesAcrossTheAutumnDstChange() throws Exception {
        // Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC.
        TestClock clock = new TestClock("2026-10-25T00:59:59Z");
        Budgets budgets = budgets("time_zone: Europe/Berlin\ndefaults:\n  max_requests_per_hour: 1\n  max_requests_per_day: 3\n", clock);

        assertThat(spend(budgets, "a", 0)).isInstanceOf(Admission.Admitted.class);
        Admission second = spend(budgets, "a", 0);
        assertThat(second).isInstanceOf(Admission.Refused.class);
        assertThat(((Admission.Refused) second).resetsAtMs()).isEqualTo(Instant.parse("2026-10-25T01:00:00Z").toEpochMilli());

        clock.now = Instant.parse("2026-10-25T01:00:00Z");   // 02:00 CET, the repeated hour: a new hour window
        assertThat(spend(budgets, "a", 0)).isInstanceOf(Admission.Admitted.class);
        clock.now = Instant.parse("2026-10-25T02:00:00Z");
        assertThat(spend(budgets, "a", 0)).isInstanceOf(Admission.Admitted.class);
        clock.now = Instant.parse("2026-10-25T03:00:00Z");
        Admission dayFull = spend(budgets, "a", 0);
        assertThat(dayFull).isInstanceOf(Admission.Refused.class);
        assertThat(((Admission.Refused) dayFull).limit()).isEqualTo("max_requests_per_day");
        // The day has 25 hours: it resets at local midnight, 23:00 UTC.
        assertThat(((Admission.Refused) dayFull).resetsAtMs()).isEqualTo(Instant.parse("2026-10-25T23:00:00Z").toEpochMilli());
        clock.now = Instant.parse("2026-10-25T22:59:59.999Z");
        assertThat(spend(budgets, "a", 0)).isInstanceOf(Admission.Refused.class);
        clock.now = Instant.parse("2026-10-25T23:00:00Z");
        assertThat(spend(budgets, "a", 0)).isInstanceOf(Admission.Admitted.class);
    }

    @Test
    void costWindowsOfWeekAndMonthResetAtMondayAndTheFirst() throws Exception {
        // New York, 2026-11-01 (a Sunday): DST ends at 06:00 UTC.
        TestClock clock = new TestClock("2026-10-31T12:00:00Z");
        Budgets budgets = budgets("time_zone: America/New_York\nagents:\n  a:\n    max_cost_per_week_usd: 1\n"
                + "    max_cost_per_month_usd: 2\n", clock);

        assertThat(spend(budgets, "a", 1_000_000_000L)).isInstanceOf(Admission.Admitted.class);
        Admission weekFull = spend(budgets, "a", 0);
        assertThat(((Admission.Refused) weekFull).limit()).isEqualTo("max_cost_per_week_usd");
        assertThat(((Admission.Refused) weekFull).resetsAtMs())
                .isEqualTo(Instant.parse("2026-11-02T05:00:00Z").toEpochMilli());   // Monday 00:00 EST
        // November 1st 00:00 EDT: a new month, the same week.
        clock.now = Instant.parse("2026-11-01T04:00:00Z");
        assertThat(((Admission.Refused) spend(budgets, "a", 0)).limit()).isEqualTo("max_cost_per_week_usd");
        clock.now = Instant.parse("2026-11-02T05:00:00Z");
        assertThat(spend(budgets, "a", 1_500_000_000L)).isInstanceOf(Admission.Admitted.class);
        assertThat(((Admission.Refused) spend(budgets, "a", 0)).limit()).isEqualTo("max_cost_per_week_usd");
        clock.now = Instant.parse("2026-11-09T05:00:00Z");
        Admission monthFull = budgets.admit("a", null, 0, -1, null, false);
        assertThat(monthFull).isInstanceOf(Admission.Admitted.class);
        budgets.settle(((Admission.Admitted) monthFull).reservation(), 600_000_000L, 0);
        budgets.settle(((Admission.Admitted) monthFull).reservation(), 600_000_000L, 0);   // twice is once
        Admission refused = spend(budgets, "a", 0);
        assertThat(((Admission.Refused) refused).limit()).isEqualTo("max_cost_per_month_usd");
        assertThat(((Admission.Refused) refused).spent()).isEqualTo("2.10");
        assertThat(((Admission.Refused) refused).reason())
                .isEqualTo("tollgate: agent 'a' is over max_cost_per_month_usd (spent $2.10 of $2.00); resets 2026-12-01T05:00:00Z");
    }

    @Test
    void teamAndGlobalCapsStopEveryMember() throws Exception {
        TestClock clock = new TestClock("2026-11-22T12:00:00Z");
        Budgets budgets = budgets("agents:\n  a: {team: support}\n  b: {team: support}\n  c: {}\n"
                + "teams:\n  support: {max_cost_per_day_usd: 1}\nglobal: {max_cost_per_day_usd: 3}\n", clock);

        spend(budgets, "a", 1_000_000_000L);
        Admission b = spend(budgets, "b", 0);
        assertThat(((Admission.Refused) b).scope()).isEqualTo("team 'support'");
        assertThat(spend(budgets, "c", 2_000_000_000L)).isInstanceOf(Admission.Admitted.class);
        Admission c = spend(budgets, "c", 0);
        assertThat(((Admission.Refused) c).scope()).isEqualTo("the global budget");
        assertThat(((Admission.Refused) spend(budgets, "someone-new", 0)).scope()).isEqualTo("the global budget");
        assertThat(events("blocked")).extracting(e -> e.fields().get("scope")).containsExactly("team 'support'", "the global budget");
    }

    @Test
    void reservationsHoldConcurrentCallsUnderTheCapAndLowerTheOutputCap() throws Exception {
        TestClock clock = new TestClock("2026-11-22T12:00:00Z");
        Budgets budgets = budgets("agents:\n  a: {max_cost_per_day_usd: 0.01}\n", clock);

        // gpt-4o: 1,000 prompt tokens cost $0.0025; $0.0075 left buys 750 output tokens at $10 per million.
        Admission first = budgets.admit("a", null, 1_000, 2_000, GPT_4O, true);
        assertThat(((Admission.Admitted) first).outputCap()).isEqualTo(750);
        assertThat(((Admission.Admitted) first).remainingNanos()).isEqualTo(10_000_000L);
        // Everything is reserved by the first call: the second cannot pay for its prompt.
        Admission second = budgets.admit("a", null, 1_000, 10, GPT_4O, true);
        assertThat(second).isInstanceOf(Admission.Refused.class);
        assertThat(((Admission.Refused) second).code()).isEqualTo("budget_exceeded");
        // The first settles cheaper than reserved: the difference is free again.
        budgets.settle(((Admission.Admitted) first).reservation(), 5_000_000L, 1_500);
        Admission third = budgets.admit("a", null, 1_000, 10, GPT_4O, true);
        assertThat(third).isInstanceOf(Admission.Admitted.class);
        assertThat(((Admission.Admitted) third).outputCap()).as("10 tokens fit: the cap stays the agent's").isEqualTo(-1);
    }

    @Test
    void perIntentLimitsPausesAndAlertOnlyAgents() throws Exception {
        TestClock clock = new TestClock("2026-11-22T12:00:00Z");
        Budgets budgets = budgets("agents:\n  a: {max_requests_per_intent: 2}\n  watcher: {max_requests_per_day: 1, action_on_breach: alert}\n", clock);

        assertThat(budgets.admit("a", "task-1", 0, -1, null, false)).isInstanceOf(Admission.Admitted.class);
        assertThat(budgets.admit("a", "task-1", 0, -1, null, false)).isInstanceOf(Admission.Admitted.class);
        Admission third = budgets.admit("a", "task-1", 0, -1, null, false);
        assertThat(((Admission.Refused) third).code()).isEqualTo("intent_budget_exceeded");
        assertThat(budgets.admit("a", "task-2", 0, -1, null, false)).isInstanceOf(Admission.Admitted.class);

        budgets.pause("a", "runaway loop");
        Admission paused = budgets.admit("a", "task-3", 0, -1, null, false);
        assertThat(((Admission.Refused) paused).code()).isEqualTo("agent_paused");
        assertThat(((Admission.Refused) paused).resetsAtMs()).isEqualTo(-1);
        budgets.resume("a");
        assertThat(budgets.admit("a", "task-3", 0, -1, null, false)).isInstanceOf(Admission.Admitted.class);

        for (int i = 0; i < 3; i++) {
            assertThat(budgets.admit("watcher", null, 0, -1, null, false)).isInstanceOf(Admission.Admitted.class);
        }
        assertThat(events("alert")).as("one alert per limit and window, not one per call").hasSize(1);
    }

    @Test
    void alertAtRaisesOneAlertPerLimitAndWindow() throws Exception {
        TestClock clock = new TestClock("2026-11-22T12:00:00Z");
        Budgets budgets = budgets("agents:\n  a: {max_cost_per_day_usd: 10, alert_at: 0.8}\n", clock);

        spend(budgets, "a", 7_000_000_000L);
        assertThat(alerts("threshold")).isEmpty();
        spend(budgets, "a", 1_000_000_000L);
        spend(budgets, "a", 500_000_000L);
        assertThat(alerts("threshold")).singleElement().satisfies(e -> {
            assertThat(e.message()).isEqualTo("agent 'a' has used 80% of max_cost_per_day_usd ($8.00 of $10.00); resets 2026-11-23T00:00:00Z");
            assertThat(e.fields()).containsEntry("limit", "max_cost_per_day_usd").containsEntry("spent", "8.00");
        });
        clock.now = Instant.parse("2026-11-23T00:00:00Z");
        spend(budgets, "a", 8_000_000_000L);
        assertThat(alerts("threshold")).as("a new window, a new alert").hasSize(2);
    }

    @Test
    void theRunawayNightIsProjectedWithinTwentyMinutes() throws Exception {
        // 50 loop iterations an hour, 4 calls of $0.03 each: $6 an hour against a $50 daily cap.
        TestClock clock = new TestClock("2026-11-22T01:00:00Z");
        Budgets budgets = budgets("agents:\n  looper: {max_cost_per_day_usd: 50}\n", clock);
        long iterationMs = 3_600_000L / 50;
        Instant start = clock.now;
        Instant projectedAt = null;
        for (int iteration = 0; iteration < 50 && projectedAt == null; iteration++) {
            for (int call = 0; call < 4; call++) {
                clock.now = start.plusMillis(iteration * iterationMs + call * 1_000L);
                spend(budgets, "looper", 30_000_000L);
                if (!alerts("projection").isEmpty()) {
                    projectedAt = clock.now;
                    break;
                }
            }
        }

        assertThat(projectedAt).as("a projection alert was raised").isNotNull();
        assertThat(java.time.Duration.between(start, projectedAt)).isLessThan(java.time.Duration.ofMinutes(20));
        AlertEvent alert = alerts("projection").get(0);
        assertThat(alert.message()).startsWith("agent 'looper' is projected to reach $50.00 of max_cost_per_day_usd at ")
                .contains("/h over the last 15 minutes");
        System.out.println("runaway night: " + alert.message() + ", raised after "
                + java.time.Duration.between(start, projectedAt).toMinutes() + " simulated minutes");
    }

    @Test
    void anIntentCostingTenTimesTheMedianIsAnAnomaly() throws Exception {
        TestClock clock = new TestClock("2026-11-22T12:00:00Z");
        Budgets budgets = budgets("agents:\n  a: {max_cost_per_month_usd: 1000}\n", clock);
        for (int i = 0; i < 6; i++) {
            settle(budgets, "a", "task-" + i, 10_000_000L);
        }
        settle(budgets, "a", "task-big", 50_000_000L);
        settle(budgets, "a", "task-big", 60_000_000L);

        assertThat(events("anomaly")).singleElement().satisfies(e -> {
            assertThat(e.intent()).isEqualTo("task-big");
            assertThat(e.message()).contains("more than 10 times the agent's median intent ($0.01)");
        });
    }

    private static void settle(Budgets budgets, String agent, String intent, long costNanos) {
        Admission admission = budgets.admit(agent, intent, 0, -1, null, false);
        budgets.settle(((Admission.Admitted) admission).reservation(), costNanos, 0);
    }

    @Test
    void underACostLimitTheOutputCapIsAlwaysExplicitAndCoversEveryChoice() throws Exception {
        TestClock clock = new TestClock("2026-11-22T12:00:00Z");
        Budgets budgets = budgets("limits:\n  default_output_tokens: 1000\nagents:\n  a: {max_cost_per_day_usd: 100}\n", clock);

        Admission.Admitted noCap = (Admission.Admitted) budgets.admit("a", null, 100, -1, GPT_4O, true);
        assertThat(noCap.outputCap()).as("a call without max_tokens gets the reserved cap written in").isEqualTo(1000);
        Admission.Admitted threeChoices = (Admission.Admitted) budgets.admit("a", null, 100, 500, 3, GPT_4O, true);
        assertThat(threeChoices.reservation().tokens).isEqualTo(100 + 3 * 500);
        Admission.Admitted unlimitedAgent = (Admission.Admitted) budgets.admit("b", null, 100, -1, GPT_4O, true);
        assertThat(unlimitedAgent.outputCap()).as("no limit, no rewrite").isEqualTo(-1);
    }

    @Test
    void intentsBelongToTheirAgent() throws Exception {
        TestClock clock = new TestClock("2026-11-22T12:00:00Z");
        Budgets budgets = budgets("defaults:\n  max_requests_per_intent: 1\n", clock);

        assertThat(budgets.admit("a", "task-1", 0, -1, null, false)).isInstanceOf(Admission.Admitted.class);
        assertThat(budgets.admit("b", "task-1", 0, -1, null, false)).isInstanceOf(Admission.Admitted.class);
        assertThat(budgets.admit("a", "task-1", 0, -1, null, false)).isInstanceOf(Admission.Refused.class);
    }

    @Test
    void anAlertOnlyAgentIsStillStoppedByItsTeamsCap() throws Exception {
        TestClock clock = new TestClock("2026-11-22T12:00:00Z");
        Budgets budgets = budgets("agents:\n  a: {team: t, action_on_breach: alert, max_requests_per_day: 1}\n"
                + "teams:\n  t: {max_requests_per_day: 2}\n", clock);

        spend(budgets, "a", 0);
        assertThat(spend(budgets, "a", 0)).as("its own limit only alerts").isInstanceOf(Admission.Admitted.class);
        Admission third = spend(budgets, "a", 0);
        assertThat(third).isInstanceOf(Admission.Refused.class);
        assertThat(((Admission.Refused) third).scope()).isEqualTo("team 't'");
    }

    @Test
    void aLimitAddedByAReloadCountsWhatWasAlreadyUsedInItsWindow() throws Exception {
        TestClock clock = new TestClock("2026-11-22T12:00:00Z");
        Budgets budgets = budgets("agents:\n  a: {}\n", clock);
        spend(budgets, "a", 40_000_000_000L);

        budgets.reconfigure(new ConfigLoader(name -> null).parse("agents:\n  a: {max_cost_per_day_usd: 50}\n"));

        assertThat(spend(budgets, "a", 10_000_000_000L)).isInstanceOf(Admission.Admitted.class);
        assertThat(spend(budgets, "a", 0)).isInstanceOf(Admission.Refused.class);
    }

    @Test
    void hourWindowsAlwaysEndAfterNowEvenWithHalfHourDstShifts() {
        ZoneId lordHowe = ZoneId.of("Australia/Lord_Howe");
        for (long t = Instant.parse("2026-04-04T14:00:00Z").toEpochMilli(); t < Instant.parse("2026-04-04T17:00:00Z").toEpochMilli();
                t += 60_000) {
            Instant now = Instant.ofEpochMilli(t);
            assertThat(dev.tollgate.config.Window.HOUR.end(now, lordHowe)).as(now.toString()).isAfter(now);
            assertThat(dev.tollgate.config.Window.HOUR.start(now, lordHowe)).isBeforeOrEqualTo(now);
        }
    }
}
