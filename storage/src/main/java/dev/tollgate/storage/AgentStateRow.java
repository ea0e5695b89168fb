package dev.tollgate.storage;

/** The kill-switch state of one agent ({@code agent_state}); the latest row per agent wins. */
public record AgentStateRow(String agent, boolean paused, String reason, long tsMs) {
}
