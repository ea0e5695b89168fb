package dev.tollgate.proxy.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tollgate pause AGENT [--reason TEXT]}. */
@Command(name = "pause", mixinStandardHelpOptions = true,
        description = "Pause an agent in a running proxy: its next calls get 429 agent_paused, its streams in flight are cut."
                + " Persists across restarts.")
final class PauseCommand extends AgentSwitchCommand {

    @Option(names = "--reason", paramLabel = "TEXT", description = "Why, shown to the agent and recorded.")
    String reason;

    @Override
    String action() {
        return "pause";
    }

    @Override
    String body() {
        return reason == null ? "{}" : "{\"reason\":" + dev.tollgate.proxy.http.JsonStrings.quote(reason) + "}";
    }
}
