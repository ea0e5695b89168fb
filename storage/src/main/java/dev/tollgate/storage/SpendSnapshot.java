package dev.tollgate.storage;

import java.util.Map;

/**
 * Spend since the start of a window, as the ledger has it: what the budget counters start from when the
 * proxy starts, so that budgets survive restarts.
 *
 * @param byIntent lifetime totals of every intent that had a call in the window (per-intent limits are
 *     not windowed)
 * @param intentsStartedByAgent how many distinct intents each agent started in the window (an intent
 *     starts at its first call ever)
 */
public record SpendSnapshot(long sinceMs, Map<String, Spend> byAgent, Map<String, Spend> byTeam, Spend global,
        Map<String, Spend> byIntent, Map<String, Long> intentsStartedByAgent) {
}
