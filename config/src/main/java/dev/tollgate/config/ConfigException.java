package dev.tollgate.config;

import java.util.List;

/**
 * A config that cannot be used. Carries every problem found, each one line that starts with the key
 * path it concerns ({@code upstream.base_url: must start with http:// or https://}), so that the CLI
 * can print them as they are and a reload can log them without a stack trace.
 */
public final class ConfigException extends Exception {

    private final List<String> problems;

    public ConfigException(List<String> problems) {
        super(String.join("; ", problems));
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("a ConfigException needs at least one problem");
        }
        this.problems = List.copyOf(problems);
    }

    public ConfigException(String problem) {
        this(List.of(problem));
    }

    /** Every problem found, one line each, in file order where the file gives one. */
    public List<String> problems() {
        return problems;
    }
}
