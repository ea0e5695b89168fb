package dev.tollgate.proxy.cli;

import dev.tollgate.config.ConfigException;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.TollgateConfig;
import java.nio.file.Files;
import java.nio.file.Path;

/** The rule every command follows: {@code --config FILE}, else {@code ./tollgate.yaml} if present, else the defaults. */
final class ConfigFiles {

    static final Path DEFAULT_CONFIG = Path.of("tollgate.yaml");

    private ConfigFiles() {
    }

    /** The file in use, or null for the built-in defaults. */
    static Path chosen(Path explicit) {
        return explicit != null ? explicit : Files.exists(DEFAULT_CONFIG) ? DEFAULT_CONFIG : null;
    }

    static TollgateConfig load(Path explicit) throws ConfigException {
        Path file = chosen(explicit);
        return file == null ? TollgateConfig.DEFAULTS : new ConfigLoader().load(file);
    }
}
