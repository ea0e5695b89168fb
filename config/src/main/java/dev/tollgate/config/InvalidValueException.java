package dev.tollgate.config;

/**
 * Thrown by the compact constructors of the config records when a value is out of range. The key is
 * relative to the record that throws; {@link ConfigLoader} prefixes the path of that record.
 */
final class InvalidValueException extends IllegalArgumentException {

    private final String key;

    InvalidValueException(String key, String message) {
        super(key + ": " + message);
        this.key = key;
    }

    String key() {
        return key;
    }

    String problem() {
        return getMessage().substring(key.length() + 2);
    }
}
