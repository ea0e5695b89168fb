package dev.tollgate.storage;

import java.util.Map;

/**
 * Spend since the start of a window, as the ledger has it: what the budget counters start from when the
 * proxy starts, so that budgets survive restarts.
 *
 * @param byIntent lifetime totals of every intent that had a call in the window (per-intent limits are
 *     not windowed), keyed by {@link #intentKey}: intents belong to their agent
 * @param intentsStartedByAgent how many distinct intents each agent started in the window (an intent
 *     starts at its first call ever)
 */
public record SpendSnapshot(long sinceMs, Map<String, Spend> byAgent, Map<String, Spend> byTeam, Spend global,
        Map<String, Spend> byIntent, Map<String, Long> intentsStartedByAgent) {

    /** The key of an agent's intent: intents of different agents never share a budget. */
    public static String intentKey(String agent, String intent) {
        return agent + "\u0000" + intent;
    }
}
