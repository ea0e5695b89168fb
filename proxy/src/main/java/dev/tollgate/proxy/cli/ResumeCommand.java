package dev.tollgate.proxy.cli;

import picocli.CommandLine.Command;

/** {@code tollgate resume AGENT}. */
@Command(name = "resume", mixinStandardHelpOptions = true, description = "Resume a paused agent in a running proxy.")
final class ResumeCommand extends AgentSwitchCommand {

    @Override
    String action() {
        return "resume";
    }
}
