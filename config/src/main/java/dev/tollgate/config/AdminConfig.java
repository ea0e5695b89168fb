package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The admin API's credentials. With a {@code token}, any client presenting it as a bearer token may use
 * the admin API; without one, only loopback clients may.
 */
public record AdminConfig(@JsonProperty("token") String token) {

    public static final AdminConfig NONE = new AdminConfig(null);

    @JsonCreator
    public AdminConfig {
        if (token != null && token.isBlank()) {
            token = null;
        }
        if (token != null && token.length() < 16) {
            throw new InvalidValueException("token", "must be at least 16 characters; generate one with openssl rand -hex 24");
        }
    }
}
