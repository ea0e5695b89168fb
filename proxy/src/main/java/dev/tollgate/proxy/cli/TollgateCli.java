package dev.tollgate.proxy.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code tollgate} command line (SPEC §2). Bad arguments and failures print one line naming the
 * problem and exit non-zero; {@code --verbose} adds the stack trace.
 */
@Command(name = "tollgate",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = "An LLM egress proxy that meters every call and enforces budgets per agent and task.",
        subcommands = {ServeCommand.class, DemoCommand.class, ReportCommand.class, CheckConfigCommand.class, PricesCommand.class,
                PauseCommand.class, ResumeCommand.class, MockUpstreamCommand.class, CommandLine.HelpCommand.class})
public final class TollgateCli {

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "Print stack traces and debug logs.")
    boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code; the tests call this instead of {@link #main}. */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new TollgateCli());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            boolean verbose = parseResult.hasMatchedOption("--verbose")
                    || parseResult.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--verbose"));
            if (verbose) {
                e.printStackTrace(commandLine.getErr());
            }
            commandLine.getErr().println("tollgate: " + UserErrors.describe(e));
            return 1;
        });
        cli.setParameterExceptionHandler((e, args1) -> {
            CommandLine commandLine = e.getCommandLine();
            commandLine.getErr().println("tollgate: " + e.getMessage());
            commandLine.getErr().println("Try '" + commandLine.getCommandSpec().qualifiedName() + " --help'.");
            return 2;
        });
        return cli.execute(args);
    }
}
