package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;

/**
 * Where extra model prices come from and what to do with a model that has none.
 *
 * @param file a price file adding to or overriding the bundled table; relative paths are resolved
 *     against the config file's folder
 * @param unknownModel {@code block} refuses a call to an unpriced model with 400 {@code unpriced_model};
 *     {@code allow} forwards it and meters its tokens at $0
 */
public record PricingConfig(@JsonProperty("file") Path file, @JsonProperty("unknown_model") UnknownModelPolicy unknownModel) {

    public static final PricingConfig DEFAULTS = new PricingConfig(null, UnknownModelPolicy.BLOCK);

    @JsonCreator
    public PricingConfig {
        if (unknownModel == null) {
            unknownModel = UnknownModelPolicy.BLOCK;
        }
    }

    /** This config with a relative {@code file} resolved against {@code folder}. */
    PricingConfig resolvedAgainst(Path folder) {
        if (file == null || file.isAbsolute() || folder == null) {
            return this;
        }
        return new PricingConfig(folder.resolve(file).normalize(), unknownModel);
    }
}
