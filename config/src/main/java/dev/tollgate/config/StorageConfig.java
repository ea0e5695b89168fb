package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;

/** Where the SQLite ledger lives. */
public record StorageConfig(@JsonProperty("path") Path path) {

    public static final Path DEFAULT_PATH = Path.of("tollgate.db");
    public static final StorageConfig DEFAULTS = new StorageConfig(DEFAULT_PATH);

    @JsonCreator
    public StorageConfig {
        if (path == null) {
            path = DEFAULT_PATH;
        }
        if (path.toString().isBlank()) {
            throw new InvalidValueException("path", "must not be empty");
        }
    }
}
