package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

/** The loop detector: the same agent sending the same request more than N times within a window. */
public record LoopDetectionConfig(
        @JsonProperty("max_identical_requests") int maxIdenticalRequests,
        @JsonProperty("window_seconds") int windowSeconds,
        @JsonProperty("action") BreachAction action) {

    public static final LoopDetectionConfig NONE = new LoopDetectionConfig(0, 0, null);

    public LoopDetectionConfig {
        if (maxIdenticalRequests < 0) {
            throw new InvalidValueException("max_identical_requests", "must be > 0");
        }
        if (windowSeconds < 0) {
            throw new InvalidValueException("window_seconds", "must be > 0");
        }
    }

    @JsonCreator
    static LoopDetectionConfig fromYaml(@JsonProperty("max_identical_requests") Integer max,
            @JsonProperty("window_seconds") Integer window, @JsonProperty("action") BreachAction action) {
        if (max != null && max <= 0) {
            throw new InvalidValueException("max_identical_requests", "must be > 0");
        }
        if (window != null && window <= 0) {
            throw new InvalidValueException("window_seconds", "must be > 0");
        }
        return new LoopDetectionConfig(max == null ? 5 : max, window == null ? 600 : window,
                action == null ? BreachAction.BLOCK : action);
    }

    /** Whether the section is in the file at all. */
    public boolean configured() {
        return maxIdenticalRequests > 0;
    }
}
